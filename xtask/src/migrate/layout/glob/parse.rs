//! minimatch's parse of one pattern segment into tokens, quirks included.

use anyhow::{bail, Result};

use super::{unit, Segment, Token};

/// minimatch's `parse` of one segment, quirks included: it is what
/// wrangler runs. Two of them show in real patterns:
/// - a `]`, `)` or `|` outside a class is written before a `*`, `?`, `+`,
///   `@` or `!` just before it, so `*]1` means `]*1`;
/// - an unclosed `[` is a literal `[` followed by the rest parsed afresh
///   (which then may not start with a dot and may not be empty), and when
///   nothing or only `**` follows it, by the text `undefined`.
pub(super) fn parse_segment(segment: &str) -> Result<Segment> {
    let units: Vec<u16> = segment.encode_utf16().collect();
    Ok(match parse_units(&units)? {
        Parsed::Globstar => Segment::Globstar,
        Parsed::Empty => Segment::Literal(String::new()),
        Parsed::Tokens { magic: false, .. } => Segment::Literal(segment.to_owned()),
        Parsed::Tokens {
            tokens,
            magic: true,
        } => Segment::Magic(tokens),
    })
}

enum Parsed {
    Globstar,
    Empty,
    Tokens { tokens: Vec<Token>, magic: bool },
}

fn parse_units(units: &[u16]) -> Result<Parsed> {
    if units == [unit(b'*'), unit(b'*')] {
        return Ok(Parsed::Globstar);
    }
    if units.is_empty() {
        return Ok(Parsed::Empty);
    }
    let mut tokens: Vec<Token> = Vec::new();
    let mut magic = false;
    // A `*`, `?`, `+`, `@` or `!` not yet written: minimatch waits to see
    // whether a `(` (an extended glob) follows.
    let mut pending: Option<u16> = None;
    // The class being read: where its `[` is, in the pattern and in `tokens`.
    let mut class: Option<(usize, usize)> = None;
    let flush = |pending: &mut Option<u16>, tokens: &mut Vec<Token>, magic: &mut bool| match pending
        .take()
    {
        Some(c) if c == unit(b'*') => {
            tokens.push(Token::Star);
            *magic = true;
        }
        Some(c) if c == unit(b'?') => {
            tokens.push(Token::Any);
            *magic = true;
        }
        Some(c) => tokens.push(Token::Unit(c)),
        None => {}
    };
    for (i, &c) in units.iter().enumerate() {
        if let Some((open, _)) = class {
            if c == unit(b']') && i != open + 1 {
                class = None;
                magic = true;
                tokens.push(class_token(&units[open + 1..i]));
            }
            continue;
        }
        match c {
            c if [b'?', b'*', b'+', b'@', b'!'].iter().any(|s| c == unit(*s)) => {
                flush(&mut pending, &mut tokens, &mut magic);
                pending = Some(c);
            }
            c if c == unit(b'(') && pending.is_some() => {
                // Extended globs (`@(a|b)`, `!(x)`, `*(…)`): minimatch
                // supports them, this matcher does not, and guessing would
                // list other files than wrangler runs.
                bail!(
                    "extended glob syntax such as `@(a|b)` or `!(x)` is not supported here: \
                     use `{{a,b}}` or plain wildcards"
                );
            }
            c if c == unit(b']') || c == unit(b')') || c == unit(b'|') || c == unit(b'(') => {
                tokens.push(Token::Unit(c));
            }
            c if c == unit(b'[') => {
                flush(&mut pending, &mut tokens, &mut magic);
                class = Some((i, tokens.len()));
            }
            c => {
                flush(&mut pending, &mut tokens, &mut magic);
                tokens.push(Token::Unit(c));
            }
        }
    }
    if let Some((open, at)) = class {
        tokens.truncate(at);
        tokens.push(Token::Unit(unit(b'[')));
        match parse_units(&units[open + 1..])? {
            Parsed::Tokens {
                tokens: rest,
                magic: rest_magic,
            } => {
                tokens.extend(rest);
                magic |= rest_magic;
            }
            // minimatch appends `sp[0]` of a result that is not an array.
            Parsed::Empty | Parsed::Globstar => {
                tokens.extend("undefined".encode_utf16().map(Token::Unit));
            }
        }
    }
    flush(&mut pending, &mut tokens, &mut magic);
    // The regular expression may not match a dot first when it starts with
    // `[` (a wildcard or class) or `(` (a class that matches nothing), unless
    // the pattern itself starts with a dot.
    let guard_dot = matches!(
        tokens.first(),
        Some(Token::Any | Token::Star | Token::Class { .. } | Token::Never)
    ) && units.first() != Some(&unit(b'.'));
    if !tokens.is_empty() && magic {
        tokens.insert(0, Token::NotEmpty);
    }
    if guard_dot {
        tokens.insert(0, Token::NotDot);
    }
    Ok(Parsed::Tokens { tokens, magic })
}

/// A closed class's token from what is between its brackets. minimatch
/// checks the class with its leading `!` as written, then compiles it with
/// `^`; a reversed range in either reading means nothing matches.
fn class_token(content: &[u16]) -> Token {
    let (negated, rest) = match content.first() {
        Some(&c) if c == unit(b'!') || c == unit(b'^') => (true, &content[1..]),
        _ => (false, content),
    };
    let checked = match content.first() {
        Some(&c) if c == unit(b'^') => &content[1..],
        _ => content,
    };
    match (class_ranges(rest), class_ranges(checked)) {
        (Some(ranges), Some(_)) => Token::Class { negated, ranges },
        _ => Token::Never,
    }
}

/// A JavaScript class's members (`a-z` a range, `-` first or last itself);
/// `None` for a reversed range, which is an error there.
fn class_ranges(content: &[u16]) -> Option<Vec<(u16, u16)>> {
    let mut ranges = Vec::new();
    let mut p = 0;
    while p < content.len() {
        if p + 2 < content.len() && content[p + 1] == unit(b'-') {
            let (lo, hi) = (content[p], content[p + 2]);
            if lo > hi {
                return None;
            }
            ranges.push((lo, hi));
            p += 3;
        } else {
            ranges.push((content[p], content[p]));
            p += 1;
        }
    }
    Some(ranges)
}
