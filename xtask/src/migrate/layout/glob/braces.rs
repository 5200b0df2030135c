//! Brace expansion as brace-expansion 2.0.1 (which minimatch applies before
//! matching) does it, with balanced-match's `{…}` search.

use anyhow::{bail, Context, Result};

/// How many patterns braces may expand to: minimatch has no limit, but a
/// pattern like `{1..100000000}` would only exhaust memory.
const EXPANSION_LIMIT: usize = 10_000;

/// minimatch's test for whether brace expansion could apply:
/// `/\{(?:(?!\{).)*\}/`.
pub(super) fn has_brace_set(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        *c == '{'
            && chars[i + 1..]
                .iter()
                .take_while(|c| **c != '{' && !is_line_terminator(**c))
                .any(|c| *c == '}')
    })
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Stands for a `}` brace expansion has given up on, until the end (as
/// brace-expansion's own placeholder does); patterns cannot contain NUL.
const ESC_CLOSE: char = '\0';

/// brace-expansion 2.0.1's `expandTop`.
pub(super) fn expand_top(text: &str) -> Result<Vec<String>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // Bash keeps a leading `{}` as it is (brace-expansion escapes it).
    let expanded = match text.strip_prefix("{}") {
        Some(rest) => expand(rest, false)?
            .into_iter()
            .map(|e| format!("{{}}{e}"))
            .collect(),
        None => expand(text, true)?,
    };
    Ok(expanded
        .into_iter()
        .map(|e| e.replace(ESC_CLOSE, "}"))
        .collect())
}

/// balanced-match 1.0.2's `range('{', '}', text)`, over chars.
fn balanced_range(text: &[char]) -> Option<(usize, usize)> {
    let find = |c: char, from: usize| -> Option<usize> {
        text.get(from..)?
            .iter()
            .position(|x| *x == c)
            .map(|p| p + from)
    };
    let mut ai = find('{', 0);
    let mut bi = find('}', ai? + 1);
    bi?;
    let mut i = ai;
    let mut begs: Vec<usize> = Vec::new();
    let mut left = text.len();
    let mut right: Option<usize> = None;
    while let Some(at) = i {
        if Some(at) == ai {
            begs.push(at);
            ai = find('{', at + 1);
        } else if begs.len() == 1 {
            let start = begs.pop()?;
            return Some((start, bi?));
        } else {
            let beg = begs.pop()?;
            if beg < left {
                left = beg;
                right = bi;
            }
            bi = find('}', at + 1);
        }
        // `ai < bi && ai >= 0 ? ai : bi`, where a missing `}` is -1.
        i = match (ai, bi) {
            (Some(a), Some(b)) if a < b => Some(a),
            _ => bi,
        };
    }
    if begs.is_empty() {
        None
    } else {
        Some((left, right?))
    }
}

/// (pre, body, post) around the first balanced `{…}`.
fn balanced(text: &str) -> Option<(String, String, String)> {
    let chars: Vec<char> = text.chars().collect();
    let (start, end) = balanced_range(&chars)?;
    Some((
        chars[..start].iter().collect(),
        chars[start + 1..end].iter().collect(),
        chars[end + 1..].iter().collect(),
    ))
}

/// brace-expansion 2.0.1's `expand`.
fn expand(text: &str, is_top: bool) -> Result<Vec<String>> {
    let Some((pre, body, post)) = balanced(text) else {
        return Ok(vec![text.to_owned()]);
    };
    let post_expanded = if post.is_empty() {
        vec![String::new()]
    } else {
        expand(&post, false)?
    };
    if pre.ends_with('$') {
        return Ok(post_expanded
            .iter()
            .map(|p| format!("{pre}{{{body}}}{p}"))
            .collect());
    }
    let numeric = is_numeric_sequence(&body);
    let alpha = is_alpha_sequence(&body);
    let sequence = numeric || alpha;
    if !sequence && !body.contains(',') {
        if comma_then_close(&post) {
            return expand(&format!("{pre}{{{body}{ESC_CLOSE}{post}"), false);
        }
        return Ok(vec![text.to_owned()]);
    }
    let items: Vec<String> = if sequence {
        let parts: Vec<&str> = body.split("..").collect();
        expand_sequence(&parts, alpha)?
    } else {
        let mut parts = parse_comma_parts(&body);
        if parts.len() == 1 {
            parts = expand(&parts[0], false)?
                .into_iter()
                .map(|p| format!("{{{p}}}"))
                .collect();
            if parts.len() == 1 {
                return Ok(post_expanded
                    .iter()
                    .map(|p| format!("{pre}{}{p}", parts[0]))
                    .collect());
            }
        }
        let mut items = Vec::new();
        for part in &parts {
            items.extend(expand(part, false)?);
            check_limit(items.len())?;
        }
        items
    };
    check_limit(items.len().saturating_mul(post_expanded.len()))?;
    let mut expansions = Vec::new();
    for item in &items {
        for p in &post_expanded {
            let expansion = format!("{pre}{item}{p}");
            if !is_top || sequence || !expansion.is_empty() {
                expansions.push(expansion);
            }
        }
    }
    Ok(expansions)
}

