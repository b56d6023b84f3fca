//! What a command handler may touch: a fresh scratch directory, the base system read-only,
//! the paths its pack declares, and nothing of tai's state.
//!
//! The file-system sandbox is a Landlock ruleset, built here in the parent and applied by
//! the child just before exec (see `process::prepare_child`). It handles every access right
//! the kernel knows, so anything not granted is denied:
//! - read and execute: [`BASE_READ`] (the programs, libraries and configuration an ordinary
//!   program needs), the program itself, and the handler's declared `sandbox.read`;
//! - read and write: the per-action scratch directory (also the working directory and
//!   `TMPDIR`), [`DEVICES`], and the declared `sandbox.write`.
//!
//! With Landlock ABI 6 the handler also cannot signal processes outside its action or reach
//! abstract UNIX sockets bound outside it. And whatever the ruleset, Landlock forbids a
//! sandboxed process to ptrace, or read the `/proc/<pid>/environ` and memory of, any process
//! outside its own domain.
//!
//! Protected paths (tai's state directory: ledgers, chain heads; its signing key and tokens
//! file where a handler could open them) are denied even if a base or declared path would
//! cover them: such a handler is refused rather than run.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::catalog;

/// Read-only (and executable) for every handler, where they exist.
pub const BASE_READ: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/sys/devices/system/cpu",
    "/dev/random",
    "/dev/urandom",
];

/// Readable and writable for every handler.
pub const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/full"];

/// Paths no handler may reach, each with what it is to tai.
static PROTECTED: Mutex<Vec<(PathBuf, &'static str)>> = Mutex::new(Vec::new());

/// Declares the state directory `path` off limits to every command handler: a handler whose
/// sandbox would reach it is refused. The path need not exist yet.
pub fn protect_path(path: &Path) {
    protect(path, "its state directory");
}

/// Declares a secret of tai's (`what`: its signing key, the tokens file) off limits to every
/// handler that could open it: any handler when tai is not root (a handler then runs as tai's
/// own user), or when the file is readable by others. A handler of a root tai runs as another
/// user, which a file only its owner may read keeps out, wherever it lies (the README's
/// example key is under `/etc`, which every sandbox reads).
pub fn protect_secret(path: &Path, what: &'static str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let root = rustix::process::geteuid().is_root();
        let private = std::fs::metadata(path).is_ok_and(|m| m.mode() & 0o077 == 0);
        if root && private {
            return;
        }
    }
    protect(path, what);
}

fn protect(path: &Path, what: &'static str) {
    let path = absolute(path);
    let mut protected = PROTECTED.lock().unwrap_or_else(PoisonError::into_inner);
    if !protected.iter().any(|(p, _)| *p == path) {
        protected.push((path, what));
    }
}

