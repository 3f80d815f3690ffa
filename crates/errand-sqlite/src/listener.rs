//! Wake-ups between processes that share one database file. SQLite has no
//! notification channel, so each store appends its origin (a line) to a
//! small file next to the database, `<database>-errand-wake`, after every
//! write that may make a job claimable or free a slot of a limit, and
//! watches that file (inotify, kqueue, ... through the `notify` crate) for
//! the lines of other stores. A lost or late signal costs only the poll
//! interval, as everywhere else.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use errand_core::store::WakeupSender;
use notify::{RecursiveMode, Watcher};

/// The file is emptied once it grows past this: every line is a signal
/// already delivered.
const MAX_LEN: u64 = 64 * 1024;

/// The wake file of the database at `database`.
pub(crate) fn wake_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push("-errand-wake");
    PathBuf::from(name)
}

/// Sends this store's signal to the other processes.
pub(crate) struct Signal {
    file: Mutex<File>,
    line: Vec<u8>,
}

impl Signal {
    /// Opens (creating) the wake file for appending.
    pub(crate) fn open(path: &Path, origin: &str) -> std::io::Result<Signal> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Signal {
            file: Mutex::new(file),
            line: format!("{origin}\n").into_bytes(),
        })
    }

    /// Appends this store's line (one small write: appends of several
    /// processes do not interleave) and empties the file when it is long.
    pub(crate) fn send(&self) {
        let Ok(mut file) = self.file.lock() else {
            return;
        };
        let sent = file.write_all(&self.line).and_then(|()| {
            if file.metadata()?.len() > MAX_LEN {
                file.set_len(0)?;
            }
            Ok(())
        });
        if let Err(e) = sent {
            tracing::debug!(error = %e, "errand could not signal other processes; they poll");
        }
    }
}

/// What the watcher has read of the wake file.
struct Reader {
    file: File,
    offset: u64,
}

impl Reader {
    /// Hands every line written since the last call to `wakeup`, which drops
    /// this store's own. A file emptied meanwhile counts as a signal.
    fn read_new(&mut self, wakeup: &WakeupSender) -> std::io::Result<()> {
        let len = self.file.metadata()?.len();
        if len < self.offset {
            self.offset = 0;
            wakeup.notify();
        }
        if len == self.offset {
            return Ok(());
        }
        self.file.seek(SeekFrom::Start(self.offset))?;
        let mut fresh = Vec::new();
        (&mut self.file)
            .take(len - self.offset)
            .read_to_end(&mut fresh)?;
        self.offset += fresh.len() as u64;
        for line in fresh.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            wakeup.heard(line);
        }
        Ok(())
    }
}

/// Watches the wake file and wakes this store's workers for every other
/// store's signal. The watcher stops when the returned value is dropped.
pub(crate) fn listen(
    path: &Path,
    wakeup: Arc<WakeupSender>,
) -> notify::Result<notify::RecommendedWatcher> {
    let mut file = File::open(path)?;
    let offset = file.seek(SeekFrom::End(0))?;
    let reader = Mutex::new(Reader { file, offset });
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        let Ok(event) = event else { return };
        if !matches!(
            event.kind,
            notify::EventKind::Modify(_) | notify::EventKind::Create(_)
        ) {
            return;
        }
        let Ok(mut reader) = reader.lock() else {
            return;
        };
        if let Err(e) = reader.read_new(&wakeup) {
            tracing::debug!(error = %e, "errand could not read the wake file; workers poll");
            wakeup.notify();
        }
    })?;
    watcher.watch(path, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_other_stores_wake_and_own_ones_do_not() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = wake_path(&dir.path().join("jobs.db"));
        assert!(path.ends_with("jobs.db-errand-wake"));
        let mine = WakeupSender::default();
        let theirs = WakeupSender::default();
        let own = Signal::open(&path, mine.origin())?;
        let other = Signal::open(&path, theirs.origin())?;
        let mut reader = Reader {
            file: File::open(&path)?,
            offset: 0,
        };
        let mut woken = mine.subscribe();
        own.send();
        reader.read_new(&mine)?;
        assert!(!woken.has_changed(), "a store's own line does not wake it");
        other.send();
        reader.read_new(&mine)?;
        assert!(woken.has_changed(), "another store's line wakes it");
        // Emptied: the reader starts over and counts it as a signal.
        woken.mark_seen();
        File::options().write(true).open(&path)?.set_len(0)?;
        reader.read_new(&mine)?;
        assert!(woken.has_changed());
        Ok(())
    }
}
