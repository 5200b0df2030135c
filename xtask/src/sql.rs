//! SQL statement splitting and the D1 lint.
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

use std::fmt;

/// D1's limit on the length of one SQL statement, in bytes.
const MAX_STATEMENT_BYTES: usize = 100_000;

/// First keywords of the statements that control transactions; D1 rejects them.
const TRANSACTION_KEYWORDS: [&str; 6] =
    ["BEGIN", "COMMIT", "END", "SAVEPOINT", "RELEASE", "ROLLBACK"];

/// The text that makes wrangler rewrite a file before splitting it (case-sensitive, as wrangler matches it).
const WRANGLER_TRANSACTION_TEXT: &str = "BEGIN TRANSACTION";

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

/// Which statement splitter the wrangler that runs the batches has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Splitter {
    /// Before wrangler 4.124: a `BEGIN`/`CASE` block ends only at an
    /// upper-case `END` followed by `;` or a blank.
    UpperCaseEnd,
    /// wrangler 4.124 and later: an `END` in any case ends it.
    AnyCaseEnd,
}

impl Splitter {
    /// The splitter of wrangler `version` (`4.86.0`); an unknown version gets
    /// the stricter, older one.
    pub fn for_version(version: Option<&str>) -> Splitter {
        let parsed = version.and_then(|v| {
            let mut parts = v.trim().split('.').map(|p| p.parse::<u64>().ok());
            Some((parts.next()??, parts.next()??))
        });
        match parsed {
            Some((major, minor)) if major > 4 || (major == 4 && minor >= 124) => {
                Splitter::AnyCaseEnd
            }
            _ => Splitter::UpperCaseEnd,
        }
    }
}

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

/// One token of a statement, comments left out: what [`crate::tables`]
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

// ---------------------------------------------------------------------------
// Tokeniser

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A keyword, identifier, number or parameter name.
    Word,
    /// A 'string' or a "quoted", `quoted` or [quoted] name.
    Quoted,
    /// Any other single (ASCII) character.
    Punct,
    /// A `--` comment (without its newline) or a `/* */` comment.
    Comment,
}

#[derive(Debug, Clone, Copy)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    /// Byte offset in the file.
    start: usize,
    /// 1-based line of the first byte.
    line: usize,
}

impl Token<'_> {
    fn end(&self) -> usize {
        self.start + self.text.len()
    }

    fn is_word(&self, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    fn is_punct(&self, c: u8) -> bool {
        self.kind == Kind::Punct && self.text.as_bytes() == [c]
    }

    /// The name a word or quoted token stands for (quotes removed, `""` escapes left as they are).
    fn name(&self) -> &str {
        match self.kind {
            Kind::Quoted => self
                .text
                .get(1..self.text.len().saturating_sub(1))
                .unwrap_or_default(),
            _ => self.text,
        }
    }
}

/// Bytes SQLite allows in identifiers and keywords (every byte of a multi-byte character is one).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Offset of the first `needle` in `bytes` at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

/// Offset just past the quote closing the quoted token opened by `quote` at `start` (a doubled quote is an escape).
fn quoted_end(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
    let mut from = start + 1;
    loop {
        let close = find(bytes, from, &[quote])?;
        if bytes.get(close + 1) == Some(&quote) {
            from = close + 2;
        } else {
            return Some(close + 1);
        }
    }
}

