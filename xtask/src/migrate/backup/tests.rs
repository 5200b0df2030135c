//! Backups: the folder, its names and permissions, and the versions a backup records.

use super::*;

#[test]
fn the_newest_recorded_version_names_a_backup() {
    let export = "PRAGMA defer_foreign_keys=TRUE;\nINSERT INTO \"_migrations\" VALUES(2,'0002_b',1,'x',NULL);\n\
                  INSERT INTO \"_migrations\" VALUES(10,'0010_c',2,'y',3);\nINSERT INTO \"t\" VALUES(99);\n";
    assert_eq!(newest_version_in(export), 10);
    assert_eq!(newest_version_in("CREATE TABLE t(a);"), 0);
}
use std::time::Duration;

#[test]
fn timestamps_sort_and_fit_in_file_names() {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_495_031);
    assert_eq!(timestamp(t), "20261124T043711Z");
}

#[test]
fn prune_keeps_the_newest_per_database_and_no_side_files_of_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let names = [
        "AUTH-20260101T000000Z-v1.sqlite",
        "AUTH-20260101T000000Z-v1.sqlite-wal",
        "AUTH-20260101T000000Z-v-.sqlite-shm",
        "AUTH-20260102T000000Z-v2.sql",
        "AUTH-20260102T000000Z-v2.bookmark",
        "AUTH-20260102T010000Z-v2.bookmark",
        "AUTH-20260103T000000Z-v3.sql",
        "AUTH_X-20260101T000000Z-v1.sql",
        "READ_REPLICA-20260101T000000Z-v1.sql",
        "READ_REPLICA-20260101T000000Z-v-.sqlite-wal",
    ];
    for (n, name) in names.iter().enumerate() {
        let path = dir.path().join(name);
        std::fs::write(&path, "").unwrap();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + n as u64);
        File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(when)
            .unwrap();
    }
    let backups = Backups {
        dir: dir.path().to_path_buf(),
        keep: 1,
    };
    backups.prune("AUTH");
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "AUTH-20260103T000000Z-v3.sql",
            "AUTH_X-20260101T000000Z-v1.sql",
            "READ_REPLICA-20260101T000000Z-v-.sqlite-wal",
            "READ_REPLICA-20260101T000000Z-v1.sql"
        ]
    );
}
