//! File-system steps that survive a crash (atomic replacement, directory syncs), the
//! exclusive lock a writer holds on the files it owns, and the positioned reads and writes
//! every ledger file is accessed with.
//!
//! A rename is only durable once the directory holding it is synced, and a new file's name
//! only once its parent is; these helpers do those steps in the order that makes each write
//! all-or-nothing.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::LedgerError;

/// Attaches the failed action and path to an I/O error.
pub(crate) fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> LedgerError {
    let path = path.to_path_buf();
    move |source| LedgerError::Io {
        action,
        path,
        source,
    }
}

/// Reads exactly `buf.len()` bytes of `file` from offset `at`.
#[cfg(unix)]
pub(crate) fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, at)
}

#[cfg(not(unix))]
pub(crate) fn read_at(mut file: &File, buf: &mut [u8], at: u64) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))?;
    file.read_exact(buf)
}

/// Writes all of `bytes` to `file` at offset `at`.
#[cfg(unix)]
pub(crate) fn write_at(file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.write_all_at(bytes, at)
}

#[cfg(not(unix))]
pub(crate) fn write_at(mut file: &File, bytes: &[u8], at: u64) -> io::Result<()> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(at))?;
    file.write_all(bytes)
}

/// Replaces `path` with `bytes` so that after a crash it holds either the old or the new
/// contents: write a temporary file, sync it, rename it over `path`, sync the directory.
pub(crate) fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), LedgerError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = File::create(&tmp).map_err(io_err("create", &tmp))?;
    file.write_all(bytes).map_err(io_err("write", &tmp))?;
    file.sync_all().map_err(io_err("sync", &tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_err("rename into place", path))?;
    sync_parent(path)
}

/// Makes the entries of `path`'s directory (creations, renames) durable.
pub(crate) fn sync_parent(path: &Path) -> Result<(), LedgerError> {
    match path.parent() {
        Some(dir) => sync_dir(dir),
        None => Ok(()),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), LedgerError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err("sync directory", dir))
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<(), LedgerError> {
    Ok(())
}

/// Creates `dir` and any missing parents, syncing each new entry into its parent.
pub(crate) fn create_dir(dir: &Path) -> Result<(), LedgerError> {
    if dir.is_dir() {
        return Ok(());
    }
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    fs::create_dir_all(dir).map_err(io_err("create directory", dir))?;
    for created in missing.iter().rev() {
        sync_parent(created)?;
    }
    Ok(())
}

/// Makes everything written to the file system holding `dir` (open as `handle`) durable:
/// one `syncfs` on Linux. Elsewhere only the directory itself is synced, which is why what
/// relies on this (the write-ahead log, the round journal) is used on Linux alone.
#[cfg(target_os = "linux")]
pub(crate) fn sync_file_system(handle: &File, dir: &Path) -> Result<(), LedgerError> {
    rustix::fs::syncfs(handle).map_err(|e| io_err("sync the file system of", dir)(e.into()))
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn sync_file_system(handle: &File, dir: &Path) -> Result<(), LedgerError> {
    handle.sync_all().map_err(io_err("sync", dir))
}

/// Takes an exclusive lock on `file` for this process, refusing at once when another holds it.
#[cfg(unix)]
pub(crate) fn lock_exclusive(file: &File, path: &Path) -> Result<(), LedgerError> {
    use rustix::fs::{FlockOperation, flock};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(()),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(LedgerError::Locked {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(io_err("lock", path)(e.into())),
    }
}

#[cfg(not(unix))]
pub(crate) fn lock_exclusive(_file: &File, _path: &Path) -> Result<(), LedgerError> {
    Ok(())
}

/// Appends `bytes` to `file`, `len` bytes long, whole or not at all: a failed write (a full
/// disk) is cut back off, so a later append cannot turn its part into a damaged line in the
/// middle of the file.
pub(crate) fn append_whole(
    file: &File,
    path: &Path,
    len: u64,
    bytes: &[u8],
) -> Result<(), LedgerError> {
    let mut file = file;
    file.write_all(bytes).map_err(|e| {
        let _ = file.set_len(len);
        io_err("append to", path)(e)
    })
}
