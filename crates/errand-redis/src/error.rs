use errand_core::Error;

/// The one translation from redis errors to errand errors for this backend.
pub(crate) fn redis_error(e: redis::RedisError) -> Error {
    if e.is_io_error()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.is_timeout()
        || e.is_cluster_error()
    {
        Error::unavailable(e.to_string(), e)
    } else if e.code() == Some("errand:") {
        // The scripts refuse what no write may do (a job joining a finished
        // batch) with an error reply of errand's own: `-errand: <message>`.
        Error::conflict(e.detail().unwrap_or_default().to_owned())
    } else {
        Error::backend(e.to_string(), e)
    }
}
