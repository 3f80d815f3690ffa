use errand_core::Error;
use sqlx::error::DatabaseError;

/// The one translation from sqlx errors to errand errors for this backend;
/// the sqlx error stays as the cause.
pub(crate) fn db_error(e: sqlx::Error) -> Error {
    errand_sql::db_error(e, server_unavailable)
}

/// Class 08: connection exceptions; 57P01..03: the server is shutting down or
/// restarting; 53300: too many connections. Each may pass if tried again.
fn server_unavailable(db: &dyn DatabaseError) -> bool {
    let code = db.code().unwrap_or_default();
    code.starts_with("08") || code.starts_with("57P") || code == "53300"
}
