//! The statements that let a batch check it lost no rows: counts taken
//! before it runs, a check that refuses it when one fell, and which risk
//! D1's error names.

use super::Risk;
use crate::migrate::schema::quote_name;
use crate::migrate::sql::quote_literal;

/// The scratch table the batch counts into before it runs.
pub const COUNTS: &str = "_migrations_rows";
/// The table whose NOT NULL columns, one per [`Risk::key`], refuse a batch
/// that lost rows: D1's error names the column.
pub const CHECK: &str = "_migrations_row_loss";

/// Statements that open a batch (count what is at risk) and close it (fail
/// the whole batch when any count fell; then drop the scratch tables).
pub fn guard(risks: &[Risk]) -> Option<(Vec<String>, Vec<String>)> {
    if risks.is_empty() {
        return None;
    }
    let count = |table: &str, column: Option<&String>| match column {
        Some(column) => format!(
            "(SELECT count({}) FROM {})",
            quote_name(column),
            quote_name(table)
        ),
        None => format!("(SELECT count(*) FROM {})", quote_name(table)),
    };
    let values: Vec<String> = risks
        .iter()
        .map(|r| {
            format!(
                "({}, {})",
                quote_literal(&r.key()),
                count(&r.table, r.column.as_ref())
            )
        })
        .collect();
    let start = vec![
        format!("CREATE TABLE {COUNTS} (name TEXT PRIMARY KEY, n INTEGER NOT NULL)"),
        format!("INSERT INTO {COUNTS} VALUES {}", values.join(", ")),
    ];
    let columns: Vec<String> = risks
        .iter()
        .map(|r| format!("{} INTEGER NOT NULL", quote_name(&r.key())))
        .collect();
    let checks: Vec<String> = risks
        .iter()
        .map(|r| {
            let before = format!(
                "(SELECT n FROM {COUNTS} WHERE name = {})",
                quote_literal(&r.key())
            );
            match &r.at_end {
                Some(table) => format!(
                    "CASE WHEN {} >= {before} THEN 1 END",
                    count(table, r.column.as_ref())
                ),
                None => format!("CASE WHEN {before} = 0 THEN 1 END"),
            }
        })
        .collect();
    let end = vec![
        format!("CREATE TABLE {CHECK} ({})", columns.join(", ")),
        format!("INSERT INTO {CHECK} SELECT {}", checks.join(", ")),
        format!("DROP TABLE {CHECK}"),
        format!("DROP TABLE {COUNTS}"),
    ];
    Some((start, end))
}

/// The risk that refused a batch, from D1's error.
pub fn refused<'a>(error: &str, risks: &'a [Risk]) -> Option<&'a Risk> {
    let needle = format!("NOT NULL constraint failed: {CHECK}.");
    let at = error.find(&needle)? + needle.len();
    let rest = &error[at..];
    risks
        .iter()
        .filter(|r| rest.starts_with(&r.key()))
        .max_by_key(|r| r.key().len())
}