/// Cuts `sql` into tokens. Whitespace is dropped; every token boundary is
/// next to an ASCII byte (or at an end of the text), so slicing never splits a character.
fn tokenize(sql: &str) -> Result<Vec<Token<'_>>, SplitError> {
    let bytes = sql.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    while let Some(&b) = bytes.get(pos) {
        let unterminated = |what: &str| SplitError::new(line, format!("unterminated {what}"));
        let (kind, end) = match b {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0c => {
                line += usize::from(b == b'\n');
                pos += 1;
                continue;
            }
            b'-' if bytes.get(pos + 1) == Some(&b'-') => (
                Kind::Comment,
                find(bytes, pos + 2, b"\n").unwrap_or(bytes.len()),
            ),
            b'/' if bytes.get(pos + 1) == Some(&b'*') => {
                let close = find(bytes, pos + 2, b"*/")
                    .ok_or_else(|| unterminated("block comment: `/*` has no closing `*/`"))?;
                (Kind::Comment, close + 2)
            }
            b'\'' => (
                Kind::Quoted,
                quoted_end(bytes, pos, b)
                    .ok_or_else(|| unterminated("string: `'` has no closing `'`"))?,
            ),
            b'"' | b'`' => {
                let end = quoted_end(bytes, pos, b).ok_or_else(|| {
                    let quote = char::from(b);
                    unterminated(&format!("quoted name: `{quote}` has no closing `{quote}`"))
                })?;
                (Kind::Quoted, end)
            }
            b'[' => {
                let close = find(bytes, pos + 1, b"]")
                    .ok_or_else(|| unterminated("quoted name: `[` has no closing `]`"))?;
                (Kind::Quoted, close + 1)
            }
            _ if is_word_byte(b) => {
                let len = bytes[pos..]
                    .iter()
                    .position(|&c| !is_word_byte(c))
                    .unwrap_or(bytes.len() - pos);
                (Kind::Word, pos + len)
            }
            _ => (Kind::Punct, pos + 1),
        };
        let text = &sql[pos..end];
        tokens.push(Token {
            kind,
            text,
            start: pos,
            line,
        });
        line += text.bytes().filter(|&c| c == b'\n').count();
        pos = end;
    }
    Ok(tokens)
}

// ---------------------------------------------------------------------------
// Splitter

/// A statement with what the lint needs besides the public [`Statement`].
struct Parsed<'a> {
    statement: Statement,
    /// Byte offset of the statement's first token in the file.
    start: usize,
    /// The statement's tokens without comments and without its terminating `;`.
    tokens: Vec<Token<'a>>,
}

/// Where a statement is with respect to a trigger body (`sqlite3_complete`'s states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compound {
    /// No token yet.
    Start,
    /// `CREATE` (maybe followed by `TEMP`/`TEMPORARY`).
    Create,
    /// `CREATE TRIGGER`, before its `BEGIN`.
    TriggerHeader,
    /// Inside the trigger body: the previous token was a `;`, or was an `END` right after a `;`.
    TriggerBody { after_semicolon: bool, ended: bool },
    /// Any other statement.
    Other,
}

impl Compound {
    fn next(self, token: &Token<'_>) -> Self {
        match self {
            Self::Start if token.is_word("CREATE") => Self::Create,
            Self::Create if token.is_word("TEMP") || token.is_word("TEMPORARY") => Self::Create,
            Self::Create if token.is_word("TRIGGER") => Self::TriggerHeader,
            Self::TriggerHeader if token.is_word("BEGIN") => Self::TriggerBody {
                after_semicolon: false,
                ended: false,
            },
            Self::TriggerHeader => Self::TriggerHeader,
            Self::TriggerBody {
                after_semicolon, ..
            } => Self::TriggerBody {
                after_semicolon: token.is_punct(b';'),
                ended: after_semicolon && token.is_word("END"),
            },
            Self::Start | Self::Create | Self::Other => Self::Other,
        }
    }

    fn semicolon_ends_statement(self) -> bool {
        !matches!(self, Self::TriggerBody { ended: false, .. })
    }
}

/// Splits `sql` as [`split`] does, keeping each statement's tokens.
fn parse(sql: &str) -> Result<Vec<Parsed<'_>>, SplitError> {
    let mut statements = Vec::new();
    // The current statement's tokens from its first non-comment token on, comments included.
    let mut pending: Vec<Token<'_>> = Vec::new();
    let mut state = Compound::Start;
    for token in tokenize(sql)? {
        if token.kind == Kind::Comment {
            if !pending.is_empty() {
                pending.push(token);
            }
        } else if token.is_punct(b';') && state.semicolon_ends_statement() {
            statements.extend(build(sql, &pending, token.end()));
            pending.clear();
            state = Compound::Start;
        } else {
            state = state.next(&token);
            pending.push(token);
        }
    }
    if let Some(first) = pending.first() {
        if !state.semicolon_ends_statement() {
            return Err(SplitError::new(
                first.line,
                "`CREATE TRIGGER` has `BEGIN` but no `END`: close its body with `END;` right after the `;` of its last statement",
            ));
        }
        let end = pending
            .iter()
            .rev()
            .find(|t| t.kind != Kind::Comment)
            .map_or(first.end(), Token::end);
        statements.extend(build(sql, &pending, end));
    }
    Ok(statements)
}

