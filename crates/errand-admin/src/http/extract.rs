//! Query strings, JSON bodies and path ids read into checked types: a bad
//! one is a 400 naming the field and the value, before any store call.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use errand::Error;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A query string read into `T` (unknown parameters refused).
#[derive(Debug)]
pub(crate) struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.as_bytes())
            .into_owned()
            .collect();
        for (i, (key, value)) in pairs.iter().enumerate() {
            if pairs[..i].iter().any(|(k, _)| k == key) {
                return Err(Error::invalid(key, value, "is given more than once").into());
            }
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(Query)
            .map_err(|e| {
                let field = field_of(e.path().to_string(), &e.inner().to_string());
                let value = pairs
                    .iter()
                    .find(|(k, _)| *k == field)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                Error::invalid(field, value, e.inner().to_string()).into()
            })
    }
}

/// A JSON body read into `T` (unknown fields refused); an empty body reads
/// as `{}`.
#[derive(Debug)]
pub(crate) struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let json_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            ApiError::from(Error::invalid("body", "", format!("cannot be read: {e}")))
        })?;
        let text = if bytes.iter().all(u8::is_ascii_whitespace) {
            "{}"
        } else {
            if json_type.as_deref() != Some("application/json") {
                return Err(Error::invalid(
                    "content-type",
                    json_type.unwrap_or_default(),
                    "a body must be sent as application/json",
                )
                .into());
            }
            std::str::from_utf8(&bytes).map_err(|e| {
                ApiError::from(Error::invalid("body", "", format!("is not UTF-8: {e}")))
            })?
        };
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
            ApiError::from(Error::invalid(
                "body",
                text,
                format!("is not valid JSON: {e}"),
            ))
        })?;
        serde_path_to_error::deserialize(&value)
            .map(Body)
            .map_err(|e| {
                let field = field_of(e.path().to_string(), &e.inner().to_string());
                let shown = value
                    .pointer(&format!("/{}", field.replace('.', "/")))
                    .map(|v| match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .unwrap_or_default();
                Error::invalid(field, shown, e.inner().to_string()).into()
            })
    }
}

/// The field an error is about: its path, or for an unknown or missing
/// field the name serde quotes (its path is the object holding it).
fn field_of(path: String, message: &str) -> String {
    let quoted = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"));
    if let Some(name) = quoted.and_then(|rest| rest.split('`').next()) {
        // An unknown field's path already ends with it; a missing one's does not.
        return if path == "." || path.is_empty() {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path
        } else {
            format!("{path}.{name}")
        };
    }
    if path == "." || path.is_empty() {
        "body".to_owned()
    } else {
        path
    }
}

/// An id in the path: a whole number.
pub(crate) fn id(field: &str, text: &str) -> Result<i64, ApiError> {
    text.parse::<i64>()
        .map_err(|_| Error::invalid(field, text, "must be a whole number").into())
}

/// The header a caller names itself in, for the audit (`ann`, `deploy-bot`).
pub const ACTOR_HEADER: &str = "x-errand-actor";

/// The admin operations acting as the caller: what they change is recorded
/// in the audit under the name the caller gave (header `x-errand-actor`)
/// and how it was let in (`ann (token)`, `loopback`).
pub(crate) struct Acting(pub crate::Api);

impl FromRequestParts<std::sync::Arc<super::App>> for Acting {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &std::sync::Arc<super::App>,
    ) -> Result<Self, ApiError> {
        let how = if app.access.is_open() {
            "loopback"
        } else {
            "token"
        };
        let actor = match parts.headers.get(ACTOR_HEADER) {
            None => how.to_owned(),
            Some(value) => {
                let name = value.to_str().ok().filter(|name| {
                    (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_graphic())
                });
                let name = name.ok_or_else(|| {
                    Error::invalid(
                        ACTOR_HEADER,
                        String::from_utf8_lossy(value.as_bytes()),
                        "must be 1 to 64 visible ASCII characters",
                    )
                })?;
                format!("{name} ({how})")
            }
        };
        Ok(Acting(app.api.acting_as(actor)))
    }
}
