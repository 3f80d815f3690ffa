//! Progress on long commands (a bulk retry, a prune, a migration): a
//! spinner with the elapsed time and what is done so far, drawn on standard
//! error only when it is a terminal, so scripts and `--json` see nothing.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A spinner saying `message`, ticking on its own until finished.
pub(crate) fn spinner(message: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}
