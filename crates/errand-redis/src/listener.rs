//! Wake-ups between processes: a pub/sub subscription to the store's channel.

use std::sync::Arc;
use std::time::Duration;

use errand_core::store::WakeupSender;
use futures::StreamExt;

/// Longest pause between two tries of the wake-up listener to reconnect:
/// once the server is back, other processes' wake-ups arrive again within it
/// (the poll interval covers the gap).
const LISTEN_RETRY_MAX: Duration = Duration::from_secs(1);

/// Wakes this process's workers on every message of the store's channel but
/// the store's own (see [`WakeupSender::heard`]); resubscribes by itself
/// after the connection drops (and wakes the workers then too: jobs may have
/// come while it was away). In a cluster a PUBLISH reaches every node, so
/// any node serves; after a failure the next one is tried.
pub(crate) async fn listen(nodes: Vec<redis::Client>, channel: String, wakeup: Arc<WakeupSender>) {
    let mut pause = Duration::from_millis(100);
    let mut node = 0;
    loop {
        let client = &nodes[node % nodes.len()];
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                Ok(()) => {
                    pause = Duration::from_millis(100);
                    wakeup.notify();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        wakeup.heard(message.get_payload_bytes());
                    }
                    tracing::warn!("errand lost its Redis subscription; reconnecting");
                }
                Err(e) => tracing::warn!(error = %e, "errand could not subscribe to wake-ups"),
            },
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?pause, "errand could not connect for wake-ups");
            }
        }
        node += 1;
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(LISTEN_RETRY_MAX);
    }
}
