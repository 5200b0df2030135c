//! Unit tests for row-loss detection: what statements do to tables and which rows a batch can lose.

use super::*;
use crate::migrate::schema::Object;

fn schema(tables: &[(&str, &str)]) -> Schema {
    Schema {
        objects: tables
            .iter()
            .map(|(name, sql)| Object {
                kind: "table".into(),
                name: (*name).into(),
                table: (*name).into(),
                sql: (*sql).into(),
            })
            .collect(),
    }
}

#[test]
fn reads_foreign_keys_in_every_shape() {
    let Some(Change::Create { foreign_keys, .. }) = change(
        "CREATE TABLE IF NOT EXISTS \"Post\" (\"id\" INTEGER PRIMARY KEY, \"authorId\" INTEGER NOT NULL, \
         body TEXT DEFAULT (lower('a,b')), tag_id INTEGER REFERENCES tags(id) ON DELETE SET NULL, \
         CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\" (\"id\") ON DELETE CASCADE ON UPDATE CASCADE)",
    ) else {
        panic!("a create");
    };
    assert_eq!(
        foreign_keys,
        [
            ForeignKey {
                columns: vec!["tag_id".into()],
                parent: "tags".into(),
                on_delete: OnDelete::SetNull
            },
            ForeignKey {
                columns: vec!["authorId".into()],
                parent: "User".into(),
                on_delete: OnDelete::Cascade
            },
        ]
    );
    let Some(Change::Create { foreign_keys, .. }) =
        change("create table `posts` (`author_id` integer references `users`(`id`) on update no action on delete cascade)")
    else {
        panic!("a create");
    };
    assert_eq!(foreign_keys[0].on_delete, OnDelete::Cascade);
    assert_eq!(
        change("DROP TABLE IF EXISTS main.\"Post\""),
        Some(Change::Drop {
            table: "Post".into()
        })
    );
    assert_eq!(
        change("ALTER TABLE \"new_Post\" RENAME TO \"Post\""),
        Some(Change::Rename {
            from: "new_Post".into(),
            to: "Post".into()
        })
    );
    assert_eq!(change("ALTER TABLE t RENAME COLUMN a TO b"), None);
    assert_eq!(
        change("INSERT OR REPLACE INTO t VALUES (1)"),
        Some(Change::Replace { table: "t".into() })
    );
    assert_eq!(
        change("replace into t values (1)"),
        Some(Change::Replace { table: "t".into() })
    );
    assert_eq!(
        change("DELETE FROM t WHERE x"),
        Some(Change::Delete { table: "t".into() })
    );
}

const USERS: (&str, &str) = (
    "User",
    "CREATE TABLE \"User\" (\"id\" INTEGER PRIMARY KEY, \"email\" TEXT)",
);
const POSTS: (&str, &str) = (
    "Post",
    "CREATE TABLE \"Post\" (\"id\" INTEGER PRIMARY KEY, \"authorId\" INTEGER NOT NULL, \
     CONSTRAINT \"Post_authorId_fkey\" FOREIGN KEY (\"authorId\") REFERENCES \"User\" (\"id\") ON DELETE CASCADE)",
);

/// Prisma's RedefineTables for "User", the parent of "Post".
const REBUILD_USER: [&str; 6] = [
    "PRAGMA foreign_keys=OFF",
    "CREATE TABLE \"new_User\" (\"id\" INTEGER PRIMARY KEY, \"email\" TEXT NOT NULL)",
    "INSERT INTO \"new_User\" (\"id\", \"email\") SELECT \"id\", \"email\" FROM \"User\"",
    "DROP TABLE \"User\"",
    "ALTER TABLE \"new_User\" RENAME TO \"User\"",
    "PRAGMA foreign_keys=ON",
];