fn check_limit(count: usize) -> Result<()> {
    if count > EXPANSION_LIMIT {
        bail!("its braces expand to more than {EXPANSION_LIMIT} patterns");
    }
    Ok(())
}

/// brace-expansion's `parseCommaParts`: split on commas outside nested braces.
fn parse_comma_parts(text: &str) -> Vec<String> {
    if text.is_empty() {
        return vec![String::new()];
    }
    let Some((pre, body, post)) = balanced(text) else {
        return text.split(',').map(str::to_owned).collect();
    };
    let mut parts: Vec<String> = pre.split(',').map(str::to_owned).collect();
    if let Some(last) = parts.last_mut() {
        last.push('{');
        last.push_str(&body);
        last.push('}');
    }
    let mut post_parts = parse_comma_parts(&post);
    if !post.is_empty() {
        let first = post_parts.remove(0);
        if let Some(last) = parts.last_mut() {
            last.push_str(&first);
        }
        parts.extend(post_parts);
    }
    parts
}

/// `/,.*\}/`: a comma, then a `}` later on the same line.
fn comma_then_close(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    chars.iter().enumerate().any(|(i, c)| {
        *c == ','
            && chars[i + 1..]
                .iter()
                .take_while(|c| !is_line_terminator(**c))
                .any(|c| *c == '}')
    })
}

/// `-?\d+` at the start of `text`; the rest.
fn strip_int(text: &str) -> Option<&str> {
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let digits = unsigned.bytes().take_while(u8::is_ascii_digit).count();
    (digits > 0).then(|| &unsigned[digits..])
}

/// `/^-?\d+\.\.-?\d+(?:\.\.-?\d+)?$/`
fn is_numeric_sequence(body: &str) -> bool {
    let Some(rest) = strip_int(body).and_then(|r| r.strip_prefix("..")) else {
        return false;
    };
    match strip_int(rest) {
        Some("") => true,
        Some(rest) => rest
            .strip_prefix("..")
            .and_then(strip_int)
            .is_some_and(str::is_empty),
        None => false,
    }
}

/// `/^[a-zA-Z]\.\.[a-zA-Z](?:\.\.-?\d+)?$/`
fn is_alpha_sequence(body: &str) -> bool {
    let b = body.as_bytes();
    if b.len() < 4
        || !b[0].is_ascii_alphabetic()
        || &b[1..3] != b".."
        || !b[3].is_ascii_alphabetic()
    {
        return false;
    }
    let rest = &body[4..];
    rest.is_empty()
        || rest
            .strip_prefix("..")
            .and_then(strip_int)
            .is_some_and(str::is_empty)
}

/// brace-expansion's `numeric`: the integer, or a letter's code.
fn sequence_number(part: &str) -> Result<i64> {
    if strip_int(part).is_some_and(str::is_empty) {
        return part
            .parse::<i64>()
            .with_context(|| format!("the brace range bound {part} is too large"));
    }
    Ok(part.encode_utf16().next().map_or(0, i64::from))
}

/// A brace sequence's items: `{1..3}`, `{01..10}`, `{a..e..2}`, `{3..1}`.
fn expand_sequence(parts: &[&str], alpha: bool) -> Result<Vec<String>> {
    let x = sequence_number(parts[0])?;
    let y = sequence_number(parts[1])?;
    let width = parts[0].len().max(parts[1].len());
    let mut step = match parts.get(2) {
        Some(part) => sequence_number(part)?
            .checked_abs()
            .context("the brace range step is too large")?,
        None => 1,
    };
    if step == 0 {
        // brace-expansion loops forever on a zero step.
        bail!("a brace range cannot have a step of 0");
    }
    let count = x.abs_diff(y) / step.unsigned_abs() + 1;
    check_limit(usize::try_from(count).unwrap_or(usize::MAX))?;
    let reverse = y < x;
    if reverse {
        step = -step;
    }
    let padded = parts.iter().any(|p| {
        let p = p.strip_prefix('-').unwrap_or(p).as_bytes();
        p.len() >= 2 && p[0] == b'0' && p[1].is_ascii_digit()
    });
    let mut items = Vec::new();
    let mut i = x;
    while if reverse { i >= y } else { i <= y } {
        let item = if alpha {
            match char::from_u32(u32::try_from(i).unwrap_or(0)) {
                Some('\\') | None => String::new(),
                Some(c) => c.to_string(),
            }
        } else {
            let mut text = i.to_string();
            if padded && text.len() < width {
                let zeros = "0".repeat(width - text.len());
                text = match text.strip_prefix('-') {
                    Some(digits) => format!("-{zeros}{digits}"),
                    None => format!("{zeros}{text}"),
                };
            }
            text
        };
        items.push(item);
        match i.checked_add(step) {
            Some(next) => i = next,
            None => break,
        }
    }
    Ok(items)
}
