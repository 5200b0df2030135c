//! The splitter, the lint and the wrangler port, on the texts that broke
//! them or could.

use super::lint::*;
use super::wrangler::*;
use super::*;

fn sqls(text: &str) -> Vec<String> {
    split(text)
        .expect("splits")
        .into_iter()
        .map(|s| s.sql)
        .collect()
}

fn errors(text: &str) -> Vec<Finding> {
    lint(text)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .collect()
}

fn warnings(text: &str) -> Vec<Finding> {
    lint(text)
        .into_iter()
        .filter(|f| f.severity == Severity::Warning)
        .collect()
}

/// The lint as `up` runs it, for the older (stricter) splitter.
fn lint(text: &str) -> Vec<Finding> {
    super::lint(text, LintOptions::default())
}

fn has(findings: &[Finding], line: usize, needle: &str) -> bool {
    findings
        .iter()
        .any(|f| f.line == line && f.message.contains(needle))
}

const TRIGGER: &str =
    "CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON a BEGIN UPDATE b SET n = n + 1; \
                       INSERT INTO c VALUES (CASE WHEN 1 THEN 'x' END); END;";

// ---- split

#[test]
fn semicolons_inside_quotes_and_comments_do_not_split() {
    let text = "SELECT 'a;b', \"c;d\", `e;f`, [g;h] FROM t; -- x; y\nSELECT /* p; q */ 2;";
    assert_eq!(
        sqls(text),
        ["SELECT 'a;b', \"c;d\", `e;f`, [g;h] FROM t", "SELECT 2"]
    );
}

#[test]
fn doubled_quotes_are_escapes() {
    assert_eq!(
        sqls("SELECT 'it''s; fine'; SELECT \"a\"\"b;\";"),
        ["SELECT 'it''s; fine'", "SELECT \"a\"\"b;\""]
    );
}

#[test]
fn commit_inside_a_string_is_text() {
    assert_eq!(
        sqls("INSERT INTO t VALUES ('COMMIT;');\nSELECT 1;"),
        ["INSERT INTO t VALUES ('COMMIT;')", "SELECT 1"]
    );
}

#[test]
fn trigger_body_is_one_statement() {
    let statements = split(&format!("{TRIGGER}\nINSERT INTO a VALUES (1);")).expect("splits");
    assert_eq!(statements.len(), 2);
    assert_eq!(
        statements[0].sql,
        TRIGGER.strip_suffix(';').expect("ends with ;")
    );
    assert_eq!(statements[0].len, TRIGGER.len());
    assert_eq!(statements[1].sql, "INSERT INTO a VALUES (1)");
    assert_eq!(statements[1].line, 2);
}

#[test]
fn trigger_keywords_are_case_insensitive() {
    let text = "create temp trigger t after insert on a begin\n  update b set n = case when 1 then 2 end;\nend;\nselect 1;";
    let sql = sqls(text);
    assert_eq!(sql.len(), 2);
    assert!(sql[0].ends_with("end;\nend"), "{sql:?}");
    assert_eq!(sql[1], "select 1");
}

#[test]
fn trigger_without_end_is_an_error() {
    let err = split("SELECT 1;\nCREATE TRIGGER t AFTER INSERT ON a BEGIN\nSELECT 2;\n")
        .expect_err("no END");
    assert_eq!(err.line, 2);
    assert!(err.to_string().starts_with("line 2: "), "{err}");
}

#[test]
fn lines_count_from_the_first_token() {
    let statements = split("-- header\n/* block\ncomment */\n\n  CREATE TABLE t (a);\nSELECT\n1;")
        .expect("splits");
    assert_eq!((statements[0].line, statements[1].line), (5, 6));
    assert_eq!(statements[0].len, "CREATE TABLE t (a);".len());
    assert_eq!(statements[1].sql, "SELECT\n1");
}

#[test]
fn comments_are_removed_but_keep_tokens_apart() {
    let statements = split("SELECT 1 -- one\n  + 2 /* two */ ;SELECT a/**/b;").expect("splits");
    assert_eq!(statements[0].sql, "SELECT 1\n  + 2");
    assert_eq!(
        statements[0].len,
        "SELECT 1 -- one\n  + 2 /* two */ ;".len()
    );
    assert_eq!(statements[1].sql, "SELECT a b");
}

#[test]
fn crlf_text() {
    let statements =
        split("SELECT 1;\r\nSELECT 'a\r\nb';\r\n-- c\r\nSELECT 3\r\n").expect("splits");
    let sql: Vec<_> = statements
        .iter()
        .map(|s| (s.sql.as_str(), s.line))
        .collect();
    assert_eq!(
        sql,
        [("SELECT 1", 1), ("SELECT 'a\r\nb'", 2), ("SELECT 3", 5)]
    );
}

