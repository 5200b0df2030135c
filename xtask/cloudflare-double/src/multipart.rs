//! A small `multipart/form-data` parser for worker uploads.

/// One part of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

/// The `boundary` parameter of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut pieces = content_type.split(';');
    let kind = pieces.next()?.trim();
    if !kind.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    pieces.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        if k.trim().eq_ignore_ascii_case("boundary") {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (!v.is_empty()).then(|| v.to_string())
        } else {
            None
        }
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    (from..=hay.len() - needle.len()).find(|&i| &hay[i..i + needle.len()] == needle)
}

/// A `name="value"` parameter of a `Content-Disposition` header.
fn disposition_param(header: &str, key: &str) -> Option<String> {
    let bytes = header.as_bytes();
    let mut i = 0;
    while let Some(pos) = header[i..].find(key) {
        let start = i + pos;
        let before_ok = start == 0 || matches!(bytes[start - 1], b';' | b' ' | b'\t');
        let after = start + key.len();
        if before_ok && bytes.get(after) == Some(&b'=') {
            let rest = &header[after + 1..];
            if let Some(quoted) = rest.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => value.extend(chars.next()),
                        '"' => return Some(value),
                        c => value.push(c),
                    }
                }
                return Some(value);
            }
            return Some(rest.split(';').next().unwrap_or("").trim().to_string());
        }
        i = after;
    }
    None
}

/// Splits a multipart body into its parts.
pub fn parse(content_type: &str, body: &[u8]) -> Result<Vec<Part>, String> {
    let boundary =
        boundary(content_type).ok_or("expected a multipart/form-data body with a boundary")?;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut pos = find(body, &delimiter, 0).ok_or("multipart body has no boundary")?;
    let mut parts = Vec::new();
    loop {
        pos += delimiter.len();
        if body.get(pos..pos + 2) == Some(b"--") {
            return Ok(parts);
        }
        // Skip transport padding and the CRLF after the delimiter.
        while matches!(body.get(pos), Some(b' ') | Some(b'\t')) {
            pos += 1;
        }
        if body.get(pos..pos + 2) == Some(b"\r\n") {
            pos += 2;
        } else if body.get(pos) == Some(&b'\n') {
            pos += 1;
        } else {
            return Err("malformed multipart delimiter".into());
        }
        let (headers_end, sep_len) = match (find(body, b"\r\n\r\n", pos), find(body, b"\n\n", pos))
        {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => return Err("multipart part without headers".into()),
        };
        let headers = String::from_utf8_lossy(&body[pos..headers_end]).into_owned();
        let data_start = headers_end + sep_len;
        let mut next_delim = Vec::with_capacity(delimiter.len() + 2);
        next_delim.extend_from_slice(b"\r\n");
        next_delim.extend_from_slice(&delimiter);
        let (data_end, next) = match find(body, &next_delim, data_start) {
            Some(i) => (i, i + 2),
            None => {
                let mut lf = b"\n".to_vec();
                lf.extend_from_slice(&delimiter);
                let i = find(body, &lf, data_start).ok_or("multipart part is not terminated")?;
                (i, i + 1)
            }
        };
        let mut name = None;
        let mut filename = None;
        let mut part_type = None;
        for line in headers.lines() {
            let Some((k, v)) = line.split_once(':') else {
                continue;
            };
            let k = k.trim();
            if k.eq_ignore_ascii_case("content-disposition") {
                name = disposition_param(v, "name");
                filename = disposition_param(v, "filename");
            } else if k.eq_ignore_ascii_case("content-type") {
                part_type = Some(v.trim().to_string());
            }
        }
        parts.push(Part {
            name: name.ok_or("multipart part without a name")?,
            filename,
            content_type: part_type,
            data: body[data_start..data_end].to_vec(),
        });
        pos = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_undici_style_form() {
        let body = b"------formdata-undici-1\r\nContent-Disposition: form-data; name=\"metadata\"; filename=\"blob\"\r\nContent-Type: application/json\r\n\r\n{\"main_module\":\"index.js\"}\r\n------formdata-undici-1\r\nContent-Disposition: form-data; name=\"index.js\"; filename=\"index.js\"\r\nContent-Type: application/javascript+module\r\n\r\nexport default {};\r\n\r\n------formdata-undici-1--\r\n";
        let parts =
            parse("multipart/form-data; boundary=----formdata-undici-1", body).expect("parse");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "metadata");
        assert_eq!(parts[0].filename.as_deref(), Some("blob"));
        assert_eq!(parts[0].data, b"{\"main_module\":\"index.js\"}");
        assert_eq!(parts[1].name, "index.js");
        assert_eq!(
            parts[1].content_type.as_deref(),
            Some("application/javascript+module")
        );
        assert_eq!(parts[1].data, b"export default {};\r\n");
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("application/json", b"{}").is_err());
        assert!(parse("multipart/form-data; boundary=x", b"nothing here").is_err());
        assert!(parse("multipart/form-data; boundary=x", b"--x\r\nno headers").is_err());
    }
}
