//! SQL dumps in exactly the format of wrangler's local export (miniflare's `dumpSql`).
//!
//! miniflare reads every value through JavaScript, so numbers (integers too) are printed
//! the way JavaScript's `Number.prototype.toString` prints a double; this module does the same.

use rusqlite::types::ValueRef;
use rusqlite::Connection;

/// What to put in a dump (the `dump_options` of the export API).
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    pub no_schema: bool,
    pub no_data: bool,
    pub tables: Vec<String>,
}

/// Formats a double like JavaScript's `String(number)`.
pub fn js_number(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let sign = if v < 0.0 { "-" } else { "" };
    // Rust's `{:e}` gives the shortest round-tripping digits, like ECMAScript requires.
    let sci = format!("{:e}", v.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let k = digits.len() as i64;
    let n = exp + 1;
    let body = if k <= n && n <= 21 {
        format!("{digits}{}", "0".repeat((n - k) as usize))
    } else if 0 < n && n <= 21 {
        format!("{}.{}", &digits[..n as usize], &digits[n as usize..])
    } else if -6 < n && n <= 0 {
        format!("0.{}{digits}", "0".repeat((-n) as usize))
    } else {
        let e = n - 1;
        let e_sign = if e >= 0 { "+" } else { "-" };
        if k == 1 {
            format!("{digits}e{e_sign}{}", e.abs())
        } else {
            format!("{}.{}e{e_sign}{}", &digits[..1], &digits[1..], e.abs())
        }
    };
    format!("{sign}{body}")
}

/// miniflare's `outputQuotedEscapedString`.
fn quoted_string(cell: &str) -> String {
    let mut lfs = false;
    let mut crs = false;
    let mut out = String::with_capacity(cell.len() + 2);
    out.push('\'');
    for c in cell.chars() {
        match c {
            '\'' => out.push_str("''"),
            '\n' => {
                lfs = true;
                out.push_str("\\n");
            }
            '\r' => {
                crs = true;
                out.push_str("\\r");
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    if crs {
        out = format!("replace({out},'\\r',char(13))");
    }
    if lfs {
        out = format!("replace({out},'\\n',char(10))");
    }
    out
}

/// miniflare's `escapeId`.
fn escape_id(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

fn cell(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => js_number(i as f64),
        ValueRef::Real(f) => js_number(f),
        ValueRef::Text(t) => quoted_string(&String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
            format!("X'{hex}'")
        }
    }
}

/// JavaScript's `sql.substring(13)` (13 UTF-16 code units).
fn skip_utf16_units(s: &str, mut units: usize) -> &str {
    for (i, c) in s.char_indices() {
        if units == 0 {
            return &s[i..];
        }
        units = units.saturating_sub(c.len_utf16());
    }
    ""
}

/// The dump, one statement per element; wrangler joins them with `\n` (no trailing newline).
pub fn dump_lines(conn: &Connection, options: &DumpOptions) -> Result<Vec<String>, String> {
    let err = |e: rusqlite::Error| e.to_string();
    let mut out = vec!["PRAGMA defer_foreign_keys=TRUE;".to_string()];
    let filter: std::collections::HashSet<&str> =
        options.tables.iter().map(String::as_str).collect();
    let tables: Vec<(String, String)> = {
        let mut stmt = conn
            .prepare(
                "\n    SELECT name, type, sql\n      FROM sqlite_schema AS o\n    WHERE (true) AND type=='table'\n      AND sql NOT NULL\n    ORDER BY tbl_name='sqlite_sequence', rowid;\n  ",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(2)?)))
            .map_err(err)?;
        rows.collect::<Result<_, _>>().map_err(err)?
    };
    for (table, sql) in &tables {
        if !filter.is_empty() && !filter.contains(table.as_str()) {
            continue;
        }
        if table == "sqlite_sequence" {
            if !options.no_schema {
                out.push("DELETE FROM sqlite_sequence;".into());
            }
        } else if table.starts_with("sqlite_stat") && table.chars().count() > "sqlite_stat".len() {
            if !options.no_schema {
                out.push("ANALYZE sqlite_schema;".into());
            }
        } else {
            if sql.starts_with("CREATE VIRTUAL TABLE") {
                return Err(
                    "D1 Export error: cannot export databases with Virtual Tables (fts5)".into(),
                );
            }
            if table.starts_with("_cf_") || table.starts_with("sqlite_") {
                continue;
            }
            if !options.no_schema {
                // miniflare tests `/CREATE TABLE ['"].*/` (unanchored) and then drops 13 characters.
                if sql.contains("CREATE TABLE '") || sql.contains("CREATE TABLE \"") {
                    out.push(format!(
                        "CREATE TABLE IF NOT EXISTS {};",
                        skip_utf16_units(sql, 13)
                    ));
                } else {
                    out.push(format!("{sql};"));
                }
            }
        }
        if options.no_data {
            continue;
        }
        let columns: Vec<String> = {
            let mut stmt = conn
                .prepare(&format!("PRAGMA table_info={}", escape_id(table)))
                .map_err(err)?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(1)).map_err(err)?;
            rows.collect::<Result<_, _>>().map_err(err)?
        };
        let select = format!(
            "SELECT {} FROM {};",
            columns
                .iter()
                .map(|c| escape_id(c))
                .collect::<Vec<_>>()
                .join(", "),
            escape_id(table)
        );
        let mut stmt = conn.prepare(&select).map_err(err)?;
        let mut rows = stmt.query([]).map_err(err)?;
        while let Some(row) = rows.next().map_err(err)? {
            let cells: Vec<String> = (0..columns.len())
                .map(|i| row.get_ref(i).map(cell))
                .collect::<Result<_, _>>()
                .map_err(err)?;
            out.push(format!(
                "INSERT INTO {} VALUES({});",
                escape_id(table),
                cells.join(",")
            ));
        }
    }
    if !options.no_schema {
        let mut stmt = conn
            .prepare(
                "SELECT name, sql FROM sqlite_schema AS o WHERE (true) AND sql NOT NULL   AND type IN ('index', 'trigger', 'view') ORDER BY type COLLATE NOCASE",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(err)?;
        for row in rows {
            let (name, sql) = row.map_err(err)?;
            if filter.is_empty() || filter.contains(name.as_str()) {
                out.push(format!("{sql};"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_javascript() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (3.0, "3"),
            (0.1, "0.1"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (123456789012.0, "123456789012"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.000001, "0.000001"),
            (-2.5e-300, "-2.5e-300"),
            (9223372036854775807i64 as f64, "9223372036854776000"),
            (-9007199254740993i64 as f64, "-9007199254740992"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (f64::INFINITY, "Infinity"),
            (123.456, "123.456"),
        ];
        for (v, want) in cases {
            assert_eq!(js_number(*v), *want, "{v}");
        }
    }

    #[test]
    fn strings_like_miniflare() {
        assert_eq!(quoted_string("O'Brien"), "'O''Brien'");
        assert_eq!(quoted_string("a\nb"), "replace('a\\nb','\\n',char(10))");
        assert_eq!(
            quoted_string("cr\rlf\nend"),
            "replace(replace('cr\\rlf\\nend','\\r',char(13)),'\\n',char(10))"
        );
    }
}
