//! The one table of error codes clients can rely on, and the one mapping from errors to
//! responses: `{"error": {"code", "message", "details", "request_id"}}`.
//!
//! Internal causes are logged once, here, and never shown to clients.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use petty_core::Invalid;
use petty_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::observability::current_request_id;

/// Stable error codes. Their names and statuses never change once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The body or query parsed but a field broke a rule (details name each field and rule).
    ValidationFailed,
    /// The body is not JSON, or not the JSON shape expected.
    MalformedRequest,
    UnsupportedMediaType,
    PayloadTooLarge,
    /// No credentials, or credentials that are not valid.
    Unauthenticated,
    /// The access token has expired: refresh it.
    TokenExpired,
    /// Wrong email or password (never says which).
    InvalidCredentials,
    /// A refresh token was presented twice; its whole family is now revoked.
    RefreshTokenReused,
    /// The account has MFA on: send a code (`mfa_code` at sign-in, `X-MFA-Code` for a
    /// sensitive action).
    MfaRequired,
    /// The MFA code is wrong, already used or expired.
    InvalidMfaCode,
    /// Authenticated, but the role or scope does not allow this.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// Too many requests from this address or principal, or failed sign-ins from this address:
    /// wait `Retry-After` seconds.
    RateLimited,
    /// Failed sign-ins for this email back off: wait `Retry-After` seconds, sign in on a trusted
    /// device, or reset the password. (The name is kept from when this locked the account.)
    AccountLocked,
    Internal,
    Unavailable,
    /// The household's plan does not allow this (billing is on): `details` names the limit.
    PlanLimitReached,
    /// Billing is not enabled on this server (every household has everything).
    BillingDisabled,
    /// The payment provider declined the payment; the message is its own.
    PaymentFailed,
    /// The payment provider could not be reached in time or refused the call; nothing changed.
    PaymentProviderError,
    /// A signed webhook's signature is missing, wrong or too old.
    InvalidSignature,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 23] = [
        ErrorCode::ValidationFailed,
        ErrorCode::MalformedRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthenticated,
        ErrorCode::TokenExpired,
        ErrorCode::InvalidCredentials,
        ErrorCode::RefreshTokenReused,
        ErrorCode::MfaRequired,
        ErrorCode::InvalidMfaCode,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::AccountLocked,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
        ErrorCode::PlanLimitReached,
        ErrorCode::BillingDisabled,
        ErrorCode::PaymentFailed,
        ErrorCode::PaymentProviderError,
        ErrorCode::InvalidSignature,
    ];

    /// `(code, HTTP status)`.
    pub fn parts(self) -> (&'static str, StatusCode) {
        use ErrorCode::*;
        match self {
            ValidationFailed => ("validation_failed", StatusCode::UNPROCESSABLE_ENTITY),
            MalformedRequest => ("malformed_request", StatusCode::BAD_REQUEST),
            UnsupportedMediaType => ("unsupported_media_type", StatusCode::UNSUPPORTED_MEDIA_TYPE),
            PayloadTooLarge => ("payload_too_large", StatusCode::PAYLOAD_TOO_LARGE),
            Unauthenticated => ("unauthenticated", StatusCode::UNAUTHORIZED),
            TokenExpired => ("token_expired", StatusCode::UNAUTHORIZED),
            InvalidCredentials => ("invalid_credentials", StatusCode::UNAUTHORIZED),
            RefreshTokenReused => ("refresh_token_reused", StatusCode::UNAUTHORIZED),
            MfaRequired => ("mfa_required", StatusCode::UNAUTHORIZED),
            InvalidMfaCode => ("invalid_mfa_code", StatusCode::UNAUTHORIZED),
            Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            NotFound => ("not_found", StatusCode::NOT_FOUND),
            MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            Conflict => ("conflict", StatusCode::CONFLICT),
            RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            AccountLocked => ("account_locked", StatusCode::TOO_MANY_REQUESTS),
            Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
            PlanLimitReached => ("plan_limit_reached", StatusCode::FORBIDDEN),
            BillingDisabled => ("billing_disabled", StatusCode::CONFLICT),
            PaymentFailed => ("payment_failed", StatusCode::PAYMENT_REQUIRED),
            PaymentProviderError => ("payment_provider_error", StatusCode::BAD_GATEWAY),
            InvalidSignature => ("invalid_signature", StatusCode::BAD_REQUEST),
        }
    }

    pub fn as_str(self) -> &'static str {
        self.parts().0
    }

    pub fn status(self) -> StatusCode {
        self.parts().1
    }
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<FieldDetail>,
    /// Seconds, for `Retry-After`.
    pub retry_after: Option<u64>,
}

