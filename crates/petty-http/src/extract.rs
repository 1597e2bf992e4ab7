//! Extractors that turn a malformed request into a 4xx naming the field and the rule, in the
//! API's error shape, instead of axum's plain-text rejections; and [`ClientIp`], the client's
//! address as the rate limits and sign-in throttles see it.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::header;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// A JSON body, read with the field path of any error.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim();
                mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                ErrorCode::UnsupportedMediaType,
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(body_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(ErrorCode::PayloadTooLarge, "the request body is larger than this server accepts")
    } else {
        ApiError::new(ErrorCode::MalformedRequest, format!("the request body could not be read: {rejection}"))
    }
}

/// Parses a JSON object, saying where it broke: a syntax error is a 400; a value of the wrong
/// type, a missing or an unknown field is a 422 that names the field.
///
/// Every body the API takes is an object. serde would also fill a struct from an array, field
/// by field in order (`[null]` read as a body whose first field is null), so an array is
/// refused before it gets there, as a 422 on `body`.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) == Some(&b'[') {
        return Err(ApiError::field(
            ErrorCode::ValidationFailed,
            "body",
            "type",
            "body: must be a JSON object, not an array",
        ));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let result: Result<T, _> = serde_path_to_error::deserialize(&mut de);
    if result.is_ok() {
        // Trailing garbage after the value is a syntax error too.
        de.end().map_err(|e| ApiError::new(ErrorCode::MalformedRequest, format!("the body is not valid JSON: {e}")))?;
    }
    result.map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Syntax
            | serde_json::error::Category::Eof
            | serde_json::error::Category::Io => {
                ApiError::new(ErrorCode::MalformedRequest, format!("the body is not valid JSON: {inner}"))
            }
            serde_json::error::Category::Data => {
                let message = strip_position(&inner.to_string());
                let (field, rule) = if let Some(name) = between(&message, "missing field `", "`") {
                    (join_path(&path, name), "required")
                } else if let Some(name) = between(&message, "unknown field `", "`") {
                    // The path already ends at the unknown key.
                    let field = if path.ends_with(name) { path.clone() } else { join_path(&path, name) };
                    (field, "unknown_field")
                } else {
                    (if path == "." { "body".to_owned() } else { path }, "type")
                };
                ApiError::field(ErrorCode::ValidationFailed, &field, rule, format!("{field}: {message}"))
            }
        }
    })
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = &s[s.find(start)? + start.len()..];
    Some(&rest[..rest.find(end)?])
}

fn join_path(path: &str, name: &str) -> String {
    if path == "." || path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

/// serde_json appends " at line 1 column 17"; the field path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Query parameters; a bad one is a 422 naming it.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state).await.map(|Query(v)| ApiQuery(v)).map_err(|e: QueryRejection| {
            let text = e.body_text();
            let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text).to_owned();
            // "name: why", where serde names the parameter; an unexpected one says
            // "unknown field `name`, expected one of …".
            let (field, why) = match detail.split_once(':') {
                Some((f, why)) if !f.trim().contains(' ') => (f.trim(), why.trim()),
                _ => ("", detail.as_str()),
            };
            let rule = if why.starts_with("unknown field") { "unknown_field" } else { "type" };
            ApiError::field(
                ErrorCode::ValidationFailed,
                if field.is_empty() { "query" } else { field },
                rule,
                format!("query string: {detail}"),
            )
        })
    }
}

/// Path parameters; an id that is not a UUID is a 404 (nothing can live there).
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(v)| ApiPath(v)).map_err(|e: PathRejection| {
            ApiError::new(ErrorCode::NotFound, format!("no such resource: {}", e.body_text())).into_response()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        weight_kg: Option<f64>,
        location: Option<Loc>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Loc {
        lat: f64,
    }

    #[test]
    fn errors_name_the_field() {
        let e = parse_json::<Body>(br#"{"name": "x", "weight_kg": "heavy"}"#).unwrap_err();
        assert_eq!(
            (e.code, e.details[0].field.as_str(), e.details[0].rule.as_str()),
            (ErrorCode::ValidationFailed, "weight_kg", "type")
        );
        let e = parse_json::<Body>(br#"{"weight_kg": 3}"#).unwrap_err();
        assert_eq!((e.details[0].field.as_str(), e.details[0].rule.as_str()), ("name", "required"));
        let e = parse_json::<Body>(br#"{"name": "x", "wieght": 3}"#).unwrap_err();
        assert_eq!((e.details[0].field.as_str(), e.details[0].rule.as_str()), ("wieght", "unknown_field"));
        let e = parse_json::<Body>(br#"{"name": "x", "location": {"lat": "n"}}"#).unwrap_err();
        assert_eq!(e.details[0].field, "location.lat");
        let e = parse_json::<Body>(br#"{"name": "x",}"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedRequest);
        let e = parse_json::<Body>(br#"{"name": "x"} trailing"#).unwrap_err();
        assert_eq!(e.code, ErrorCode::MalformedRequest);
    }

    #[test]
    fn an_array_is_not_read_as_an_object_by_position() {
        // serde alone would read this as {"name": "x", "weight_kg": null, "location": null}.
        for body in [&br#"["x", null, null]"#[..], b" \n[\"x\"]", b"[]"] {
            let e = parse_json::<Body>(body).unwrap_err();
            assert_eq!(
                (e.code, e.details[0].field.as_str(), e.details[0].rule.as_str()),
                (ErrorCode::ValidationFailed, "body", "type")
            );
        }
        assert_eq!(parse_json::<Body>(br#" {"name": "x"}"#).map(|b| b.name).ok().as_deref(), Some("x"));
    }
}

/// The client's address: the socket peer, or what a trusted proxy says in `X-Forwarded-For`
/// (`http.trusted_proxies`), exactly as the rate limits see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub std::net::IpAddr);

impl FromRequestParts<crate::AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(crate::ratelimit::client_ip_of(&parts.headers, &parts.extensions, &state.config.forwarded_for)))
    }
}

/// Where a request comes from, as the sign-in list, the sign-in history and the audit log keep
/// it: the client's address ([`ClientIp`]) and its `User-Agent` (at most 200 characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin(pub std::net::IpAddr, pub Option<String>);

impl Origin {
    pub fn client_origin(&self) -> petty_store::ClientOrigin {
        crate::accounts::origin(self.0, self.1.as_deref())
    }
}

impl FromRequestParts<crate::AppState> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &crate::AppState) -> Result<Self, Self::Rejection> {
        let ClientIp(ip) = ClientIp::from_request_parts(parts, state).await?;
        let agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect());
        Ok(Origin(ip, agent))
    }
}
