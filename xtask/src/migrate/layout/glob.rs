//! The glob wrangler matches migration paths with: minimatch 5.1.6 (the
//! version wrangler bundles) with `{ dot: false }`, and the brace expansion
//! it applies first, reproduced quirks and all, so that the runner lists
//! exactly the files wrangler would run.

use anyhow::{bail, Context, Result};

use super::ORM_FILE;

/// minimatch's limit on a pattern's length (in UTF-16 units).
const MAX_PATTERN_LENGTH: usize = 64 * 1024;

/// How many patterns braces may expand to: minimatch has no limit, but a
/// pattern like `{1..100000000}` would only exhaust memory.
const EXPANSION_LIMIT: usize = 10_000;

/// A compiled pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Glob {
    /// A leading `!` flips the match (minimatch's negation).
    negate: bool,
    /// A pattern starting with `#` is a comment to minimatch: it matches nothing.
    comment: bool,
    /// The empty pattern matches only the empty path.
    empty: bool,
    /// The brace expansion's patterns, each split into segments; a path
    /// matches when one of them does.
    pub(super) alternatives: Vec<Vec<Segment>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Segment {
    /// `**` alone: any number of segments, none starting with a dot.
    Globstar,
    /// A segment without wildcards: equal text.
    Literal(String),
    /// A segment with `*`, `?` or `[…]`, matched unit by unit.
    Magic(Vec<Token>),
}

/// One element of a magic segment. minimatch compiles segments into
/// JavaScript regular expressions without the `u` flag, which match UTF-16
/// code units, so these do too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Token {
    Unit(u16),
    /// `?`
    Any,
    /// `*`
    Star,
    /// `[…]`, `[!…]`, `[^…]`
    Class {
        negated: bool,
        ranges: Vec<(u16, u16)>,
    },
    /// A class with a reversed range, which minimatch turns into a
    /// regular expression that matches nothing.
    Never,
    /// `(?!\.)`: the next unit, if any, is not a dot.
    NotDot,
    /// `(?=.)`: a unit follows, and not a line terminator.
    NotEmpty,
}

impl Token {
    fn matches(&self, unit: u16) -> bool {
        match self {
            Token::Unit(u) => *u == unit,
            Token::Any | Token::Star => true,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&unit)) != *negated
            }
            Token::Never | Token::NotDot | Token::NotEmpty => false,
        }
    }
}

impl Glob {
    pub(super) fn new(pattern: &str) -> Result<Glob> {
        if pattern.contains('\0') {
            bail!("a pattern cannot contain a NUL character");
        }
        if pattern.contains('\\') {
            // wrangler turns every backslash into a slash before matching
            // (see `normalize_path`), so none can reach minimatch as an escape.
            bail!("a pattern cannot contain a backslash: pass it through resolve_pattern first");
        }
        if pattern.encode_utf16().count() > MAX_PATTERN_LENGTH {
            bail!("the pattern is too long");
        }
        let mut glob = Glob {
            negate: false,
            comment: false,
            empty: false,
            alternatives: Vec::new(),
        };
        if pattern.starts_with('#') {
            glob.comment = true;
            return Ok(glob);
        }
        if pattern.is_empty() {
            glob.empty = true;
            return Ok(glob);
        }
        let bangs = pattern.bytes().take_while(|b| *b == b'!').count();
        glob.negate = bangs % 2 == 1;
        let rest = &pattern[bangs..];
        let expanded = if has_brace_set(rest) {
            expand_top(rest)?
        } else {
            vec![rest.to_owned()]
        };
        for alternative in expanded {
            let segments = split_slashes(&alternative)
                .into_iter()
                .map(parse_segment)
                .collect::<Result<Vec<_>>>()?;
            glob.alternatives.push(segments);
        }
        Ok(glob)
    }

    /// minimatch's `match(path, partial)`. With `partial`, whether something
    /// under the folder `path` could match (for pruning the walk).
    pub(super) fn matches(&self, path: &str, partial: bool) -> bool {
        if self.comment {
            return false;
        }
        if self.empty {
            return path.is_empty();
        }
        if path == "/" && partial {
            return true;
        }
        let file = split_slashes(path);
        let hit = self
            .alternatives
            .iter()
            .any(|pattern| match_one(&file, pattern, partial));
        hit != self.negate
    }

