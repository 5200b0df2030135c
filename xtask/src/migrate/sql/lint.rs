//! The D1 lint: what D1 or wrangler would reject or mangle in a file.

use super::lex::{parse, Kind, Parsed, Token};
use super::wrangler::{compare_split, Splitter};
use super::{Finding, MAX_STATEMENT_BYTES, TRANSACTION_KEYWORDS, WRANGLER_TRANSACTION_TEXT};

/// What [`lint`] checks besides D1's hard rules.
#[derive(Debug, Clone, Copy)]
pub struct LintOptions {
    /// The splitter of the wrangler that will run the file.
    pub splitter: Splitter,
    /// Also warn about `CREATE` without `IF NOT EXISTS` and `DROP` without
    /// `IF EXISTS` (off by default: a versioned migration runs once).
    pub guards: bool,
}

impl Default for LintOptions {
    fn default() -> LintOptions {
        LintOptions {
            splitter: Splitter::UpperCaseEnd,
            guards: false,
        }
    }
}

/// Lints one migration (or rollback) file's text. Never panics.
///
/// Findings are sorted by line. A [`SplitError`] becomes one `Error` finding
/// (and nothing else is checked).
#[must_use]
pub fn lint(sql: &str, options: LintOptions) -> Vec<Finding> {
    let parsed = match parse(sql) {
        Ok(parsed) => parsed,
        Err(err) => return vec![Finding::error(err.line, err.message)],
    };
    let mut findings = Vec::new();
    if parsed.is_empty() {
        findings.push(Finding::error(
            1,
            "file has no SQL statements (empty or comments only)",
        ));
    }
    for statement in &parsed {
        check_statement(statement, options, &mut findings);
    }
    check_transaction_text(sql, &parsed, &mut findings);
    check_wrangler_split(&parsed, options.splitter, &mut findings);
    findings.sort_by_key(|finding| finding.line);
    findings
}

// ---------------------------------------------------------------------------
// Lint

/// Appends the findings about one statement on its own.
pub(super) fn check_statement(
    parsed: &Parsed<'_>,
    options: LintOptions,
    findings: &mut Vec<Finding>,
) {
    let line = parsed.statement.line;
    let tokens = &parsed.tokens;
    if let Some(keyword) = transaction_keyword(parsed) {
        findings.push(Finding::error(
            line,
            format!("`{keyword}` statements are rejected by D1: it runs each migration in a transaction for you; remove it"),
        ));
    }
    if parsed.statement.len > MAX_STATEMENT_BYTES {
        findings.push(Finding::error(
            line,
            format!(
                "statement is {} bytes; D1 rejects statements over 100,000 bytes: split it (e.g. several INSERTs)",
                parsed.statement.len
            ),
        ));
    }
    if adds_column_if_not_exists(tokens) {
        findings.push(Finding::error(
            line,
            "SQLite has no `ADD COLUMN IF NOT EXISTS`; write `ALTER TABLE t ADD COLUMN c ...` (a migration runs once, so it needs no guard)",
        ));
    }
    if let Some(message) = missing_guard(tokens).filter(|_| options.guards) {
        findings.push(Finding::warning(line, message));
    }
    if sets_foreign_keys(tokens) {
        findings.push(Finding::warning(
            line,
            "`PRAGMA foreign_keys` is ignored inside D1's transaction: foreign keys stay on, so dropping a parent table \
             still deletes (ON DELETE CASCADE) or nulls (SET NULL) its children's rows; `PRAGMA defer_foreign_keys = on` \
             only moves the check to the end of the migration and does not stop a cascade",
        ));
    }
}

