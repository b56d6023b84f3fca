//! The tokens file of `tai serve --tokens-file`: the admin token and tenant tokens, read once
//! at start-up, so no secret needs to be on a command line (which every local user can
//! read in `/proc`) or in the environment.
//!
//! ```toml
//! admin = "s3cret"
//! [tenants]
//! acme = "acme-s3cret"
//! ```
//!
//! The file is refused unless it is a regular file only its owner may read or write (mode
//! `0600` or stricter): a token others can read is no secret.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::ids::TenantId;
use crate::intake::{self, Reading};

/// Tokens read from a tokens file.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    /// The admin token, if the file names one.
    pub admin: Option<String>,
    /// Each tenant's token.
    pub tenants: Vec<(TenantId, String)>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a token.
        f.debug_struct("Tokens")
            .field("admin", &self.admin.is_some())
            .field("tenants", &self.tenants.len())
            .finish()
    }
}

/// Why a tokens file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokensFileError {
    /// It could not be read (missing, not a regular file, too large, not UTF-8).
    #[error("{0}")]
    Read(String),
    /// Users other than its owner may read or write it.
    #[error(
        "`{path}` is readable or writable by group or others (mode {mode:04o}): run `chmod 600 {path}`"
    )]
    Exposed {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// Its contents are not a tokens file.
    #[error("`{path}`: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
}

const READING: Reading = Reading {
    regular: "a tokens file is a regular TOML file only its owner can read",
    text: "a tokens file is TOML text in UTF-8",
    size: "a tokens file holds a few tokens",
    missing: "check the path",
};

/// A token must survive an `Authorization` header unchanged.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() || !token.chars().all(|c| c.is_ascii_graphic()) {
        return Err("a token must be non-empty printable ASCII without spaces".into());
    }
    Ok(())
}

/// Reads and checks a tokens file.
pub fn read_tokens_file(path: &Path) -> Result<Tokens, TokensFileError> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        admin: Option<String>,
        #[serde(default)]
        tenants: BTreeMap<String, String>,
    }
    let shown = path.display().to_string();
    let text = intake::read_text(path, &READING).map_err(|d| TokensFileError::Read(d.message))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| TokensFileError::Read(intake::read_problem(path, &e, &READING).message))?
            .mode()
            & 0o7777;
        if mode & 0o077 != 0 {
            return Err(TokensFileError::Exposed { path: shown, mode });
        }
    }
    let invalid = |message: String| TokensFileError::Invalid {
        path: shown.clone(),
        message,
    };
    let file: File = toml::from_str(&text).map_err(|e| invalid(e.message().to_owned()))?;
    if let Some(admin) = &file.admin {
        check_token(admin).map_err(|e| invalid(format!("admin: {e}")))?;
    }
    let mut tenants = Vec::new();
    for (tenant, token) in file.tenants {
        let id = TenantId::new(&tenant).map_err(|e| invalid(format!("tenants.{tenant}: {e}")))?;
        check_token(&token).map_err(|e| invalid(format!("tenants.{tenant}: {e}")))?;
        tenants.push((id, token));
    }
    Ok(Tokens {
        admin: file.admin,
        tenants,
    })
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn file(text: &str, mode: u32) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        (dir, path)
    }

    #[test]
    fn a_private_file_gives_its_tokens() {
        let (_d, path) = file("admin = \"a1\"\n[tenants]\nacme = \"t1\"\n", 0o600);
        let tokens = read_tokens_file(&path).unwrap();
        assert_eq!(tokens.admin.as_deref(), Some("a1"));
        assert_eq!(tokens.tenants.len(), 1);
        assert_eq!(tokens.tenants[0].0.as_str(), "acme");
        assert!(!format!("{tokens:?}").contains("t1"));
    }

    #[test]
    fn exposed_or_malformed_files_are_refused() {
        for mode in [0o640, 0o604, 0o660, 0o666] {
            let (_d, path) = file("admin = \"a1\"\n", mode);
            assert!(
                matches!(
                    read_tokens_file(&path),
                    Err(TokensFileError::Exposed { .. })
                ),
                "{mode:o}"
            );
        }
        for text in [
            "admin = \"has space\"\n",
            "[tenants]\n\"../x\" = \"t\"\n",
            "token = \"x\"\n",
            "admin = ",
        ] {
            let (_d, path) = file(text, 0o600);
            assert!(
                matches!(
                    read_tokens_file(&path),
                    Err(TokensFileError::Invalid { .. })
                ),
                "{text}"
            );
        }
    }
}
