//! `GET /tasks`: the caller's tasks from READ_REPLICA.

use serde::{Deserialize, Serialize};

/// A row of `tasks` (migrations 0001 and 0006), as the API returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub description: String,
    pub status: String,
    pub priority: i64,
    /// Unix time in milliseconds.
    pub created_at: i64,
    /// Unix time in milliseconds.
    pub updated_at: i64,
}

const COLUMNS: &str = "id, title, description, status, priority, created_at, updated_at";

/// The query for a user's tasks (`?1` the user id), optionally only those with
/// one status (`?2`), oldest first.
pub fn tasks_sql(with_status: bool) -> String {
    let filter = if with_status { " AND status = ?2" } else { "" };
    format!("SELECT {COLUMNS} FROM tasks WHERE user_id = ?1{filter} ORDER BY created_at, id")
}

/// The body of `GET /tasks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskList {
    pub user_id: String,
    pub tasks: Vec<Task>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_by_owner_and_optionally_status() {
        let all = tasks_sql(false);
        assert!(all.contains("WHERE user_id = ?1 ORDER BY"), "{all}");
        assert!(!all.contains("?2"), "{all}");
        let open = tasks_sql(true);
        assert!(
            open.contains("WHERE user_id = ?1 AND status = ?2 ORDER BY"),
            "{open}"
        );
    }

    #[test]
    fn tasks_serialise_with_their_column_names() {
        let task = Task {
            id: "t1".into(),
            title: "Write docs".into(),
            description: String::new(),
            status: "open".into(),
            priority: 2,
            created_at: 1,
            updated_at: 2,
        };
        let value = serde_json::to_value(&task).unwrap();
        for column in COLUMNS.split(", ") {
            assert!(value.get(column).is_some(), "{column} missing from {value}");
        }
        let back: Task = serde_json::from_value(value).unwrap();
        assert_eq!(back, task);
    }
}