/// Makes the statement whose tokens are `pending` (comments included) and whose text ends at byte `end`.
fn build<'a>(sql: &'a str, pending: &[Token<'a>], end: usize) -> Option<Parsed<'a>> {
    let first = pending.first()?;
    let bytes = sql.as_bytes();
    let mut text = String::new();
    let mut pos = first.start;
    for token in pending {
        // Blanks, with CRLF folded to LF as wrangler does outside quotes.
        text.push_str(&sql[pos..token.start].replace("\r\n", "\n"));
        if token.kind == Kind::Comment {
            // Drop the comment with the blanks before it; `a/**/b` is `a b`, not `ab`.
            text.truncate(text.trim_end_matches([' ', '\t']).len());
            if !text.as_bytes().last().is_none_or(u8::is_ascii_whitespace)
                && !bytes.get(token.end()).is_none_or(u8::is_ascii_whitespace)
            {
                text.push(' ');
            }
        } else {
            text.push_str(token.text);
        }
        pos = token.end();
    }
    Some(Parsed {
        statement: Statement {
            sql: text
                .trim_matches(|c: char| c.is_ascii_whitespace())
                .to_owned(),
            line: first.line,
            len: end - first.start,
        },
        start: first.start,
        tokens: pending
            .iter()
            .filter(|t| t.kind != Kind::Comment)
            .copied()
            .collect(),
    })
}

// ---------------------------------------------------------------------------
// Lint

/// Appends the findings about one statement on its own.
fn check_statement(parsed: &Parsed<'_>, options: LintOptions, findings: &mut Vec<Finding>) {
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
fn transaction_keyword(parsed: &Parsed<'_>) -> Option<&'static str> {
    let first = parsed.tokens.first()?;
    TRANSACTION_KEYWORDS
        .iter()
        .copied()
        .find(|keyword| first.is_word(keyword))
}

/// Whether `tokens` start with the keywords `words`.
fn starts_with_words(tokens: &[Token<'_>], words: &[&str]) -> bool {
    tokens.len() >= words.len()
        && tokens
            .iter()
            .zip(words)
            .all(|(token, word)| token.is_word(word))
}

/// `ALTER TABLE t ADD [COLUMN] IF NOT EXISTS ...`
fn adds_column_if_not_exists(tokens: &[Token<'_>]) -> bool {
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
fn missing_guard(tokens: &[Token<'_>]) -> Option<String> {
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
fn sets_foreign_keys(tokens: &[Token<'_>]) -> bool {
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
fn check_transaction_text(sql: &str, parsed: &[Parsed<'_>], findings: &mut Vec<Finding>) {
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
fn check_wrangler_split(parsed: &[Parsed<'_>], splitter: Splitter, findings: &mut Vec<Finding>) {
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

/// Writes one statement for a batch file so that `splitter` cuts the batch
/// where SQLite does. A statement it already cuts right is left exactly as
/// written (SQLite keeps the text of a `CREATE` in the schema). Otherwise the
/// keywords that open and close its blocks (`BEGIN`, `CASE`, `END`) are
/// written in upper case with a blank on each side, and `[bracket names]`,
/// which it does not know, as `"double-quoted names"`: keywords and names are
/// case-insensitive and blanks free in SQL, so the statement means exactly
/// what it did.
pub fn for_wrangler(statement: &str, splitter: Splitter) -> String {
    let probe = format!("{statement};\nSELECT 1;\n");
    let cut = wrangler_split(&probe, splitter);
    if cut.len() == 2 && cut[0] == statement.trim_matches(is_js_space) {
        return statement.to_owned();
    }
    let Ok(tokens) = tokenize(statement) else {
        return statement.to_owned();
    };
    let mut out = String::with_capacity(statement.len() + 16);
    let mut pos = 0;
    for token in &tokens {
        out.push_str(&statement[pos..token.start]);
        let keyword = ["BEGIN", "CASE", "END"]
            .into_iter()
            .find(|k| token.is_word(k));
        match keyword {
            Some(keyword) => {
                if !out.ends_with(|c: char| c.is_ascii_whitespace()) {
                    out.push(' ');
                }
                out.push_str(keyword);
                if !statement[token.end()..].starts_with(|c: char| c.is_ascii_whitespace()) {
                    out.push(' ');
                }
            }
            None if token.kind == Kind::Quoted && token.text.starts_with('[') => {
                out.push('"');
                out.push_str(&token.name().replace('"', "\"\""));
                out.push('"');
            }
            None => out.push_str(token.text),
        }
        pos = token.end();
    }
    out.push_str(&statement[pos..]);
    out
}

/// The batch file text for `statements`, as [`crate::tracking::Batch`] writes it.
pub fn batch_text(statements: &[&str], splitter: Splitter) -> String {
    statements
        .iter()
        .map(|s| format!("{};\n", for_wrangler(s, splitter)))
        .collect()
}

/// `Ok` when `splitter` cuts the batch of `statements` into exactly those
/// statements; otherwise the index of the first one it cuts differently.
fn compare_split(statements: &[&str], splitter: Splitter) -> Result<(), usize> {
    let batch = batch_text(statements, splitter);
    let theirs = wrangler_split(&batch, splitter);
    if theirs.len() == 1 && theirs[0] == batch {
        // wrangler sends a batch unsplit only when it is one statement without an inner `;`.
        return match statements.len() {
            0 | 1 => Ok(()),
            _ => Err(0),
        };
    }
    let ours: Vec<String> = statements
        .iter()
        .map(|s| for_wrangler(s, splitter))
        .collect();
    match ours
        .iter()
        .zip(&theirs)
        .position(|(ours, theirs)| ours.trim_matches(is_js_space) != theirs)
    {
        Some(index) => Err(index),
        None if ours.len() != theirs.len() => Err(ours.len().min(theirs.len())),
        None => Ok(()),
    }
}

/// Checks that the installed wrangler will run a batch of `statements` as
/// exactly those statements; the error names the first one it would cut
/// differently, which must then never reach D1.
pub fn check_batch(statements: &[&str], splitter: Splitter) -> Result<(), String> {
    compare_split(statements, splitter).map_err(|index| {
        let shown: String = statements
            .get(index)
            .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        format!(
            "wrangler's statement splitter would cut this batch differently from SQLite at statement {} \
             ({shown}), so it was not sent: quote names that are the words BEGIN, CASE or END, or hold a `$`",
            index + 1
        )
    })
}

// ---------------------------------------------------------------------------
// Port of wrangler 4's splitter (packages/wrangler/src/d1/splitter.ts), without
// its `BEGIN TRANSACTION` trimming (see `check_transaction_text`).

/// `splitSqlQuery`: the statements wrangler sends for the file `sql`.
fn wrangler_split(sql: &str, splitter: Splitter) -> Vec<String> {
    if !may_contain_multiple_statements(sql) {
        return vec![sql.to_owned()];
    }
    let split = split_sql_into_statements(sql, splitter);
    if split.is_empty() {
        vec![sql.to_owned()]
    } else {
        split
    }
}

/// JavaScript's `\s` (which `trim` also uses).
fn is_js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `mayContainMultipleStatements`
fn may_contain_multiple_statements(sql: &str) -> bool {
    let trimmed = sql.trim_end_matches(is_js_space);
    trimmed.find(';').is_some_and(|at| at != trimmed.len() - 1)
}

/// `splitSqlIntoStatements`; the stack of identical end predicates is a counter.
fn split_sql_into_statements(sql: &str, splitter: Splitter) -> Vec<String> {
    let mut statements = Vec::new();
    let mut current = String::new();
    let mut open_blocks = 0usize;
    let mut chars = sql.chars();
    let mut next = chars.next();
    while let Some(c) = next {
        if open_blocks > 0 && is_compound_statement_end(&current, c, splitter) {
            open_blocks -= 1;
        }
        match c {
            '\'' | '"' | '`' => {
                current.push(c);
                current.push_str(&consume_until_marker(
                    &mut chars,
                    c.encode_utf8(&mut [0; 4]),
                ));
            }
            '$' => {
                let mut dollar_quote = String::from("$");
                dollar_quote.push_str(&consume_while(&mut chars, is_dollar_quote_identifier));
                current.push_str(&dollar_quote);
                if dollar_quote.ends_with('$') {
                    current.push_str(&consume_until_marker(&mut chars, &dollar_quote));
                }
            }
            '-' | '/' => {
                next = chars.next();
                match (c, next) {
                    ('-', Some('-')) => {
                        consume_until_marker(&mut chars, "\n");
                        current.push('\n');
                    }
                    ('/', Some('*')) => {
                        consume_until_marker(&mut chars, "*/");
                    }
                    _ => {
                        // JavaScript's `continue`: the looked-ahead character is handled next round.
                        current.push(c);
                        continue;
                    }
                }
            }
            ';' if open_blocks == 0 => statements.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
        if is_compound_statement_start(&current) {
            open_blocks += 1;
        }
        next = chars.next();
    }
    statements.push(current);
    statements
        .iter()
        .map(|s| s.trim_matches(is_js_space))
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `consumeWhile`: takes characters up to and including the first one after which `predicate` fails.
fn consume_while(chars: &mut std::str::Chars<'_>, predicate: impl Fn(&str) -> bool) -> String {
    let mut consumed = String::new();
    for c in chars.by_ref() {
        consumed.push(c);
        if !predicate(&consumed) {
            break;
        }
    }
    consumed
}

/// `consumeUntilMarker`
fn consume_until_marker(chars: &mut std::str::Chars<'_>, marker: &str) -> String {
    consume_while(chars, |consumed| !consumed.ends_with(marker))
}

/// `isDollarQuoteIdentifier`: JavaScript's `slice(-1)` sees half of a character outside the BMP, which has no case.
fn is_dollar_quote_identifier(consumed: &str) -> bool {
    consumed.chars().next_back().is_some_and(|last| {
        last != '$'
            && (last.is_ascii_digit()
                || last == '_'
                || (u32::from(last) <= 0xffff && !last.to_lowercase().eq(last.to_uppercase())))
    })
}

/// Whether `s` matches `/\sWORD$/` (with the `i` flag if `ignore_case`).
fn ends_with_spaced_word(s: &str, word: &str, ignore_case: bool) -> bool {
    let Some(cut) = s.len().checked_sub(word.len()) else {
        return false;
    };
    let (Some(head), Some(tail)) = (s.get(..cut), s.get(cut..)) else {
        return false;
    };
    let same = if ignore_case {
        tail.eq_ignore_ascii_case(word)
    } else {
        tail == word
    };
    same && head.chars().next_back().is_some_and(is_js_space)
}

/// `isCompoundStatementStart`: `/\s(BEGIN|CASE)\s$/i`
fn is_compound_statement_start(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next_back().is_some_and(is_js_space)
        && ["BEGIN", "CASE"]
            .iter()
            .any(|word| ends_with_spaced_word(chars.as_str(), word, true))
}

/// `isCompoundStatementEnd` on `s + c`: `/\sEND[;\s]$/`, case-sensitive
/// before wrangler 4.124 and case-insensitive since.
fn is_compound_statement_end(s: &str, c: char, splitter: Splitter) -> bool {
    let ignore_case = splitter == Splitter::AnyCaseEnd;
    (c == ';' || is_js_space(c)) && ends_with_spaced_word(s, "END", ignore_case)
}

#[cfg(test)]
mod tests {
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
        let statements =
            split("-- header\n/* block\ncomment */\n\n  CREATE TABLE t (a);\nSELECT\n1;")
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
                "SELECT 1;\nSELECT coalesce(a, CASE WHEN b THEN 1 end) FROM t;\nSELECT 2;"
                    .to_owned(),
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
}