/// Why a handler could not be prepared.
#[derive(Debug, thiserror::Error)]
pub(super) enum SandboxError {
    #[error("its sandbox would expose `{}`, which tai protects ({})", .0.display(), .1)]
    Exposes(PathBuf, &'static str),
    #[error("tai runs as root and the handler user `{0}` does not exist (set TAI_HANDLER_USER)")]
    UnknownUser(String),
    #[error("could not create its scratch directory: {0}")]
    Scratch(std::io::Error),
    #[cfg(target_os = "linux")]
    #[error("could not build its file-system sandbox: {0}")]
    Landlock(#[from] landlock::RulesetError),
}

/// A per-action directory, owned by the handler's user and removed with everything in it.
#[derive(Debug)]
pub(super) struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// Creates a private directory under the system's temporary directory.
    pub(super) fn create(owner: Option<(u32, u32)>) -> std::io::Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt;

        let base = std::env::temp_dir();
        loop {
            let mut nonce = [0u8; 8];
            getrandom::fill(&mut nonce).map_err(|e| std::io::Error::other(e.to_string()))?;
            let path = base.join(format!("tai-action-{}", hex::encode(nonce)));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => {
                    let scratch = Scratch { path };
                    if let Some((uid, gid)) = owner {
                        std::os::unix::fs::chown(&scratch.path, Some(uid), Some(gid))?;
                    }
                    return Ok(scratch);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Symlinks the handler left are removed, never followed.
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The file-system sandbox for `program` (already resolved) with `declared` paths.
#[cfg(target_os = "linux")]
pub(super) fn ruleset(
    program: &Path,
    scratch: &Path,
    declared: &catalog::Sandbox,
) -> Result<landlock::RulesetCreated, SandboxError> {
    use landlock::{
        ABI, Access, AccessFs, CompatLevel, Compatible, PathBeneath, PathFd, Ruleset, RulesetAttr,
        RulesetCreatedAttr, Scope,
    };

    const TARGET: ABI = ABI::V6;
    let read = AccessFs::from_read(TARGET);
    let all = AccessFs::from_all(TARGET);
    let device = AccessFs::from_file(TARGET) & !AccessFs::Execute;

    let mut grants: Vec<(PathBuf, landlock::BitFlags<AccessFs>)> = Vec::new();
    grants.extend(BASE_READ.iter().map(|p| (PathBuf::from(p), read)));
    grants.extend(DEVICES.iter().map(|p| (PathBuf::from(p), device)));
    grants.push((program.to_owned(), read));
    grants.extend(declared.read.iter().map(|p| (PathBuf::from(p), read)));
    grants.extend(declared.write.iter().map(|p| (PathBuf::from(p), all)));
    grants.push((scratch.to_owned(), all));

    // Only what exists can be granted; what does not stays denied.
    let grants: Vec<_> = grants
        .into_iter()
        .filter_map(|(p, access)| Some((std::fs::canonicalize(&p).ok()?, access)))
        .collect();
    let protected: Vec<(PathBuf, &'static str)> = PROTECTED
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .map(|(p, what)| (absolute(p), *what))
        .collect();
    for (granted, _) in &grants {
        if let Some((p, what)) = protected.iter().find(|(p, _)| overlaps(granted, p)) {
            return Err(SandboxError::Exposes(p.clone(), what));
        }
    }

    let mut ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::BestEffort)
        .handle_access(all)?
        .scope(Scope::from_all(TARGET))?
        .create()?;
    for (path, access) in grants {
        let access = if path.is_dir() {
            access
        } else {
            access & AccessFs::from_file(TARGET)
        };
        let Ok(fd) = PathFd::new(&path) else { continue };
        ruleset = ruleset.add_rule(PathBeneath::new(fd, access))?;
    }
    Ok(ruleset)
}

/// Whether granting `granted` (and everything beneath) would reach `protected`: one contains
/// the other.
fn overlaps(granted: &Path, protected: &Path) -> bool {
    protected.starts_with(granted) || granted.starts_with(protected)
}

/// `path` made absolute and, where it exists, canonical.
fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_owned()))
}

/// The file `program` names: itself when it has a `/` (relative to tai's working directory),
/// else the first file of that name on `path` (the handler's `PATH`) that the handler's user
/// `ids` (`None`: tai's own) may execute, as `execvp` run by that user would find it.
pub(super) fn resolve_program(
    program: &str,
    path: Option<&std::ffi::OsStr>,
    ids: Option<(u32, u32)>,
) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(std::path::absolute(program).unwrap_or_else(|_| PathBuf::from(program)));
    }
    let path = path.unwrap_or_else(|| std::ffi::OsStr::new("/bin:/usr/bin"));
    std::env::split_paths(path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| executable_by(candidate, ids))
}

/// Whether `file` is a regular file the user `ids` (`None`: this process's) may reach and
/// execute, judged by permission bits.
fn executable_by(file: &Path, ids: Option<(u32, u32)>) -> bool {
    use std::os::unix::fs::MetadataExt;

    let allows = |m: &std::fs::Metadata| match ids {
        None => m.mode() & 0o111 != 0,
        Some((uid, _)) if m.uid() == uid => m.mode() & 0o100 != 0,
        Some((_, gid)) if m.gid() == gid => m.mode() & 0o010 != 0,
        Some(_) => m.mode() & 0o001 != 0,
    };
    let Ok(meta) = std::fs::metadata(file) else {
        return false;
    };
    meta.is_file()
        && allows(&meta)
        && (ids.is_none()
            || file
                .ancestors()
                .skip(1)
                .all(|dir| std::fs::metadata(dir).is_ok_and(|m| allows(&m))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_means_either_contains_the_other() {
        let state = Path::new("/srv/app/.tai");
        assert!(overlaps(Path::new("/srv/app"), state));
        assert!(overlaps(Path::new("/srv/app/.tai/ledgers"), state));
        assert!(overlaps(state, state));
        assert!(!overlaps(Path::new("/srv/app/.tail"), state));
        assert!(!overlaps(Path::new("/usr"), state));
    }

    #[test]
    fn programs_are_found_on_the_given_path() {
        let path = std::ffi::OsStr::new("/nonexistent:/bin:/usr/bin");
        let found = resolve_program("sh", Some(path), None);
        assert!(found.is_some_and(|p| p.ends_with("sh")));
        let nobody = Some((65534, 65534));
        assert!(resolve_program("sh", Some(path), nobody).is_some());
        assert_eq!(resolve_program("tai-no-such-program", None, None), None);
        assert_eq!(
            resolve_program("/opt/x/run", None, None),
            Some(PathBuf::from("/opt/x/run"))
        );
        assert!(resolve_program("./run", None, None).is_some_and(|p| p.is_absolute()));
    }

    #[test]
    fn programs_the_handler_user_cannot_reach_are_skipped() {
        use std::os::unix::fs::PermissionsExt;

        let dir = std::env::temp_dir().join(format!("tai-resolve-{}", std::process::id()));
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let me = rustix::process::geteuid().as_raw();
        let stranger = Some((me.wrapping_add(4242), me.wrapping_add(4242)));
        let path = bin.clone().into_os_string();
        assert_eq!(
            resolve_program("tool", Some(&path), None),
            Some(tool.clone())
        );
        assert_eq!(resolve_program("tool", Some(&path), stranger), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