/// One field that broke one rule.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldDetail {
    /// The field as the client named it (`weight_kg`, `location.lat`, `page_size`).
    pub field: String,
    /// A short stable rule name (`required`, `too_long`, `out_of_range`, `format`, `type`, ...).
    pub rule: String,
    pub message: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    pub error: ErrorObject,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorObject {
    /// One of the stable codes: validation_failed, malformed_request, unsupported_media_type,
    /// payload_too_large, unauthenticated, token_expired, invalid_credentials,
    /// refresh_token_reused, mfa_required, invalid_mfa_code, forbidden, not_found,
    /// method_not_allowed, conflict, rate_limited, account_locked, internal, unavailable,
    /// plan_limit_reached, billing_disabled, payment_failed, payment_provider_error,
    /// invalid_signature.
    pub code: &'static str,
    pub message: String,
    pub details: Vec<FieldDetail>,
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), details: Vec::new(), retry_after: None }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    /// For `map_err`: a store's `NotFound` as "`what` not found", any other store error as usual.
    pub fn store_or_not_found(what: &'static str) -> impl Fn(StoreError) -> ApiError {
        move |e| match e {
            StoreError::NotFound => ApiError::not_found(what),
            other => other.into(),
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unauthenticated, message)
    }

    /// A 500 whose cause is logged here and hidden from the client.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, request_id = current_request_id().as_deref(), "internal error");
        Self::new(ErrorCode::Internal, "something went wrong on our side; the request id helps us find it")
    }

    pub fn field(code: ErrorCode, field: &str, rule: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self {
            code,
            message: message.clone(),
            details: vec![FieldDetail { field: field.to_owned(), rule: rule.to_owned(), message }],
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        Self {
            code: ErrorCode::ValidationFailed,
            message: invalid.to_string(),
            details: invalid
                .0
                .into_iter()
                .map(|e| FieldDetail { field: e.field, rule: e.rule.to_owned(), message: e.message })
                .collect(),
            retry_after: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("resource"),
            StoreError::Conflict(what) => ApiError::new(ErrorCode::Conflict, format!("{what} already exists")),
            StoreError::Unavailable(why) => {
                tracing::warn!(%why, "database unavailable");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the database could not take this right now; nothing was stored, try again",
                )
            }
            other => ApiError::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (code, status) = self.code.parts();
        if status.is_server_error() {
            tracing::warn!(code, request_id = current_request_id().as_deref(), "answered with a server error");
        }
        let body = ErrorBody {
            error: ErrorObject { code, message: self.message, details: self.details, request_id: current_request_id() },
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}

/// Marks an error answer the edge put into the error shape ([`in_error_shape`]) because nothing
/// else had: its message is the edge's, so a profile with its own wording may use that instead.
#[derive(Clone, Copy, Debug)]
pub struct EdgeShaped;

/// Whether an error answer left the handler without the error shape: no body type (the
/// request timeout's empty 503) or plain text (axum's rejections: the body limit's 413, a
/// form's 400 or 415). Pages (`text/html`), JSON (the error shape, the profiles' own shapes)
/// and other declared types (Twilio's XML) are left alone. Costs a status check on success.
pub(crate) fn needs_error_shape(response: &Response) -> bool {
    let status = response.status();
    (status.is_client_error() || status.is_server_error())
        && response.headers().get(header::CONTENT_TYPE).is_none_or(|v| v.as_bytes().starts_with(b"text/plain"))
}

/// Rewrites such an answer into `{"error": {code, message, details, request_id}}`, keeping its
/// status and headers (`Allow`, `Retry-After`). The code is the one for its status; a status
/// without one of its own is `malformed_request` (4xx) or `internal` (5xx). A plain-text
/// message (axum's, written for clients) is kept; an empty 503 is the request timeout.
pub(crate) async fn in_error_shape(response: Response, request_timeout: std::time::Duration) -> Response {
    let (mut parts, body) = response.into_parts();
    let status = parts.status;
    let code = match status {
        StatusCode::BAD_REQUEST => ErrorCode::MalformedRequest,
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::Forbidden,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::CONFLICT => ErrorCode::Conflict,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::UNPROCESSABLE_ENTITY => ErrorCode::ValidationFailed,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::Unavailable,
        s if s.is_server_error() => ErrorCode::Internal,
        _ => ErrorCode::MalformedRequest,
    };
    let text = axum::body::to_bytes(body, 4096)
        .await
        .ok()
        .and_then(|bytes| String::from_utf8(bytes.to_vec()).ok())
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty());
    let message = match (code, text) {
        (ErrorCode::PayloadTooLarge, _) => "the request body is larger than this server accepts".to_owned(),
        (ErrorCode::Unavailable, None) => format!(
            "the request did not complete within {} s (its body arrived too slowly, or the server is too busy); \
             try again",
            request_timeout.as_secs_f64()
        ),
        (_, Some(text)) => text,
        (ErrorCode::NotFound, None) => "there is nothing at this address".to_owned(),
        (ErrorCode::MethodNotAllowed, None) => "this address does not accept that method".to_owned(),
        (_, None) => status.canonical_reason().unwrap_or("the request failed").to_owned(),
    };
    let body = ErrorBody {
        error: ErrorObject { code: code.as_str(), message, details: Vec::new(), request_id: current_request_id() },
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.extensions.insert(EdgeShaped);
    Response::from_parts(parts, axum::body::Body::from(serde_json::to_vec(&body).unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let (name, status) = code.parts();
            assert!(seen.insert(name), "{name} used twice");
            assert!(name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{name}");
            assert!(status.is_client_error() || status.is_server_error());
        }
    }
}