#[test]
fn unterminated_things_are_errors_at_their_start() {
    let cases = [
        ("SELECT 1;\nSELECT 'abc;\n\n", 2, "string"),
        ("SELECT 1;\n\nSELECT \"abc;", 3, "quoted name"),
        ("SELECT `abc;", 1, "quoted name"),
        ("SELECT 1;\nSELECT [abc;", 2, "`]`"),
        ("SELECT 1; /* abc;\n", 1, "block comment"),
    ];
    for (text, line, what) in cases {
        let err = split(text).expect_err(text);
        assert_eq!(err.line, line, "{text}");
        assert!(err.message.contains(what), "{err}");
    }
}

#[test]
fn multibyte_text_in_strings_names_and_comments() {
    let text =
        "-- café ☕\nINSERT INTO t VALUES ('é;🎉', [nàme;]); /* 🎉; é */ SELECT \"ü\";SELECT é";
    assert_eq!(
        sqls(text),
        [
            "INSERT INTO t VALUES ('é;🎉', [nàme;])",
            "SELECT \"ü\"",
            "SELECT é"
        ]
    );
}

#[test]
fn trailing_statement_without_semicolon() {
    let statements = split("SELECT 1;\nSELECT 2 -- done\n").expect("splits");
    assert_eq!(statements[1].sql, "SELECT 2");
    assert_eq!(statements[1].len, "SELECT 2".len());
}

#[test]
fn empty_statements_are_dropped() {
    assert_eq!(sqls(";;SELECT 1;; ;\n-- c\n;"), ["SELECT 1"]);
    assert!(sqls("").is_empty());
}

#[test]
fn never_panics_on_any_prefix() {
    let text = "CREATE TRIGGER t BEGIN SELECT 'é''🎉'; end;\r\n[ü;] \"x\"\"\" `y` /* 😀 */ -- ☕\n$a$ 😀; PRAGMA foreign_keys";
    for (at, _) in text.char_indices() {
        let _ = split(&text[..at]);
        let _ = lint(&text[..at]);
    }
}

// ---- lint

#[test]
fn transaction_statements_are_errors() {
    let text = "BEGIN;\nCREATE TABLE IF NOT EXISTS t (a);\nsavepoint s;\nRELEASE s;\nRollback;\nCOMMIT;\nEND TRANSACTION;";
    let found = errors(text);
    for (line, keyword) in [
        (1, "BEGIN"),
        (3, "SAVEPOINT"),
        (4, "RELEASE"),
        (5, "ROLLBACK"),
        (6, "COMMIT"),
        (7, "END"),
    ] {
        assert!(
            has(
                &found,
                line,
                &format!("`{keyword}` statements are rejected by D1")
            ),
            "{found:?}"
        );
    }
    assert_eq!(found.len(), 6, "{found:?}");
}

#[test]
fn transaction_words_inside_other_statements_are_fine() {
    let text = "INSERT INTO t VALUES ('COMMIT;');\n\
                CREATE TABLE IF NOT EXISTS u (a UNIQUE ON CONFLICT ROLLBACK);\n\
                CREATE TRIGGER IF NOT EXISTS g BEFORE DELETE ON u BEGIN SELECT RAISE(ROLLBACK, 'x'); END;";
    assert_eq!(lint(text), []);
}

#[test]
fn add_column_if_not_exists_is_an_error() {
    let found = errors("SELECT 1;\nalter table t add\n  -- c\n  column if\n not EXISTS c TEXT;\nALTER TABLE t ADD IF NOT EXISTS d;");
    assert!(has(&found, 2, "no `ADD COLUMN IF NOT EXISTS`"), "{found:?}");
    assert!(has(&found, 6, "no `ADD COLUMN IF NOT EXISTS`"), "{found:?}");
    assert_eq!(
        lint("ALTER TABLE t ADD COLUMN c TEXT DEFAULT 'IF NOT EXISTS';"),
        []
    );
}

#[test]
fn oversized_statements_are_errors() {
    let statement = |len: usize| {
        let head = "INSERT INTO t (v) VALUES ('";
        format!("{head}{}');", "x".repeat(len - head.len() - 3))
    };
    let found = errors(&statement(100_001));
    assert!(has(&found, 1, "statement is 100001 bytes"), "{found:?}");
    assert_eq!(lint(&statement(99_000)), []);
}

#[test]
fn files_without_statements_are_errors() {
    for text in ["", "  \n", "-- only a comment\n/* and another; */\n", ";;"] {
        assert!(
            has(&errors(text), 1, "file has no SQL statements"),
            "{text:?}"
        );
    }
    assert!(!has(&lint("SELECT 1"), 1, "no SQL statements"));
}

