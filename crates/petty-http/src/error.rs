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
    /// Authenticated, but the role or scope does not allow this.
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    RateLimited,
    /// Too many failed sign-ins for this email.
    AccountLocked,
    Internal,
    Unavailable,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 16] = [
        ErrorCode::ValidationFailed,
        ErrorCode::MalformedRequest,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::PayloadTooLarge,
        ErrorCode::Unauthenticated,
        ErrorCode::TokenExpired,
        ErrorCode::InvalidCredentials,
        ErrorCode::RefreshTokenReused,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::MethodNotAllowed,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::AccountLocked,
        ErrorCode::Internal,
        ErrorCode::Unavailable,
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
            Forbidden => ("forbidden", StatusCode::FORBIDDEN),
            NotFound => ("not_found", StatusCode::NOT_FOUND),
            MethodNotAllowed => ("method_not_allowed", StatusCode::METHOD_NOT_ALLOWED),
            Conflict => ("conflict", StatusCode::CONFLICT),
            RateLimited => ("rate_limited", StatusCode::TOO_MANY_REQUESTS),
            AccountLocked => ("account_locked", StatusCode::TOO_MANY_REQUESTS),
            Internal => ("internal", StatusCode::INTERNAL_SERVER_ERROR),
            Unavailable => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
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
    /// refresh_token_reused, forbidden, not_found, method_not_allowed, conflict, rate_limited,
    /// account_locked, internal, unavailable.
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
