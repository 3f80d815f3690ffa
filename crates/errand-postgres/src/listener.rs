//! Wake-ups between processes: LISTEN/NOTIFY on the store's channel.

use std::sync::Arc;
use std::time::Duration;

use errand_core::store::WakeupSender;
use sqlx::postgres::PgListener;
use sqlx::{PgPool, SqlStr};
use tokio::sync::Notify;

/// Longest pause between two tries of the wake-up listener to reconnect:
/// once the server is back, other processes' wake-ups arrive again within it
/// (the poll interval covers the gap).
const LISTEN_RETRY_MAX: Duration = Duration::from_secs(1);

/// Forwards notifications of new jobs to this process's workers, and
/// reconnects by itself. Notifications sent while disconnected are lost, so
/// every reconnect also wakes the workers. Notifications this store sent
/// itself are dropped (see [`WakeupSender::heard`]): a second wake-up would
/// only send an empty claim that the next job's claim then waits behind.
pub(crate) async fn listen(pool: PgPool, channel: String, wakeup: Arc<WakeupSender>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?pause, "errand listener could not connect");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LISTEN_RETRY_MAX);
                continue;
            }
        };
        if let Err(e) = listener.listen(&channel).await {
            tracing::warn!(error = %e, "errand listener could not LISTEN");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(LISTEN_RETRY_MAX);
            continue;
        }
        pause = Duration::from_millis(100);
        wakeup.notify();
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) => wakeup.heard(note.payload().as_bytes()),
                // The connection was lost; the next call reconnects.
                Ok(None) => wakeup.notify(),
                Err(e) => {
                    tracing::warn!(error = %e, "errand listener lost its connection");
                    wakeup.notify();
                    break;
                }
            }
        }
    }
}

/// Sends one NOTIFY each time it is signalled; signals that arrive while a
/// NOTIFY is on its way are answered by one more, so no write is left
/// without a notification sent after its commit.
pub(crate) async fn send_notifications(
    pool: PgPool,
    notify: SqlStr,
    origin: String,
    signal: Arc<Notify>,
) {
    loop {
        signal.notified().await;
        if let Err(e) = sqlx::query(notify.clone())
            .bind(&origin)
            .execute(&pool)
            .await
        {
            // Workers elsewhere find the jobs at their next poll.
            tracing::warn!(error = %e, "errand could not send a wake-up notification");
        }
    }
}
