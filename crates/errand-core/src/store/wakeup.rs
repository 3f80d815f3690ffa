//! Wake-up signals: a store tells its workers (and, through its channel,
//! other processes' workers) that jobs may have become due.

use tokio::sync::watch;

/// Receives a signal whenever new jobs may have become due.
#[derive(Debug, Clone)]
pub struct Wakeup(watch::Receiver<u64>);

impl Wakeup {
    /// Waits until a signal arrives that this receiver has not seen yet. A signal
    /// sent between two calls is not lost.
    pub async fn changed(&mut self) {
        if self.0.changed().await.is_err() {
            // The store is gone; nothing will ever wake us: wait forever and let
            // the caller's poll timer take over.
            std::future::pending::<()>().await;
        }
    }

    /// True when a signal arrived that this receiver has not seen yet.
    pub fn has_changed(&self) -> bool {
        self.0.has_changed().unwrap_or(false)
    }

    /// Counts every signal so far as seen.
    pub fn mark_seen(&mut self) {
        self.0.mark_unchanged();
    }
}

/// Sends wake-up signals to every [`Wakeup`] of a store.
///
/// A store that also tells other processes (a notification channel) sends
/// its [`origin`](Self::origin) as the message and hands every message it
/// hears to [`heard`](Self::heard), which drops the store's own: its workers
/// were woken when its call returned, and the echo would only send them to
/// claim again for nothing.
#[derive(Debug)]
pub struct WakeupSender {
    signal: watch::Sender<u64>,
    origin: String,
}

impl Default for WakeupSender {
    fn default() -> Self {
        WakeupSender {
            signal: watch::Sender::new(0),
            origin: format!("{:016x}", fastrand::u64(..)),
        }
    }
}

impl WakeupSender {
    /// Signals every receiver.
    pub fn notify(&self) {
        self.signal
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }

    /// The message this store's notifications to other processes carry.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Signals every receiver for a notification heard from the channel,
    /// unless this store sent it.
    pub fn heard(&self, message: &[u8]) {
        if message != self.origin.as_bytes() {
            self.notify();
        }
    }

    /// A new receiver.
    pub fn subscribe(&self) -> Wakeup {
        Wakeup(self.signal.subscribe())
    }
}

#[cfg(test)]
mod tests {
    use super::WakeupSender;

    #[test]
    fn a_store_does_not_wake_itself_with_its_own_notification() {
        let sender = WakeupSender::default();
        let other = WakeupSender::default();
        assert_ne!(sender.origin(), other.origin());
        let wakeup = sender.subscribe();
        sender.heard(sender.origin().as_bytes());
        assert_eq!(wakeup.0.has_changed().ok(), Some(false));
        sender.heard(other.origin().as_bytes());
        assert_eq!(wakeup.0.has_changed().ok(), Some(true));
    }
}