    /// How a new migration's name is built from the first alternative that
    /// says: literal folders stay, `**` is left out, the first wildcard
    /// folder becomes the migration's folder, and the file is the fixed
    /// name, or the wildcard file name with its one `*` replaced by the stem.
    pub(super) fn shape(&self) -> Option<Shape> {
        if self.comment || self.empty || self.negate {
            return None;
        }
        'alternatives: for alternative in &self.alternatives {
            let Some((last, folders)) = alternative.split_last() else {
                continue;
            };
            let mut shape = Shape {
                before: Vec::new(),
                stem_folder: false,
                after: Vec::new(),
                file: FileShape::StemWith(String::new(), ".sql".to_owned()),
            };
            // Where a `**` folder was: it can hold the migration's folder
            // when nothing else does (`**/migration.sql`).
            let mut globstar_at = None;
            for folder in folders {
                match folder {
                    Segment::Globstar if !shape.stem_folder => {
                        globstar_at.get_or_insert(shape.before.len());
                    }
                    Segment::Globstar => {}
                    Segment::Literal(text) if shape.stem_folder => shape.after.push(text.clone()),
                    Segment::Literal(text) => shape.before.push(text.clone()),
                    Segment::Magic(_) if shape.stem_folder => continue 'alternatives,
                    Segment::Magic(_) => shape.stem_folder = true,
                }
            }
            let one_star = match last {
                Segment::Magic(tokens) => one_star(tokens),
                _ => None,
            };
            if let (Segment::Literal(_), false, Some(at)) = (last, shape.stem_folder, globstar_at) {
                shape.after = shape.before.split_off(at);
                shape.stem_folder = true;
            }
            shape.file = match (last, shape.stem_folder) {
                // Every migration would be the same file.
                (Segment::Literal(_), false) => continue,
                (Segment::Literal(text), true) => FileShape::Fixed(text.clone()),
                (_, true) => match one_star {
                    Some((before, after)) => FileShape::Fixed(format!("{before}migration{after}")),
                    None => FileShape::Fixed(ORM_FILE.to_owned()),
                },
                (_, false) => match one_star {
                    Some((before, after)) => FileShape::StemWith(before, after),
                    None => FileShape::StemWith(String::new(), ".sql".to_owned()),
                },
            };
            return Some(shape);
        }
        None
    }
}

/// A segment's text around its only wildcard, when that is one `*`.
fn one_star(tokens: &[Token]) -> Option<(String, String)> {
    let tokens: Vec<Token> = tokens
        .iter()
        .filter(|t| !matches!(t, Token::NotDot | Token::NotEmpty))
        .cloned()
        .collect();
    let star = tokens.iter().position(|t| *t == Token::Star)?;
    let text = |tokens: &[Token]| -> Option<String> {
        let units = tokens
            .iter()
            .map(|t| match t {
                Token::Unit(u) => Some(*u),
                _ => None,
            })
            .collect::<Option<Vec<u16>>>()?;
        String::from_utf16(&units).ok()
    };
    Some((text(&tokens[..star])?, text(&tokens[star + 1..])?))
}

/// See [`Glob::shape`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Shape {
    before: Vec<String>,
    pub(super) stem_folder: bool,
    after: Vec<String>,
    file: FileShape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum FileShape {
    Fixed(String),
    /// The stem between these.
    StemWith(String, String),
}

impl Shape {
    pub(super) fn render(&self, stem: &str) -> String {
        let mut parts = self.before.clone();
        if self.stem_folder {
            parts.push(stem.to_owned());
        }
        parts.extend(self.after.iter().cloned());
        parts.push(match &self.file {
            FileShape::Fixed(name) => name.clone(),
            FileShape::StemWith(before, after) => format!("{before}{stem}{after}"),
        });
        parts.join("/")
    }
}

