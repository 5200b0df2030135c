//! wrangler's order of migration paths (`compareMigrationPaths`): segment by
//! segment, by leading number and then by text, with JavaScript's `parseInt`.

use std::cmp::Ordering;

/// wrangler's `compareMigrationPaths`: segment by segment, the leading
/// number (JavaScript's `parseInt` of the text before the first `_`;
/// numbered before unnumbered), then the segment's text (compared as
/// JavaScript compares strings, by UTF-16 code units); a path that is a
/// prefix of another first.
pub fn compare_paths(a: &str, b: &str) -> Ordering {
    let a: Vec<&str> = a.split('/').collect();
    let b: Vec<&str> = b.split('/').collect();
    for (x, y) in a.iter().zip(&b) {
        let order = compare_segments(x, y);
        if order != Ordering::Equal {
            return order;
        }
    }
    a.len().cmp(&b.len())
}

fn compare_segments(a: &str, b: &str) -> Ordering {
    let x = leading_number(a);
    let y = leading_number(b);
    // NaN != NaN, as in wrangler: two unnumbered segments fall through to
    // the text; an infinite number (over 308 digits) counts as unnumbered.
    if x != y {
        match (x.is_finite(), y.is_finite()) {
            (true, true) => return x.total_cmp(&y),
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// wrangler's `leadingMigrationNumber` of one segment: `parseInt(segment.split("_")[0], 10)`.
fn leading_number(segment: &str) -> f64 {
    js_parse_int(segment.split('_').next().unwrap_or(segment))
}

/// JavaScript's `parseInt(text, 10)`: leading white space, a sign, then
/// decimal digits; NaN without digits. Large numbers round as doubles do.
fn js_parse_int(text: &str) -> f64 {
    let text = text.trim_start_matches(is_js_whitespace);
    let (negative, text) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return f64::NAN;
    }
    let value: f64 = text[..digits].parse().unwrap_or(f64::INFINITY);
    if negative {
        -value
    } else {
        value
    }
}

/// JavaScript's white space and line terminators, which `parseInt` skips.
fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{a0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200a}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202f}'
                | '\u{205f}'
                | '\u{3000}'
                | '\u{feff}'
    )
}