/// The transaction keyword the statement starts with, if any (in upper case).
pub(super) fn transaction_keyword(parsed: &Parsed<'_>) -> Option<&'static str> {
    let first = parsed.tokens.first()?;
    TRANSACTION_KEYWORDS
        .iter()
        .copied()
        .find(|keyword| first.is_word(keyword))
}

/// Whether `tokens` start with the keywords `words`.
pub(super) fn starts_with_words(tokens: &[Token<'_>], words: &[&str]) -> bool {
    tokens.len() >= words.len()
        && tokens
            .iter()
            .zip(words)
            .all(|(token, word)| token.is_word(word))
}

/// `ALTER TABLE t ADD [COLUMN] IF NOT EXISTS ...`
pub(super) fn adds_column_if_not_exists(tokens: &[Token<'_>]) -> bool {
    if !starts_with_words(tokens, &["ALTER", "TABLE"]) {
        return false;
    }
    // tokens[2] is the table's name (or its schema's).
    let Some(add) = tokens.iter().skip(3).position(|t| t.is_word("ADD")) else {
        return false;
    };
    let mut rest = tokens.get(3 + add + 1..).unwrap_or_default();
    if rest.first().is_some_and(|t| t.is_word("COLUMN")) {
        rest = &rest[1..];
    }
    starts_with_words(rest, &["IF", "NOT", "EXISTS"])
}

/// The warning for a `CREATE` without `IF NOT EXISTS` or a `DROP` without `IF EXISTS`.
pub(super) fn missing_guard(tokens: &[Token<'_>]) -> Option<String> {
    const OBJECTS: [&str; 4] = ["TABLE", "INDEX", "VIEW", "TRIGGER"];
    let first = tokens.first()?;
    let (modifiers, guard, reason): (&[&str], &[&str], &str) = if first.is_word("CREATE") {
        (
            &["TEMP", "TEMPORARY", "UNIQUE", "VIRTUAL"],
            &["IF", "NOT", "EXISTS"],
            "already exists",
        )
    } else if first.is_word("DROP") {
        (&[], &["IF", "EXISTS"], "is already gone")
    } else {
        return None;
    };
    let object = 1 + tokens[1..]
        .iter()
        .take_while(|t| modifiers.iter().any(|m| t.is_word(m)))
        .count();
    if !tokens
        .get(object)
        .is_some_and(|t| OBJECTS.iter().any(|o| t.is_word(o)))
        || starts_with_words(&tokens[object + 1..], guard)
    {
        return None;
    }
    let phrase = tokens[..=object]
        .iter()
        .map(|t| t.text.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(" ");
    let guard = guard.join(" ");
    Some(format!(
        "`{phrase}` without `{guard}`; write `{phrase} {guard} ...` so the statement does not fail when the object {reason}"
    ))
}

/// `PRAGMA [schema.]foreign_keys ...`
pub(super) fn sets_foreign_keys(tokens: &[Token<'_>]) -> bool {
    if !tokens.first().is_some_and(|t| t.is_word("PRAGMA")) {
        return false;
    }
    let name = if tokens.get(2).is_some_and(|t| t.is_punct(b'.')) {
        tokens.get(3)
    } else {
        tokens.get(1)
    };
    name.is_some_and(|t| t.kind != Kind::Punct && t.name().eq_ignore_ascii_case("foreign_keys"))
}

/// Reports each line holding the text `BEGIN TRANSACTION` outside a statement already reported as a transaction statement.
pub(super) fn check_transaction_text(
    sql: &str,
    parsed: &[Parsed<'_>],
    findings: &mut Vec<Finding>,
) {
    let mut reported_line = 0;
    for (at, _) in sql.match_indices(WRANGLER_TRANSACTION_TEXT) {
        let reported = parsed.iter().any(|p| {
            transaction_keyword(p).is_some() && (p.start..p.start + p.statement.len).contains(&at)
        });
        let line = 1 + sql
            .as_bytes()
            .iter()
            .take(at)
            .filter(|&&b| b == b'\n')
            .count();
        if reported || line == reported_line {
            continue;
        }
        reported_line = line;
        findings.push(Finding::error(
            line,
            "the text `BEGIN TRANSACTION` (even in a comment, string or name) makes wrangler rewrite the file before running it: \
             it deletes the first `BEGIN TRANSACTION;` and the first `COMMIT;` it finds, which would corrupt the SQL; \
             reword it (e.g. lower case in a comment, `'BEGIN ' || 'TRANSACTION'` in a string)",
        ));
    }
}

/// Reports the first statement that wrangler's splitter would cut
/// differently from ours in a batch, as the runner writes it.
pub(super) fn check_wrangler_split(
    parsed: &[Parsed<'_>],
    splitter: Splitter,
    findings: &mut Vec<Finding>,
) {
    let statements: Vec<&str> = parsed.iter().map(|p| p.statement.sql.as_str()).collect();
    let Err(index) = compare_split(&statements, splitter) else {
        return;
    };
    let statement = parsed.get(index).or(parsed.last());
    if statement.is_some_and(|p| transaction_keyword(p).is_some()) {
        return; // already an error, and removing it is the fix
    }
    findings.push(Finding::error(
        statement.map_or(1, |p| p.statement.line),
        "wrangler's statement splitter would cut this statement differently from SQLite, even written as the \
         runner writes it (`BEGIN`, `CASE`, `END` in upper case with blanks around, `[names]` as \"names\"); \
         look for `BEGIN`, `CASE` or `END` used as a name, or a `$` in a name, and quote it with \"double quotes\"",
    ));
}
