//! A tiny HTTP/1.1 client over `std::net`, for setting up the benchmark (register, create a pet)
//! and polling `/healthz`. Loopback only; one request per connection.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::time::Duration;

use anyhow::{Context, bail};

/// A complete response.
pub(super) struct Response {
    pub status: u16,
    pub head: String,
    pub body: String,
    /// Bytes on the wire: status line, headers and body.
    pub wire_bytes: usize,
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Sends one request to `127.0.0.1:port` and reads the whole answer.
pub(super) fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr(port), Duration::from_secs(2))
        .with_context(|| format!("connect to 127.0.0.1:{port}"))?;
    send(&mut stream, port, method, path, headers, body)
}

/// Like [`request`], but a refused connection is `Ok(None)` (the server is not listening yet).
pub(super) fn try_request(port: u16, method: &str, path: &str) -> anyhow::Result<Option<Response>> {
    match TcpStream::connect(addr(port)) {
        Ok(mut stream) => send(&mut stream, port, method, path, &[], None).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Ok(None),
        Err(e) => Err(e).context("connect"),
    }
}

fn send(
    stream: &mut TcpStream,
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> anyhow::Result<Response> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    stream.set_nodelay(true)?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Type: application/json\r\nContent-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    if let Some(b) = body {
        req.push_str(b);
    }
    stream.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let Some((head, rest)) = text.split_once("\r\n\r\n") else {
        bail!("no complete HTTP response from {method} {path}")
    };
    let status: u16 =
        head.split(' ').nth(1).and_then(|s| s.parse().ok()).with_context(|| format!("bad status line in {head:?}"))?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked { dechunk(rest) } else { rest.to_owned() };
    Ok(Response { status, head: head.to_owned(), body, wire_bytes: raw.len() })
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The string value of the first `"key":"value"` in a JSON text (enough for ids and tokens,
/// which contain no escapes).
pub(super) fn json_str(json: &str, key: &str) -> Option<String> {
    let needle = format!("\"{key}\"");
    let at = json.find(&needle)? + needle.len();
    let rest = json[at..].trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_json_strings() {
        let j = r#"{"access_token":"abc.def","user":{"id":"u1"},"id" : "p1"}"#;
        assert_eq!(json_str(j, "access_token").as_deref(), Some("abc.def"));
        assert_eq!(json_str(j, "id").as_deref(), Some("u1"));
        assert_eq!(json_str(j, "nope"), None);
        assert_eq!(dechunk("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"), "abcde");
    }
}
