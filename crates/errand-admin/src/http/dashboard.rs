//! The web dashboard: one page and its script and style, embedded in the
//! binary (no CDN), served without a token (they hold no data: the page
//! asks the API, which checks the token) and under the same security
//! headers as the API.

use axum::extract::OriginalUri;
use axum::http::header;
use std::borrow::Cow;

use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../../dashboard/index.html");
const SCRIPT: &str = include_str!("../../dashboard/app.js");
const STYLE: &str = include_str!("../../dashboard/app.css");

/// The dashboard's paths under the router's root, besides the API's.
pub const PAGES: &[&str] = &["/", "/assets/app.js", "/assets/app.css"];

/// The page. Its script, its style and the API are addressed relative to
/// it. Served at a path without a final `/` (an application's router that
/// nests this one at `/errand` serves it at `/errand`), its links are made
/// to start with that last segment, so they resolve under it.
pub(crate) async fn index(OriginalUri(uri): OriginalUri) -> Response {
    let page = match uri.path().rsplit('/').next() {
        Some(last) if !last.is_empty() && last.bytes().all(safe) => {
            Cow::Owned(INDEX.replace("=\"assets/", &format!("=\"{last}/assets/")))
        }
        _ => Cow::Borrowed(INDEX),
    };
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

/// Bytes a path segment may have to be written into the page as is.
fn safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

pub(crate) async fn script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        SCRIPT,
    )
        .into_response()
}

pub(crate) async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}
