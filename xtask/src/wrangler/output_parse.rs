//! Reading what wrangler printed: the JSON after its progress lines, D1's
//! error in either shape, and a screenful of the rest without colours or the
//! API token.

use serde_json::Value;

/// The JSON document at the end of wrangler's stdout: remote commands print
/// progress lines before it even with `--json`.
pub fn json_part(stdout: &str) -> &str {
    let trimmed = stdout.trim();
    let mut offset = 0;
    for line in trimmed.split_inclusive('\n') {
        if line.starts_with('[') || line.starts_with('{') {
            return &trimmed[offset..];
        }
        offset += line.len();
    }
    trimmed
}

/// What D1 said in wrangler's `{"error": …}`: locally the SQLite message is
/// the text; remotely the text is a generic "request failed" and the message
/// is in the first note, followed by ` [code: NNNN]`.
pub fn d1_error_text(failure: &Value) -> Option<String> {
    let error = failure.get("error")?;
    let note = error
        .pointer("/notes/0/text")
        .and_then(Value::as_str)
        .map(|note| match note.rfind(" [code: ") {
            Some(at) if note.ends_with(']') => &note[..at],
            _ => note,
        });
    note.or_else(|| error.get("text").and_then(Value::as_str))
        .map(str::to_owned)
}

/// At most a screenful of what wrangler said.
pub fn excerpt(text: &str) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.trim().is_empty() && !line.contains("Logs were written to"))
        .collect();
    let shown = lines
        .iter()
        .take(20)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let shown = crate::process::truncate(&shown, 4000).to_owned();
    if lines.len() > 20 {
        format!("{shown}\n(… {} more lines)", lines.len() - 20)
    } else {
        shown
    }
}

/// Removes ANSI escape sequences and the API token from text we are about to show.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    crate::process::redact(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_strips_ansi_sequences() {
        let raw = "\u{1b}[31m✘ \u{1b}[41;31m[\u{1b}[41;97mERROR\u{1b}[41;31m]\u{1b}[0m \u{1b}[1mCould not read file\u{1b}[0m";
        assert_eq!(clean(raw), "✘ [ERROR] Could not read file");
    }

    #[test]
    fn finds_the_json_after_progress_lines() {
        let stdout =
            "├ Checking if file needs uploading\n🌀 Uploading\n[\n  {\"results\": []}\n]\n";
        assert_eq!(json_part(stdout), "[\n  {\"results\": []}\n]");
        assert_eq!(json_part("  {\"a\": 1}\n"), "{\"a\": 1}");
    }

    #[test]
    fn reads_local_and_remote_error_shapes() {
        let local = serde_json::json!({"error": {"text": "no such table: x: SQLITE_ERROR"}});
        assert_eq!(
            d1_error_text(&local).unwrap(),
            "no such table: x: SQLITE_ERROR"
        );
        let remote = serde_json::json!({"error": {
            "text": "A request to the Cloudflare API (/accounts/a/d1/database/b/query) failed.",
            "notes": [{"text": "no such table: _migrations: SQLITE_ERROR [code: 7500]"}]
        }});
        assert_eq!(
            d1_error_text(&remote).unwrap(),
            "no such table: _migrations: SQLITE_ERROR"
        );
    }

    #[test]
    fn excerpt_keeps_twenty_lines() {
        let text: String = (0..30).map(|i| format!("line {i}\n")).collect();
        let shown = excerpt(&text);
        assert!(shown.contains("line 19") && !shown.contains("line 20"));
        assert!(shown.ends_with("(… 10 more lines)"));
    }
}
