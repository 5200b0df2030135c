//! Method + path (+ query) to a [`Route`], without the Workers runtime.

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /health`
    Health,
    /// `GET /tasks`, optionally `?status=…`
    Tasks { status: Option<String> },
    /// `GET /rooms/:room_id/access`
    RoomAccess { room_id: String },
}

/// Why a request has no route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No such path (404).
    NotFound,
    /// The path exists, but not for this method (405, with an `Allow` header).
    MethodNotAllowed { allow: &'static str },
    /// The path or query could not be decoded (400).
    BadRequest(String),
}

/// Routes a request. `path` is the URL's path (percent-encoded, as in the
/// URL), `query` the part after `?` without it.
pub fn route(method: &str, path: &str, query: Option<&str>) -> Result<Route, RouteError> {
    let path = match path.strip_suffix('/') {
        Some(trimmed) if !trimmed.is_empty() => trimmed,
        _ => path,
    };
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or(path).split('/').collect();
    let route = match segments[..] {
        ["health"] => Route::Health,
        ["tasks"] => Route::Tasks {
            status: query_param(query.unwrap_or(""), "status")?.filter(|s| !s.is_empty()),
        },
        ["rooms", room_id, "access"] if !room_id.is_empty() => Route::RoomAccess {
            room_id: percent_decode(room_id, false)?,
        },
        _ => return Err(RouteError::NotFound),
    };
    if method.eq_ignore_ascii_case("GET") {
        Ok(route)
    } else {
        Err(RouteError::MethodNotAllowed { allow: "GET" })
    }
}

/// The first value of `name` in a query string (`a=1&b=2`), decoded.
pub fn query_param(query: &str, name: &str) -> Result<Option<String>, RouteError> {
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if percent_decode(key, true)? == name {
            return percent_decode(value, true).map(Some);
        }
    }
    Ok(None)
}

/// Decodes `%XX` escapes (and, in a query, `+` as a space). A `%` not
/// followed by two hex digits is kept as it is; bytes that are not UTF-8
/// once decoded are a bad request.
pub fn percent_decode(text: &str, plus_is_space: bool) -> Result<String, RouteError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = match bytes.get(i + 1..i + 3) {
            Some(&[high, low]) if bytes[i] == b'%' => hex(high).zip(hex(low)),
            _ => None,
        };
        if let Some((high, low)) = escaped {
            out.push(high * 16 + low);
            i += 3;
            continue;
        }
        match bytes[i] {
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| RouteError::BadRequest(format!("{text:?} does not decode to UTF-8")))
}

fn hex(byte: u8) -> Option<u8> {
    (byte as char).to_digit(16).map(|digit| digit as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_the_three_paths() {
        assert_eq!(route("GET", "/health", None), Ok(Route::Health));
        assert_eq!(
            route("GET", "/tasks", None),
            Ok(Route::Tasks { status: None })
        );
        assert_eq!(
            route("GET", "/rooms/r1/access", None),
            Ok(Route::RoomAccess {
                room_id: "r1".into()
            })
        );
    }

    #[test]
    fn a_trailing_slash_is_the_same_path() {
        assert_eq!(route("GET", "/health/", None), Ok(Route::Health));
        assert_eq!(
            route("GET", "/rooms/r1/access/", None),
            Ok(Route::RoomAccess {
                room_id: "r1".into()
            })
        );
    }

    #[test]
    fn unknown_paths_are_not_found() {
        for path in [
            "/",
            "",
            "/healthz",
            "/tasks/1",
            "/rooms",
            "/rooms/r1",
            "/rooms//access",
            "/rooms/r1/access/x",
            "//health",
        ] {
            assert_eq!(
                route("GET", path, None),
                Err(RouteError::NotFound),
                "{path}"
            );
        }
    }

    #[test]
    fn other_methods_on_known_paths_are_not_allowed() {
        assert_eq!(
            route("POST", "/tasks", None),
            Err(RouteError::MethodNotAllowed { allow: "GET" })
        );
        assert_eq!(
            route("DELETE", "/rooms/r1/access", None),
            Err(RouteError::MethodNotAllowed { allow: "GET" })
        );
        // An unknown path is a 404 whatever the method.
        assert_eq!(route("POST", "/nope", None), Err(RouteError::NotFound));
    }

    #[test]
    fn the_status_filter_comes_from_the_query() {
        assert_eq!(
            route("GET", "/tasks", Some("status=open")),
            Ok(Route::Tasks {
                status: Some("open".into())
            })
        );
        assert_eq!(
            route(
                "GET",
                "/tasks",
                Some("limit=3&status=in+progress&status=done")
            ),
            Ok(Route::Tasks {
                status: Some("in progress".into())
            })
        );
        assert_eq!(
            route("GET", "/tasks", Some("status=")),
            Ok(Route::Tasks { status: None })
        );
        assert_eq!(
            route("GET", "/tasks", Some("state=open")),
            Ok(Route::Tasks { status: None })
        );
    }

    #[test]
    fn room_ids_are_percent_decoded() {
        assert_eq!(
            route("GET", "/rooms/team%20a%2Fb/access", None),
            Ok(Route::RoomAccess {
                room_id: "team a/b".into()
            })
        );
        // `+` is only a space in a query, not in a path.
        assert_eq!(
            route("GET", "/rooms/a+b/access", None),
            Ok(Route::RoomAccess {
                room_id: "a+b".into()
            })
        );
    }

    #[test]
    fn percent_decoding_keeps_stray_percents_and_rejects_bad_utf8() {
        assert_eq!(percent_decode("100%", false).unwrap(), "100%");
        assert_eq!(percent_decode("%zz%4", false).unwrap(), "%zz%4");
        assert_eq!(percent_decode("%C3%A9", false).unwrap(), "é");
        assert!(matches!(
            percent_decode("%FF", false),
            Err(RouteError::BadRequest(_))
        ));
        assert!(matches!(
            route("GET", "/rooms/%FF/access", None),
            Err(RouteError::BadRequest(_))
        ));
    }
}
