//! Run claims: several `gn sweep`s into one folder (two workers on one machine, Slurm array
//! tasks on a shared disk) share its runs instead of running one twice. A sweep runs a run only
//! while it holds an exclusive advisory lock (`flock`) on `.NAME.lock` beside the run's files;
//! the system releases the lock when the process ends, however it ends, so a killed sweep
//! leaves no stale claim. A run whose lock another process holds is skipped.
//!
//! Protocol: lock, then look at the run's state again (another sweep may have finished it
//! since this one listed it); after a run's result is written, remove the lock file while
//! still holding the lock. A sweep that opened the old file finds it locked; one that creates
//! a new file after the removal finds the result. A failed run's lock file stays (harmless).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

/// The lock file of run `name` in `dir`.
pub fn lock_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!(".{name}.lock"))
}

/// A held claim on one run: the lock lasts as long as this value.
pub struct Claim {
    file: File,
    path: PathBuf,
}

/// What trying to claim a run gave.
pub enum Claimed {
    /// This sweep holds the run.
    Mine(Claim),
    /// Another process holds it.
    Elsewhere,
    /// The folder's file system cannot lock (the message says why): the run goes ahead
    /// unclaimed, as before claims existed.
    Unlockable(String),
}

/// Tries to claim run `name` in `dir` without waiting.
pub fn claim(dir: &Path, name: &str) -> Result<Claimed, String> {
    let path = lock_path(dir, name);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("{}: cannot open the run's lock file ({e})", path.display()))?;
    Ok(match file.try_lock() {
        Ok(()) => Claimed::Mine(Claim { file, path }),
        Err(TryLockError::WouldBlock) => Claimed::Elsewhere,
        Err(TryLockError::Error(e)) => {
            Claimed::Unlockable(format!("{}: cannot lock ({e})", path.display()))
        }
    })
}

/// Whether another process holds run `name`'s lock now (for `--dry-run` and `--list`).
pub fn held_elsewhere(dir: &Path, name: &str) -> bool {
    let Ok(file) = File::open(lock_path(dir, name)) else {
        return false;
    };
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

impl Claim {
    /// Ends the claim on a run whose result is written: the lock file goes first, the lock
    /// with it.
    pub fn release_finished(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}
