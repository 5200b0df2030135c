//! Statement results in the shapes the D1 API answers (`/query` objects, `/raw` columns and
//! rows), and values converted between JSON and SQLite.

use rusqlite::types::ValueRef;
use serde::Serialize;
use serde_json::Value;

use super::ApiError;

/// One row of a result, keeping SQLite's column order (JavaScript object semantics: a repeated
/// column name keeps its first position and takes the last value).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Row(pub Vec<(String, Value)>);

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The `meta` of one statement's result, as the D1 API returns it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Meta {
    pub served_by: &'static str,
    pub served_by_region: &'static str,
    pub served_by_primary: bool,
    pub timings: Timings,
    pub duration: f64,
    pub changes: u64,
    pub last_row_id: i64,
    pub changed_db: bool,
    pub size_after: u64,
    pub rows_read: u64,
    pub rows_written: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Timings {
    pub sql_duration_ms: f64,
}

/// One statement's result.
#[derive(Debug, Clone, PartialEq)]
pub struct StatementResult {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    pub meta: Meta,
}

/// The `/query` shape: rows as objects.
#[derive(Debug, Serialize)]
pub struct ObjectResult {
    pub results: Vec<Row>,
    pub success: bool,
    pub meta: Meta,
}

impl StatementResult {
    pub fn as_objects(&self) -> ObjectResult {
        let results = self
            .rows
            .iter()
            .map(|values| {
                let mut row = Row::default();
                for (name, value) in self.columns.iter().zip(values) {
                    match row.0.iter_mut().find(|(k, _)| k == name) {
                        Some(slot) => slot.1 = value.clone(),
                        None => row.0.push((name.clone(), value.clone())),
                    }
                }
                row
            })
            .collect();
        ObjectResult {
            results,
            success: true,
            meta: self.meta.clone(),
        }
    }

    /// The `/raw` shape: columns and rows of values.
    pub fn as_raw(&self) -> Value {
        serde_json::json!({
            "results": { "columns": self.columns, "rows": self.rows },
            "success": true,
            "meta": self.meta,
        })
    }
}

pub(super) fn json_value(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::from(i),
        ValueRef::Real(f) => serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Array(b.iter().map(|x| Value::from(*x)).collect()),
    }
}

pub(super) fn bind_value(v: &Value) -> Result<rusqlite::types::Value, ApiError> {
    use rusqlite::types::Value as V;
    Ok(match v {
        Value::Null => V::Null,
        Value::Bool(b) => V::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Integer(i),
            None => V::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => V::Text(s.clone()),
        Value::Array(items) => V::Blob(
            items
                .iter()
                .map(|i| i.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<Vec<u8>>>()
                .ok_or_else(|| {
                    ApiError::new(400, 7400, "A blob parameter must be an array of bytes")
                })?,
        ),
        Value::Object(_) => {
            return Err(ApiError::new(
                400,
                7400,
                "Unsupported parameter type: object",
            ))
        }
    })
}