#[test]
fn begin_transaction_text_is_an_error() {
    let found = errors("SELECT 1;\n-- we used to BEGIN TRANSACTION here\nSELECT 2;");
    assert!(has(&found, 2, "`BEGIN TRANSACTION`"), "{found:?}");
    let found = errors("INSERT INTO t VALUES ('BEGIN TRANSACTION');");
    assert!(has(&found, 1, "`BEGIN TRANSACTION`"), "{found:?}");
    // Reported once, as a transaction statement.
    assert_eq!(errors("BEGIN TRANSACTION;\nSELECT 1;").len(), 1);
    // wrangler matches case-sensitively.
    assert_eq!(lint("-- begin transaction\nSELECT 1;"), []);
}

#[test]
fn what_the_old_splitter_would_cut_wrong_is_written_so_it_cannot() {
    // A lower-case `end`, an `END)` and a `[name;]` used to be errors:
    // wrangler before 4.124 ran the rest of the file as part of the block.
    let lower_end = "CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON a BEGIN SELECT 1; end;";
    for splitter in [Splitter::UpperCaseEnd, Splitter::AnyCaseEnd] {
        for text in [
            lower_end.to_owned(),
            format!("SELECT 0;\n{lower_end}\nSELECT 2;"),
            "SELECT 1;\nSELECT coalesce(a, CASE WHEN b THEN 1 end) FROM t;\nSELECT 2;".to_owned(),
            "SELECT [a;b] FROM t;\nSELECT 2;".to_owned(),
            "select case when 1 then (case when 2 then 3 end) end;\nselect 4;".to_owned(),
        ] {
            let options = LintOptions {
                splitter,
                guards: false,
            };
            assert_eq!(super::lint(&text, options), [], "{text}");
            let statements: Vec<String> = sqls(&text);
            let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
            assert_eq!(check_batch(&refs, splitter), Ok(()), "{text}");
        }
    }
    let written = |text| for_wrangler(text, Splitter::UpperCaseEnd);
    assert_eq!(
        written("select coalesce(a,case when b then [x;y] end)"),
        "select coalesce(a, CASE when b then \"x;y\" END )"
    );
    // What the splitter already cuts right is sent exactly as written.
    let fine = "CREATE TRIGGER t AFTER INSERT ON a BEGIN SELECT CASE WHEN 1 THEN 2 END; END";
    assert_eq!(written(fine), fine);
    assert_eq!(written("select [a] from t"), "select [a] from t");
}

#[test]
fn a_batch_wrangler_would_still_cut_wrong_is_an_error_and_never_sent() {
    // `end` as a column name closes the trigger's block early.
    // (wrangler before 4.124 happens to cut this one right: its `end` must be upper case.)
    let text = "CREATE TRIGGER g AFTER INSERT ON a BEGIN UPDATE b SET x = end; END;\nSELECT 2;";
    assert_eq!(errors(text), []);
    let options = LintOptions {
        splitter: Splitter::AnyCaseEnd,
        guards: false,
    };
    let found = super::lint(text, options);
    assert!(has(&found, 1, "wrangler's statement splitter"), "{found:?}");
    let statements = sqls(text);
    let refs: Vec<&str> = statements.iter().map(String::as_str).collect();
    let err = check_batch(&refs, Splitter::AnyCaseEnd).unwrap_err();
    assert!(
        err.contains("statement 1") && err.contains("not sent"),
        "{err}"
    );
}

#[test]
fn the_splitter_follows_the_installed_version() {
    assert_eq!(
        Splitter::for_version(Some("4.50.0")),
        Splitter::UpperCaseEnd
    );
    assert_eq!(
        Splitter::for_version(Some("4.123.9")),
        Splitter::UpperCaseEnd
    );
    assert_eq!(Splitter::for_version(Some("4.124.0")), Splitter::AnyCaseEnd);
    assert_eq!(Splitter::for_version(Some("4.164.0")), Splitter::AnyCaseEnd);
    assert_eq!(Splitter::for_version(Some("5.0.0")), Splitter::AnyCaseEnd);
    assert_eq!(Splitter::for_version(None), Splitter::UpperCaseEnd);
    assert_eq!(
        Splitter::for_version(Some("garbage")),
        Splitter::UpperCaseEnd
    );
}

#[test]
fn wrangler_agrees_on_ordinary_files() {
    let text = format!(
        "{TRIGGER}\nCREATE TRIGGER IF NOT EXISTS u AFTER INSERT ON a BEGIN\n  UPDATE b SET n = CASE WHEN n > 1 THEN 0 ELSE 1 END;\nEND;\n\
         SELECT CASE WHEN 1 THEN 'BEGIN;' END AS x, '--' FROM t; -- bye\nSELECT 1"
    );
    assert_eq!(lint(&text), []);
}

