//! The store's key layout version: the Redis counterpart of the SQL stores'
//! migrations.

use errand_core::{Error, Result};

use crate::error::redis_error;

/// Version of the key layout described in `scripts/prelude.lua`, kept at
/// `<prefix>:layout`. Bump it whenever keys or fields change meaning.
/// Layout 3 keeps per-tenant wait sets, running counts per tenant and a
/// count of waiting jobs without a tenant, which claims rely on: a store
/// written before them would be misread, not merely slower. Layout 4 counts
/// finished jobs in `<prefix>:finished`, which stats read: in a store
/// written before, they would show none.
const LAYOUT: i64 = 4;

/// Marks a new store with [`LAYOUT`] and refuses one written in another
/// layout (a store of layout 1, before the key existed, has ids but no
/// layout key), rather than misreading its jobs.
pub(crate) async fn check_layout(
    conn: &mut impl redis::aio::ConnectionLike,
    prefix: &str,
) -> Result<()> {
    let layout_key = format!("{prefix}:layout");
    let (layout, has_jobs): (Option<i64>, bool) = redis::pipe()
        .get(&layout_key)
        .exists(format!("{prefix}:seq"))
        .query_async(conn)
        .await
        .map_err(redis_error)?;
    let found = match layout {
        Some(found) => found,
        None if has_jobs => 1,
        None => {
            let _: () = redis::cmd("SET")
                .arg(&layout_key)
                .arg(LAYOUT)
                .arg("NX")
                .query_async(conn)
                .await
                .map_err(redis_error)?;
            LAYOUT
        }
    };
    if found == LAYOUT {
        Ok(())
    } else {
        Err(Error::invalid(
            "prefix",
            prefix,
            format!(
                "its keys are in errand's Redis layout {found}, this version reads layout {LAYOUT}; drain the store with the version that wrote it, or use another prefix"
            ),
        ))
    }
}