/// JavaScript's `text.split(/\/+/)`.
fn split_slashes(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            parts.push(&text[start..i]);
            while i < bytes.len() && bytes[i] == b'/' {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// minimatch's `parse` of one segment, quirks included: it is what
/// wrangler runs. Two of them show in real patterns:
/// - a `]`, `)` or `|` outside a class is written before a `*`, `?`, `+`,
///   `@` or `!` just before it, so `*]1` means `]*1`;
/// - an unclosed `[` is a literal `[` followed by the rest parsed afresh
///   (which then may not start with a dot and may not be empty), and when
///   nothing or only `**` follows it, by the text `undefined`.
fn parse_segment(segment: &str) -> Result<Segment> {
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

fn unit(c: u8) -> u16 {
    u16::from(c)
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

/// Whether a magic segment matches a name, as its JavaScript regular
/// expression does: a pass over the tokens keeping every position in the
/// name that the tokens so far can reach.
fn magic_matches(tokens: &[Token], name: &str) -> bool {
    let name: Vec<u16> = name.encode_utf16().collect();
    let mut reach = vec![false; name.len() + 1];
    reach[0] = true;
    for token in tokens {
        let mut next = vec![false; name.len() + 1];
        match token {
            Token::Star => {
                let mut any = false;
                for (n, slot) in next.iter_mut().enumerate() {
                    any |= reach[n];
                    *slot = any;
                }
            }
            Token::NotDot => {
                for n in 0..=name.len() {
                    next[n] = reach[n] && name.get(n) != Some(&unit(b'.'));
                }
            }
            Token::NotEmpty => {
                for n in 0..=name.len() {
                    next[n] = reach[n] && name.get(n).is_some_and(|c| !is_line_terminator_unit(*c));
                }
            }
            token => {
                for n in 0..name.len() {
                    next[n + 1] = reach[n] && token.matches(name[n]);
                }
            }
        }
        reach = next;
    }
    reach[name.len()]
}

/// JavaScript's `.`, which `(?=.)` needs, matches any unit but these.
fn is_line_terminator_unit(c: u16) -> bool {
    c == unit(b'\n') || c == unit(b'\r') || c == 0x2028 || c == 0x2029
}

/// A segment minimatch's `**` never passes over (with `dot: false`).
fn is_dot_segment(segment: &str) -> bool {
    segment.starts_with('.')
}

/// minimatch's `matchOne`.
fn match_one(file: &[&str], pattern: &[Segment], partial: bool) -> bool {
    let (mut fi, mut pi) = (0, 0);
    while fi < file.len() && pi < pattern.len() {
        match &pattern[pi] {
            Segment::Globstar => {
                let rest = pi + 1;
                if rest == pattern.len() {
                    // A trailing ** takes all the rest, but not dot segments.
                    return !file[fi..].iter().any(|f| is_dot_segment(f));
                }
                let mut fr = fi;
                while fr < file.len() {
                    if match_one(&file[fr..], &pattern[rest..], partial) {
                        return true;
                    }
                    if is_dot_segment(file[fr]) {
                        break;
                    }
                    fr += 1;
                }
                // Out of path with pattern left: a folder on the way.
                return partial && fr == file.len();
            }
            Segment::Literal(text) => {
                if file[fi] != text {
                    return false;
                }
            }
            Segment::Magic(tokens) => {
                if !magic_matches(tokens, file[fi]) {
                    return false;
                }
            }
        }
        fi += 1;
        pi += 1;
    }
    if fi == file.len() && pi == pattern.len() {
        true
    } else if fi == file.len() {
        partial
    } else {
        fi + 1 == file.len() && file[fi].is_empty()
    }
}

/// minimatch's test for whether brace expansion could apply:
/// `/\{(?:(?!\{).)*\}/`.
fn has_brace_set(text: &str) -> bool {
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
fn expand_top(text: &str) -> Result<Vec<String>> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matcher_follows_minimatch() {
        // (pattern, path, partial, matches)
        let cases: &[(&str, &str, bool, bool)] = &[
            ("*.sql", "0001_a.sql", false, true),
            ("*.sql", ".hidden.sql", false, false),
            ("*.sql", "a/b.sql", false, false),
            ("*.sql", "X.SQL", false, false),
            ("*.sql", "\n.sql", false, false),
            ("*.sql", "meta", true, false),
            ("*.sql", "odd.sql", true, true),
            (".*.sql", ".hidden.sql", false, true),
            ("*/migration.sql", "0001_a/migration.sql", false, true),
            ("*/migration.sql", ".git/migration.sql", false, false),
            ("*/migration.sql", "meta", true, true),
            ("*/migration.sql", ".git", true, false),
            ("*/migration.sql", "a/b", true, false),
            ("**/*.sql", "0001.sql", false, true),
            ("**/*.sql", "a/b/c/0001.sql", false, true),
            ("**/*.sql", "a/.b/c.sql", false, false),
            ("**/*.sql", "node_modules", true, true),
            ("**/*.sql", ".git", true, false),
            ("**", "a/b/c", false, true),
            ("**", "a/.b/c", false, false),
            ("a/**", "a", false, false),
            ("{a,b}/migration.sql", "b/migration.sql", false, true),
            ("0{1..3}_*.sql", "02_x.sql", false, true),
            ("0{1..3}_*.sql", "04_x.sql", false, false),
            ("[0-9]*/migration.sql", "2_x/migration.sql", false, true),
            ("[0-9]*/migration.sql", "x/migration.sql", false, false),
            ("[!0-9]*.sql", "x.sql", false, true),
            ("[!0-9]*.sql", ".x.sql", false, false),
            ("[^0-9]*.sql", "5.sql", false, false),
            ("[z-a]*.sql", "z.sql", false, false),
            ("[]]x", "]x", false, true),
            ("?.sql", "a.sql", false, true),
            ("?.sql", "ab.sql", false, false),
            ("?.sql", "\u{1f600}.sql", false, false),
            ("??.sql", "\u{1f600}.sql", false, true),
            ("[.]*", ".a", false, false),
            // minimatch writes a `]` before the wildcard just ahead of it.
            ("*]1", "-]1", false, false),
            ("*]1", "]-1", false, true),
            // An unclosed class: a literal `[`, then the rest afresh (or
            // `undefined` when nothing follows).
            ("?[", "m[", false, false),
            ("?[", "m[undefined", false, true),
            ("0[*", "0[x", false, true),
            ("0[*", "0[", false, false),
            ("0[*", "0[.x", false, false),
            ("[**", "[**", false, true),
            ("[**", "[ab", false, false),
            // Comments match nothing; `!` negates.
            ("#*.sql", "#a.sql", false, false),
            ("!*.sql", "a.sql", false, false),
            ("!*.sql", "a.txt", false, true),
            ("!*.sql", "sub", true, true),
        ];
        for (pattern, path, partial, want) in cases {
            let glob = Glob::new(pattern).unwrap();
            assert_eq!(
                glob.matches(path, *partial),
                *want,
                "{pattern:?} {path:?} partial={partial}"
            );
        }
    }

    #[test]
    fn braces_expand_as_brace_expansion_does() {
        let cases: &[(&str, &[&str])] = &[
            ("a{b,c}d", &["abd", "acd"]),
            ("{a,b}{c,d}", &["ac", "ad", "bc", "bd"]),
            ("a{b}c", &["a{b}c"]),
            ("{a,b}}", &["a}", "b}"]),
            ("{{a,b}", &["{a", "{b"]),
            ("{,}", &[]),
            ("a{,}b", &["ab", "ab"]),
            ("a{1..3}b", &["a1b", "a2b", "a3b"]),
            ("{09..11}", &["09", "10", "11"]),
            ("{-01..2}", &["-01", "000", "001", "002"]),
            ("{3..1}", &["3", "2", "1"]),
            ("{4..0..2}", &["4", "2", "0"]),
            ("{a..e..2}", &["a", "c", "e"]),
            ("{a..9}", &["{a..9}"]),
            ("${a,b}", &["${a,b}"]),
            ("x{{a,b}}y", &["x{a}y", "x{b}y"]),
            ("{},a}b", &["{},a}b"]),
            (
                "a{b,c{d,e},{f,g}h}x",
                &["abx", "acdx", "acex", "afhx", "aghx"],
            ),
            ("z{a,b},c}d", &["za,c}d", "zb,c}d"]),
            ("{x}/*.sql", &["{x}/*.sql"]),
        ];
        for (pattern, want) in cases {
            assert_eq!(expand_top(pattern).unwrap(), *want, "{pattern:?}");
        }
        let err = expand_top("{1..100000}").unwrap_err();
        assert!(format!("{err:#}").contains("more than"), "{err:#}");
        assert!(expand_top("{1..3..0}").is_err());
    }
}