#[test]
fn missing_guards_are_warnings_only_when_asked_for() {
    assert_eq!(lint("CREATE TABLE t (a);\nDROP TABLE t;"), []);
    let warnings = |text: &str| -> Vec<Finding> {
        let options = LintOptions {
            guards: true,
            ..LintOptions::default()
        };
        super::lint(text, options)
            .into_iter()
            .filter(|f| f.severity == Severity::Warning)
            .collect()
    };
    let text = "CREATE TABLE t (a);\ncreate unique index i ON t (a);\nCREATE VIEW v AS SELECT 1;\n\
                CREATE TEMP TABLE x (a);\nCREATE VIRTUAL TABLE f USING fts5(a);\nDROP TABLE t;\ndrop index i;\n\
                DROP VIEW v;\nDROP TRIGGER g;\nCREATE TRIGGER g AFTER INSERT ON t BEGIN SELECT 1; END;";
    let found = warnings(text);
    assert!(has(
        &found,
        1,
        "`CREATE TABLE` without `IF NOT EXISTS`; write `CREATE TABLE IF NOT EXISTS ...`"
    ));
    assert!(
        has(&found, 2, "`CREATE UNIQUE INDEX` without `IF NOT EXISTS`"),
        "{found:?}"
    );
    assert!(has(&found, 4, "`CREATE TEMP TABLE`"), "{found:?}");
    assert!(has(&found, 5, "`CREATE VIRTUAL TABLE`"), "{found:?}");
    assert!(has(
        &found,
        6,
        "`DROP TABLE` without `IF EXISTS`; write `DROP TABLE IF EXISTS ...`"
    ));
    assert!(has(&found, 7, "`DROP INDEX`"), "{found:?}");
    assert_eq!(found.len(), 10, "{found:?}");
    assert!(
        found.windows(2).all(|w| w[0].line < w[1].line),
        "sorted: {found:?}"
    );
    let guarded = "CREATE TABLE IF NOT EXISTS t (a);\nCREATE UNIQUE INDEX IF NOT EXISTS i ON t (a);\n\
                   DROP VIEW IF EXISTS v;\nCREATE TEMPORARY VIEW IF NOT EXISTS w AS SELECT 1;\nDROP COLUMN;";
    assert_eq!(warnings(guarded), []);
}

#[test]
fn pragma_foreign_keys_is_a_warning_that_names_the_cascade() {
    for text in [
        "PRAGMA foreign_keys = OFF;",
        "pragma main.FOREIGN_KEYS=0;",
        "PRAGMA \"foreign_keys\";",
    ] {
        assert!(has(&warnings(text), 1, "does not stop a cascade"), "{text}");
    }
    assert_eq!(lint("PRAGMA defer_foreign_keys = on;\nPRAGMA foreign_key_check;\nSELECT 'PRAGMA foreign_keys';"), []);
}

#[test]
fn canonical_text_ignores_layout_and_comments_but_not_strings() {
    let a = "CREATE TABLE a ( id TEXT, -- ulid\n  b TEXT DEFAULT 'x  y' /* z */)";
    let b = "CREATE TABLE a (id TEXT,\n\tb TEXT DEFAULT 'x  y')";
    assert_eq!(canonical(a), canonical(b));
    assert_ne!(
        canonical(a),
        canonical("CREATE TABLE a (id TEXT, b TEXT DEFAULT 'x y')")
    );
}

#[test]
fn quote_literal_doubles_quotes() {
    assert_eq!(quote_literal("it's 'x'"), "'it''s ''x'''");
    assert_eq!(quote_literal(""), "''");
}

fn wrangler_split_old(text: &str) -> Vec<String> {
    wrangler_split(text, Splitter::UpperCaseEnd)
}

#[test]
fn wrangler_port_quirks() {
    assert_eq!(wrangler_split_old("SELECT 1;\n"), ["SELECT 1;\n"]);
    assert_eq!(
        wrangler_split_old("SELECT 1; -- a;\nSELECT 2 /* ; */;"),
        ["SELECT 1", "SELECT 2"]
    );
    assert_eq!(
        wrangler_split_old("SELECT a - b; SELECT 4/2;"),
        ["SELECT a - b", "SELECT 4/2"]
    );
    assert_eq!(
        wrangler_split_old("SELECT $x$;$x$; SELECT 2;"),
        ["SELECT $x$;$x$", "SELECT 2"]
    );
    assert_eq!(
        wrangler_split_old("X BEGIN a; END; Y;"),
        ["X BEGIN a; END", "Y"]
    );
    assert_eq!(
        wrangler_split_old("X begin a; end; Y;"),
        ["X begin a; end; Y;"]
    );
    assert_eq!(
        wrangler_split("X begin a; end; Y;", Splitter::AnyCaseEnd),
        ["X begin a; end", "Y"]
    );
}