#[test]
fn a_rebuilt_parent_puts_its_cascading_children_at_risk() {
    let found = risks(&schema(&[USERS, POSTS]), &REBUILD_USER, |_| false);
    let tables: Vec<(&str, Option<&str>)> = found
        .iter()
        .map(|r| (r.table.as_str(), r.at_end.as_deref()))
        .collect();
    // The parent's rows are copied across (checked at the end under its
    // name); the child's are deleted by the cascade.
    assert_eq!(tables, [("User", Some("User")), ("Post", Some("Post"))]);
    assert!(
        found[1]
            .why
            .contains("ON DELETE CASCADE from dropping \"User\""),
        "{found:?}"
    );
    assert_eq!(found[1].statement, 3);
    assert!(risks(&schema(&[USERS, POSTS]), &REBUILD_USER, |_| true).is_empty());
}

#[test]
fn a_leaf_rebuild_is_checked_and_a_plain_drop_is_a_loss() {
    let rebuild = [
        "CREATE TABLE `__new_posts` (`id` integer PRIMARY KEY)",
        "INSERT INTO `__new_posts`(\"id\") SELECT \"id\" FROM `posts`",
        "DROP TABLE `posts`",
        "ALTER TABLE `__new_posts` RENAME TO `posts`",
    ];
    let found = risks(
        &schema(&[("posts", "CREATE TABLE `posts` (`id` integer)")]),
        &rebuild,
        |_| false,
    );
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].at_end.as_deref(), Some("posts"));
    let found = risks(&schema(&[USERS, POSTS]), &["DROP TABLE \"Post\""], |_| {
        false
    });
    assert_eq!(found.len(), 1);
    assert_eq!(
        (found[0].table.as_str(), found[0].at_end.as_deref()),
        ("Post", None)
    );
    // Deleted by name first: the drop loses nothing that was not meant.
    assert!(risks(
        &schema(&[USERS, POSTS]),
        &["DELETE FROM \"Post\"", "DROP TABLE \"Post\""],
        |_| false
    )
    .is_empty());
    // A table made by the batch has no rows to lose.
    assert!(risks(
        &schema(&[]),
        &["CREATE TABLE t (x)", "DROP TABLE t"],
        |_| false
    )
    .is_empty());
    // A rollback drops what its migration made; its cascades still count.
    let undone = ["user".to_owned()];
    let statements = ["DROP TABLE \"User\""];
    let found = analyse(&schema(&[USERS, POSTS]), &statements, |_| false, &undone).risks;
    let keys: Vec<String> = found.iter().map(Risk::key).collect();
    assert_eq!(keys, ["Post"]);
}

#[test]
fn set_null_children_and_replace_conflicts_are_at_risk() {
    let tags = ("tags", "CREATE TABLE tags (id INTEGER PRIMARY KEY)");
    let notes = (
        "notes",
        "CREATE TABLE notes (id INTEGER, tag_id INTEGER REFERENCES tags(id) ON DELETE SET NULL)",
    );
    let found = risks(
        &schema(&[tags, notes]),
        &["INSERT OR REPLACE INTO tags VALUES (1)"],
        |_| false,
    );
    let keys: Vec<String> = found.iter().map(Risk::key).collect();
    assert_eq!(keys, ["tags", "notes.tag_id"]);
    let (start, end) = guard(&found).unwrap();
    assert!(
        start[1].contains("('notes.tag_id', (SELECT count(\"tag_id\") FROM \"notes\"))"),
        "{start:?}"
    );
    assert!(end[1].contains("CASE WHEN (SELECT count(*) FROM \"tags\") >= (SELECT n FROM _migrations_rows WHERE name = 'tags') THEN 1 END"), "{end:?}");
    let error = "NOT NULL constraint failed: _migrations_row_loss.notes.tag_id: SQLITE_CONSTRAINT";
    assert_eq!(
        refused(error, &found).map(Risk::key).as_deref(),
        Some("notes.tag_id")
    );
    for statement in start.iter().chain(&end) {
        assert_eq!(
            crate::migrate::sql::split(statement).unwrap().len(),
            1,
            "{statement}"
        );
    }
}
