//! The tokeniser and the statement parser behind [`super::split`]: strings,
//! quoted names and comments kept whole; a trigger's body inside its statement.

use super::{SplitError, Statement};

// ---------------------------------------------------------------------------
// Tokeniser

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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
pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    pub(super) text: &'a str,
    /// Byte offset in the file.
    pub(super) start: usize,
    /// 1-based line of the first byte.
    pub(super) line: usize,
}

impl Token<'_> {
    pub(super) fn end(&self) -> usize {
        self.start + self.text.len()
    }

    pub(super) fn is_word(&self, keyword: &str) -> bool {
        self.kind == Kind::Word && self.text.eq_ignore_ascii_case(keyword)
    }

    pub(super) fn is_punct(&self, c: u8) -> bool {
        self.kind == Kind::Punct && self.text.as_bytes() == [c]
    }

    /// The name a word or quoted token stands for (quotes removed, `""` escapes left as they are).
    pub(super) fn name(&self) -> &str {
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
pub(super) fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

/// Offset of the first `needle` in `bytes` at or after `from`.
pub(super) fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

/// Offset just past the quote closing the quoted token opened by `quote` at `start` (a doubled quote is an escape).
pub(super) fn quoted_end(bytes: &[u8], start: usize, quote: u8) -> Option<usize> {
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
pub(super) fn tokenize(sql: &str) -> Result<Vec<Token<'_>>, SplitError> {
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
pub(super) struct Parsed<'a> {
    pub(super) statement: Statement,
    /// Byte offset of the statement's first token in the file.
    pub(super) start: usize,
    /// The statement's tokens without comments and without its terminating `;`.
    pub(super) tokens: Vec<Token<'a>>,
}

/// Where a statement is with respect to a trigger body (`sqlite3_complete`'s states).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Compound {
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
pub(super) fn parse(sql: &str) -> Result<Vec<Parsed<'_>>, SplitError> {
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
pub(super) fn build<'a>(sql: &'a str, pending: &[Token<'a>], end: usize) -> Option<Parsed<'a>> {
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
