//! Errors as JSON with the status their kind calls for.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use errand::{Error, ErrorClass};
use serde::Serialize;

/// An error answered by the admin API: `{"error": {...}}` with a status
/// that follows from its kind.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

/// The body of an error response.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorBody {
    /// `invalid`, `not_found`, `conflict`, `unavailable`, `backend`,
    /// `timeout`, `unauthorized`, `read_only` or `forbidden`.
    pub kind: &'static str,
    /// The field, parameter or header rejected (for `invalid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The value as given (for `invalid`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// What went wrong, in a sentence.
    pub message: String,
}

impl ApiError {
    /// An error of `kind` with `status`, not from the store.
    pub(crate) fn new(status: StatusCode, kind: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                kind,
                field: None,
                value: None,
                message: message.into(),
            },
        }
    }

    /// A 401: the request carries no valid bearer token.
    pub(crate) fn unauthorized() -> Self {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "a valid bearer token is required (Authorization: Bearer <token>)",
        )
    }

    /// The status answered.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let (status, kind) = match error.kind() {
            ErrorClass::Invalid => (StatusCode::BAD_REQUEST, "invalid"),
            ErrorClass::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            ErrorClass::Conflict => (StatusCode::CONFLICT, "conflict"),
            ErrorClass::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ErrorClass::Timeout => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "backend"),
        };
        let (field, value) = match &error {
            Error::Invalid { field, value, .. } => (Some(field.clone()), Some(value.clone())),
            _ => (None, None),
        };
        if status.is_server_error() {
            tracing::warn!(error = %error, "admin API request failed");
        }
        ApiError {
            status,
            body: ErrorBody {
                kind,
                field,
                value,
                message: error.to_string(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Wrapped {
            error: ErrorBody,
        }
        (self.status, Json(Wrapped { error: self.body })).into_response()
    }
}
