//! SQL statement splitting and the D1 lint: [`split`] and the tokens
//! ([`lex`]), [`lint`], and what wrangler does to a batch ([`wrangler`]).
//!
//! [`split`] cuts a migration file into statements the way SQLite reads it: it
//! tokenises the text (strings, quoted names, comments) and keeps the `;` of a
//! `CREATE TRIGGER ... BEGIN ... END` body inside the trigger, using the rule of
//! SQLite's own `sqlite3_complete`: the body ends at an `END` right after a `;`.
//!
//! [`lint`] reports what D1 or wrangler would reject or mangle. The runner
//! sends the statements to `wrangler d1 execute --file` as one batch file
//! (each statement written by [`for_wrangler`], followed by `;\n`), and
//! wrangler splits that file again with its own, simpler splitter. So that it
//! cuts where SQLite does, [`for_wrangler`] writes `BEGIN`, `CASE` and `END` in
//! upper case with blanks around them and `[names]` as `"names"`;
//! [`check_batch`] runs a port of the installed wrangler's splitter
//! ([`Splitter`]) on every batch before it is sent, and the lint reports any
//! statement where the two would still disagree.

mod lex;
mod lint;
#[cfg(test)]
mod tests;
mod wrangler;

use std::fmt;

use lex::{parse, tokenize, Kind};
pub use lint::{lint, LintOptions};
pub use wrangler::{batch_text, check_batch, for_wrangler, wrangler_split, Splitter};

/// D1's limit on the length of one SQL statement, in bytes.
const MAX_STATEMENT_BYTES: usize = 100_000;

/// Unix time in milliseconds, as D1 sees it while running the statement.
pub const NOW_MS: &str = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/// First keywords of the statements that control transactions; D1 rejects them.
const TRANSACTION_KEYWORDS: [&str; 6] =
    ["BEGIN", "COMMIT", "END", "SAVEPOINT", "RELEASE", "ROLLBACK"];

/// The text that makes wrangler rewrite a file before splitting it (case-sensitive, as wrangler matches it).
pub(crate) const WRANGLER_TRANSACTION_TEXT: &str = "BEGIN TRANSACTION";

/// One SQL statement of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The statement's text with comments removed, trimmed, WITHOUT the trailing `;`.
    /// String literals and quoted names are kept byte for byte.
    ///
    /// A trigger is one statement: `CREATE TRIGGER ... BEGIN ...; ...; END`,
    /// with the `;` of its body and without the `;` after `END`.
    pub sql: String,
    /// 1-based line in the file where the statement's first token is.
    pub line: usize,
    /// Length in bytes of the statement as written in the file (comments inside included, up to and including its `;`).
    pub len: usize,
}

/// Why a file could not be split into statements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitError {
    /// 1-based line where the unterminated string, name, comment or trigger starts.
    pub line: usize,
    /// What is wrong, for a human.
    pub message: String,
}

impl SplitError {
    fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for SplitError {}

/// How bad a [`Finding`] is: an `Error` stops the migration, a `Warning` does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// A questionable practice; the file still works.
    Warning,
    /// D1 or wrangler would reject or corrupt the file.
    Error,
}

/// One problem [`lint`] found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Whether the problem blocks the migration.
    pub severity: Severity,
    /// 1-based line of the statement (or text) concerned.
    pub line: usize,
    /// What is wrong and what to write instead.
    pub message: String,
}

impl Finding {
    fn error(line: usize, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            line,
            message: message.into(),
        }
    }

    fn warning(line: usize, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            line,
            message: message.into(),
        }
    }
}

/// Splits SQL text into statements.
///
/// Respects 'strings' (with '' escapes), "quoted names", `backtick names`, [bracket names],
/// -- line comments, /* block comments */, and compound bodies: CREATE TRIGGER ... BEGIN ... END
/// (the `;` inside a trigger body do not end the statement; CASE ... END inside a trigger body
/// does not end the trigger early). Keywords are case-insensitive.
///
/// A trailing statement without `;` is still a statement. Empty statements (`;;`) are dropped.
///
/// # Errors
///
/// A [`SplitError`] (with the 1-based line where the unterminated thing starts) for an
/// unterminated string, quoted name or block comment, or a trigger with `BEGIN` but no `END`.
pub fn split(sql: &str) -> Result<Vec<Statement>, SplitError> {
    Ok(parse(sql)?
        .into_iter()
        .map(|parsed| parsed.statement)
        .collect())
}

/// The tokens of `sql` without its comments, one blank between each: two
/// texts of the same statement compare equal however they were laid out or
/// commented (wrangler's splitters drop comments inside a statement, D1's
/// query API keeps them). Text that does not tokenize is only squashed.
#[must_use]
pub fn canonical(sql: &str) -> String {
    match tokenize(sql) {
        Ok(tokens) => tokens
            .iter()
            .filter(|t| t.kind != Kind::Comment)
            .map(|t| t.text)
            .collect::<Vec<_>>()
            .join(" "),
        Err(_) => sql.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// One token of a statement, comments left out: what [`crate::migrate::row_loss`]
/// reads statements by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lexeme {
    /// A keyword, an unquoted name, a number.
    Word(String),
    /// A quoted name (`"x"`, `` `x` ``, `[x]`) without its quotes, or a string literal with them.
    Quoted(String),
    /// Any other single character: `(`, `,`, `.`, `;`…
    Punct(char),
}

impl Lexeme {
    /// True for the keyword `word` (in any case).
    pub fn is(&self, word: &str) -> bool {
        matches!(self, Lexeme::Word(w) if w.eq_ignore_ascii_case(word))
    }

    /// The name it stands for, when it can be one.
    pub fn name(&self) -> Option<&str> {
        match self {
            Lexeme::Word(w) => Some(w),
            Lexeme::Quoted(q) if !q.starts_with('\'') => Some(q),
            _ => None,
        }
    }
}

/// The tokens of `sql` without its comments (empty when it does not tokenize).
#[must_use]
pub fn lexemes(sql: &str) -> Vec<Lexeme> {
    tokenize(sql)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| match t.kind {
            Kind::Comment => None,
            Kind::Word => Some(Lexeme::Word(t.text.to_owned())),
            Kind::Quoted if t.text.starts_with('\'') => Some(Lexeme::Quoted(t.text.to_owned())),
            Kind::Quoted => Some(Lexeme::Quoted(
                t.name().replace(
                    t.text
                        .chars()
                        .next()
                        .filter(|q| *q != '[')
                        .map_or("]]".to_owned(), |q| format!("{q}{q}"))
                        .as_str(),
                    &t.text
                        .chars()
                        .next()
                        .filter(|q| *q != '[')
                        .map_or("]".to_owned(), |q| q.to_string()),
                ),
            )),
            Kind::Punct => t.text.chars().next().map(Lexeme::Punct),
        })
        .collect()
}

/// Quotes a value as an SQL string literal: 'it''s'. Used for every file-derived value spliced into SQL.
#[must_use]
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
