//! What wrangler does to a batch file: which splitter it has, how a
//! statement is written so that it cuts where SQLite does, and a port of its
//! splitter to check every batch before it is sent.

use super::lex::{tokenize, Kind};

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

/// The batch file text for `statements`, as [`crate::migrate::tracking::Batch`] writes it.
pub fn batch_text(statements: &[&str], splitter: Splitter) -> String {
    statements
        .iter()
        .map(|s| format!("{};\n", for_wrangler(s, splitter)))
        .collect()
}

/// `Ok` when `splitter` cuts the batch of `statements` into exactly those
/// statements; otherwise the index of the first one it cuts differently.
pub(super) fn compare_split(statements: &[&str], splitter: Splitter) -> Result<(), usize> {
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
pub fn wrangler_split(sql: &str, splitter: Splitter) -> Vec<String> {
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
pub(super) fn is_js_space(c: char) -> bool {
    (c.is_whitespace() && c != '\u{85}') || c == '\u{feff}'
}

/// `mayContainMultipleStatements`
pub(super) fn may_contain_multiple_statements(sql: &str) -> bool {
    let trimmed = sql.trim_end_matches(is_js_space);
    trimmed.find(';').is_some_and(|at| at != trimmed.len() - 1)
}

/// `splitSqlIntoStatements`; the stack of identical end predicates is a counter.
pub(super) fn split_sql_into_statements(sql: &str, splitter: Splitter) -> Vec<String> {
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
pub(super) fn consume_while(
    chars: &mut std::str::Chars<'_>,
    predicate: impl Fn(&str) -> bool,
) -> String {
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
pub(super) fn consume_until_marker(chars: &mut std::str::Chars<'_>, marker: &str) -> String {
    consume_while(chars, |consumed| !consumed.ends_with(marker))
}

/// `isDollarQuoteIdentifier`: JavaScript's `slice(-1)` sees half of a character outside the BMP, which has no case.
pub(super) fn is_dollar_quote_identifier(consumed: &str) -> bool {
    consumed.chars().next_back().is_some_and(|last| {
        last != '$'
            && (last.is_ascii_digit()
                || last == '_'
                || (u32::from(last) <= 0xffff && !last.to_lowercase().eq(last.to_uppercase())))
    })
}

/// Whether `s` matches `/\sWORD$/` (with the `i` flag if `ignore_case`).
pub(super) fn ends_with_spaced_word(s: &str, word: &str, ignore_case: bool) -> bool {
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
pub(super) fn is_compound_statement_start(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next_back().is_some_and(is_js_space)
        && ["BEGIN", "CASE"]
            .iter()
            .any(|word| ends_with_spaced_word(chars.as_str(), word, true))
}

/// `isCompoundStatementEnd` on `s + c`: `/\sEND[;\s]$/`, case-sensitive
/// before wrangler 4.124 and case-insensitive since.
pub(super) fn is_compound_statement_end(s: &str, c: char, splitter: Splitter) -> bool {
    let ignore_case = splitter == Splitter::AnyCaseEnd;
    (c == ';' || is_js_space(c)) && ends_with_spaced_word(s, "END", ignore_case)
}
