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
    } else {
        Error::backend(e.to_string(), e)
    }
}
