//! One `tai serve` per state directory: a lock file claimed for the server's lifetime.

use std::path::Path;

use super::{WorkspaceError, io_error};

/// A server's claim on its state directory, held for as long as the value lives.
///
/// Each tenant's ledger is already locked by whoever writes it; this lock makes a second
/// `tai serve` on the same directory fail at start with a clear message, rather than start
/// and then answer every request for a busy tenant with an error.
#[derive(Debug)]
pub struct ServerLock {
    _file: std::fs::File,
}

impl ServerLock {
    /// Claims `state_dir` (creating it if needed) for this process.
    pub fn acquire(state_dir: &Path) -> Result<ServerLock, WorkspaceError> {
        let io = io_error(state_dir);
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let path = state_dir.join("server.lock");
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        if !try_lock(&file).map_err(io)? {
            let pid = std::fs::read_to_string(&path)
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
                .map(|p| format!(" (pid {p})"))
                .unwrap_or_default();
            return Err(WorkspaceError::Served {
                path: state_dir.to_path_buf(),
                pid,
            });
        }
        use std::io::Write;
        file.set_len(0)
            .and_then(|()| writeln!(file, "{}", std::process::id()))
            .map_err(io)?;
        Ok(ServerLock { _file: file })
    }
}

/// Takes an exclusive lock without waiting; `false` when another process holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(true)
}
