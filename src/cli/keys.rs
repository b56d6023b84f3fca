//! `tai keys new`: the Ed25519 key pair whose private half signs checkpoints and whose public
//! half anyone checking the record is given.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::receipts::CheckpointSigner;

use super::Exit;

/// Create signing keys.
#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// The `tai keys` subcommands.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)
    #[command(after_help = "\
Both files are PEM as OpenSSL writes them (PKCS #8 `PRIVATE KEY`, SubjectPublicKeyInfo
`PUBLIC KEY`). Keep PREFIX.key away from the state directory, readable by the writer only
(tai refuses it otherwise); hand PREFIX.pub to whoever verifies receipts.

Examples:
  tai keys new --out ~/.config/tai/signing
  TAI_SIGNING_KEY=~/.config/tai/signing.key \\
      tai --state signed event activate --tenant acme --sku rollback-guard-base
  tai --state signed receipts verify --all --public-key ~/.config/tai/signing.pub")]
    New(NewArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where to write: PREFIX.key and PREFIX.pub
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
    /// Overwrite existing files
    #[arg(long)]
    force: bool,
}

pub fn run(args: &KeysArgs) -> anyhow::Result<Exit> {
    match &args.command {
        KeysCommand::New(a) => new(a),
    }
}

fn with_ext(prefix: &Path, ext: &str) -> PathBuf {
    let mut p = prefix.as_os_str().to_owned();
    p.push(ext);
    PathBuf::from(p)
}

fn new(args: &NewArgs) -> anyhow::Result<Exit> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| anyhow::anyhow!("cannot generate a key: {e}"))?;
    let signer = CheckpointSigner::from_seed(seed);
    // A prefix, not a folder: `--out keys/` would write the hidden `keys/.key`.
    let names_a_folder = args
        .out
        .as_os_str()
        .to_string_lossy()
        .ends_with(['/', '\\'])
        || args.out.file_name().is_none()
        || args.out.is_dir();
    if names_a_folder {
        anyhow::bail!(
            "`{}` is a folder: --out takes a prefix, and writes PREFIX.key and PREFIX.pub \
             (e.g. --out {})",
            args.out.display(),
            args.out.join("signing").display()
        );
    }
    let private = with_ext(&args.out, ".key");
    let public = with_ext(&args.out, ".pub");
    // Both or neither: a pair half written is no key pair, and would refuse the next try.
    if !args.force
        && let Some(existing) = [&private, &public].into_iter().find(|p| p.exists())
    {
        anyhow::bail!(
            "cannot create `{}`: it exists (use --force to overwrite); nothing was written",
            existing.display()
        );
    }
    // `--out ~/.config/tai/signing` on a fresh machine: make the folder, private to its
    // owner like the key it holds.
    if let Some(dir) = private
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            builder.mode(0o700);
        }
        builder
            .create(dir)
            .with_context(|| format!("cannot create the folder `{}`", dir.display()))?;
    }
    write(
        &private,
        signer.private_pem()?.as_bytes(),
        0o600,
        args.force,
    )?;
    if let Err(e) = write(
        &public,
        signer.public().pem()?.as_bytes(),
        0o644,
        args.force,
    ) {
        // The private half alone is of no use, and would refuse the next try.
        let _ = std::fs::remove_file(&private);
        return Err(e.context(format!("`{}` was not kept", private.display())));
    }
    println!(
        "wrote {} (private, keep it secret) and {} (public)\nkey id {}",
        private.display(),
        public.display(),
        signer.public().key_id()
    );
    Ok(Exit::Success)
}

/// Creates `path` with `mode` from the start, so the private key is never readable by
/// others, not even for a moment.
fn write(path: &Path, bytes: &[u8], mode: u32, force: bool) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options.open(path).map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (use --force to overwrite)"
        } else {
            ""
        };
        anyhow::Error::new(e).context(format!("cannot create `{}`{hint}", path.display()))
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}
