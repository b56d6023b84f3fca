//! The state directory's id seed, which keeps receipt ids stable within a workspace.

use std::path::Path;

use super::{WorkspaceError, io_error};

/// The id seed is chosen once per state directory, so receipt ids differ between workspaces
/// but stay stable within one.
pub(super) fn load_or_create_seed(dir: &Path) -> Result<u64, WorkspaceError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    let path = dir.join("seed");
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Ok(seed) = text.trim().parse()
    {
        return Ok(seed);
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    #[allow(clippy::cast_possible_truncation)]
    let seed = (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32);
    std::fs::write(&path, format!("{seed}\n")).map_err(io_error(&path))?;
    Ok(seed)
}
