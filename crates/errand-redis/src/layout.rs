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
/// written before, they would show none. Layout 5 lists every job by kind,
/// queue, tenant and unique key, and the jobs with errors, in sets that
/// listings walk; a layout-4 store is brought to it at connect
/// ([`upgrade_from_4`]).
const LAYOUT: i64 = 5;

/// Jobs one step of the layout-4 upgrade looks at: a script holds the
/// server while it runs, so each does a bounded amount.
const UPGRADE_STEP: u32 = 1_000;

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
    if found == 4 {
        upgrade_from_4(conn, prefix).await
    } else if found == LAYOUT {
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

/// Brings a layout-4 store to layout 5: puts every job into the sets that
/// listings walk, a step of [`UPGRADE_STEP`] jobs at a time, then marks the
/// store. Safe to run from several processes at once, or again after a
/// crash (the sets are written with ZADD); processes of the version that
/// wrote layout 4 must be stopped first, as the jobs they would enqueue
/// meanwhile would be in no set.
async fn upgrade_from_4(conn: &mut impl redis::aio::ConnectionLike, prefix: &str) -> Result<()> {
    let script = crate::scripts::index_jobs();
    let jobs = format!("{prefix}:jobs");
    let mut after = 0_i64;
    let mut steps = 0_u64;
    loop {
        let last: i64 = script
            .key(&jobs)
            .arg(prefix)
            .arg("")
            .arg(after)
            .arg(UPGRADE_STEP)
            .invoke_async(conn)
            .await
            .map_err(redis_error)?;
        steps += 1;
        if steps.is_multiple_of(100) {
            tracing::info!(
                prefix,
                up_to_id = last,
                "listing sets of a layout-4 store filled"
            );
        }
        if last == 0 {
            break;
        }
        after = last;
    }
    let _: () = redis::cmd("SET")
        .arg(format!("{prefix}:layout"))
        .arg(LAYOUT)
        .query_async(conn)
        .await
        .map_err(redis_error)?;
    tracing::info!(
        prefix,
        "store brought from Redis layout 4 to layout {LAYOUT}"
    );
    Ok(())
}
