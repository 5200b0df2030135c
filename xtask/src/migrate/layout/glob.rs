//! The glob wrangler matches migration paths with: minimatch 5.1.6 (the
//! version wrangler bundles) with `{ dot: false }`, and the brace expansion
//! it applies first, reproduced quirks and all, so that the runner lists
//! exactly the files wrangler would run.

use anyhow::{bail, Result};

use super::ORM_FILE;

mod braces;
mod parse;

use braces::{expand_top, has_brace_set};
use parse::parse_segment;

/// minimatch's limit on a pattern's length (in UTF-16 units).
const MAX_PATTERN_LENGTH: usize = 64 * 1024;

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

fn unit(c: u8) -> u16 {
    u16::from(c)
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

#[cfg(test)]
mod tests;
