//! Unit tests for the wrangler-compatible glob (minimatch and brace expansion).

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
