//! Errors in Cloudflare's shape ([`ApiError`]) and SQLite errors worded as D1 words them.

/// An error in Cloudflare's shape: HTTP status, error code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: u32,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: u32, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A failing SQL statement: D1 answers HTTP 400 with code 7500.
    pub fn sql(message: impl Into<String>) -> Self {
        ApiError::new(400, 7500, message)
    }

    /// Something went wrong inside the double itself.
    pub fn internal(message: impl std::fmt::Display) -> Self {
        ApiError::new(500, 7500, format!("Internal error: {message}"))
    }
}

/// The name SQLite gives a primary result code, as D1 appends it to messages.
fn code_name(primary: i32) -> &'static str {
    use rusqlite::ffi;
    match primary {
        ffi::SQLITE_ERROR => "SQLITE_ERROR",
        ffi::SQLITE_INTERNAL => "SQLITE_INTERNAL",
        ffi::SQLITE_PERM => "SQLITE_PERM",
        ffi::SQLITE_ABORT => "SQLITE_ABORT",
        ffi::SQLITE_BUSY => "SQLITE_BUSY",
        ffi::SQLITE_LOCKED => "SQLITE_LOCKED",
        ffi::SQLITE_NOMEM => "SQLITE_NOMEM",
        ffi::SQLITE_READONLY => "SQLITE_READONLY",
        ffi::SQLITE_INTERRUPT => "SQLITE_INTERRUPT",
        ffi::SQLITE_IOERR => "SQLITE_IOERR",
        ffi::SQLITE_CORRUPT => "SQLITE_CORRUPT",
        ffi::SQLITE_NOTFOUND => "SQLITE_NOTFOUND",
        ffi::SQLITE_FULL => "SQLITE_FULL",
        ffi::SQLITE_CANTOPEN => "SQLITE_CANTOPEN",
        ffi::SQLITE_PROTOCOL => "SQLITE_PROTOCOL",
        ffi::SQLITE_SCHEMA => "SQLITE_SCHEMA",
        ffi::SQLITE_TOOBIG => "SQLITE_TOOBIG",
        ffi::SQLITE_CONSTRAINT => "SQLITE_CONSTRAINT",
        ffi::SQLITE_MISMATCH => "SQLITE_MISMATCH",
        ffi::SQLITE_MISUSE => "SQLITE_MISUSE",
        ffi::SQLITE_NOLFS => "SQLITE_NOLFS",
        ffi::SQLITE_AUTH => "SQLITE_AUTH",
        ffi::SQLITE_RANGE => "SQLITE_RANGE",
        ffi::SQLITE_NOTADB => "SQLITE_NOTADB",
        _ => "SQLITE_ERROR",
    }
}

/// Bytes of whitespace and comments before the first token of `sql`.
fn leading_trivia(sql: &str) -> usize {
    let b = sql.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            match sql[i + 2..].find("*/") {
                Some(end) => i += 2 + end + 2,
                None => return b.len(),
            }
        } else {
            return i;
        }
    }
}

/// D1's message for a SQLite error: `no such table: x: SQLITE_ERROR`,
/// `near "SELEC": syntax error at offset 0: SQLITE_ERROR` (offsets count from the statement's
/// first token).
pub(super) fn sql_error(e: &rusqlite::Error) -> ApiError {
    match e {
        rusqlite::Error::SqlInputError {
            error,
            msg,
            offset,
            sql,
        } => {
            let offset = (*offset).max(0) as usize;
            let offset = offset.saturating_sub(leading_trivia(sql).min(offset));
            ApiError::sql(format!(
                "{msg} at offset {offset}: {}",
                code_name(error.extended_code & 0xff)
            ))
        }
        rusqlite::Error::SqliteFailure(error, msg) => {
            let text = msg.clone().unwrap_or_else(|| error.to_string());
            ApiError::sql(format!("{text}: {}", code_name(error.extended_code & 0xff)))
        }
        other => ApiError::sql(format!("{other}: SQLITE_ERROR")),
    }
}
