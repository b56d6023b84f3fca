//! Command-line front door: clap definitions and rendering, one file per subcommand.
//!
//! Nothing here decides anything: each command converts its arguments into domain types,
//! calls the engine, and renders the answer.

/// `eprintln!` for what a command tells its user: a closed standard error (`2>&-`, or a pipe
/// whose reader went away) is no reason to panic, and no one is left to tell. (Defined
/// before the modules that use it.)
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

mod andon;
mod chains;
mod common;
mod complete;
mod completions;
mod demo;
#[cfg(unix)]
mod doctor;
mod entry;
mod evidence;
mod exit;
mod iam;
mod import;
mod keys;
mod ledger;
mod log;
mod mcp;
mod pack;
mod receipts;
mod report;
mod schema;
mod serve;
mod simulate;
mod sku;
mod style;
mod tenant;
mod test;
mod timeline;
mod tools;
mod validate;
mod workspace;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use entry::{error_text, is_broken_pipe, parse, parse_from};
pub use exit::{EXIT_CODES_HELP, Exit};

/// Toolkit and local simulator for entitlement-gated capability packs.
#[derive(Debug, Parser)]
#[command(name = "tai", version, about, long_about = None, after_help = EXIT_CODES_HELP)]
#[command(propagate_version = true, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs
    /// alone) when present, else the built-in catalog]
    #[arg(long, global = true, env = "TAI_CATALOG", value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// State directory for the local workspace (ledgers and chain heads)
    #[arg(
        long,
        global = true,
        env = "TAI_STATE",
        value_name = "DIR",
        default_value = ".tai"
    )]
    pub state: PathBuf,
    /// When to use colour
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for
    /// reproducible demos and tests of the local workspace
    #[arg(long, global = true, env = "TAI_NOW", value_name = "TIME")]
    pub now: Option<String>,
    /// Where receipts are kept: a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB),
    /// shared by every server pointed at it; given before the command (`tai --ledger URL
    /// serve`) [default: the ledgers in the state directory]
    // Not global: `tai simulate --ledger DIR` names where a simulation writes its ledger.
    #[arg(long, env = "TAI_LEDGER", hide_env_values = true, value_name = "URL")]
    pub ledger: Option<String>,
    /// Ed25519 key (from `tai keys new`) with which commands that write receipts (event,
    /// call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into
    /// the state directory or the --ledger database; it must be outside the state directory
    /// and readable by its owner only
    #[arg(long, global = true, env = "TAI_SIGNING_KEY", value_name = "FILE")]
    pub signing_key: Option<PathBuf>,
    /// Public key of a signing key that --signing-key replaced (repeatable, or
    /// comma-separated in the variable): what it signed — a tenant's latest checkpoint, a
    /// crashed writer's logged rounds, the workspace manifest — is continued as if the new key
    /// had signed it, so a rotated key needs no --adopt-unsigned
    #[arg(
        long = "previous-key",
        global = true,
        env = "TAI_PREVIOUS_KEYS",
        value_delimiter = ',',
        value_name = "FILE"
    )]
    pub previous_keys: Vec<PathBuf>,
    /// With a signing key: sign chains that have receipts no checkpoint covers (a workspace
    /// written before signing was turned on), and the workspace manifest, once. Without it a
    /// writer refuses them, since deleting a chain's checkpoints would otherwise get a
    /// rewritten history signed
    #[arg(long, global = true)]
    pub adopt_unsigned: bool,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Output format shared by the reporting commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// Tables and text for people.
    #[default]
    Human,
    /// JSON for machines.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario (or the built-in demo) and print the timeline of its receipts
    Simulate(simulate::SimulateArgs),
    /// Check pack and SKU files and report every problem with file, line and column
    Validate(validate::ValidateArgs),
    /// Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML
    Test(test::TestArgs),
    /// Browse packs, or scaffold a new one
    Pack(pack::PackArgs),
    /// Browse SKUs and compare plans
    Sku(sku::SkuArgs),
    /// Show the tools a SKU exposes and whether its roles allow each one
    Tools(tools::ToolsArgs),
    /// Print the JSON Schema of pack or SKU files
    Schema(schema::SchemaArgs),
    /// Send an entitlement event to a tenant in the local workspace
    Event(workspace::EventArgs),
    /// Call a tool as a tenant (through the governor's gates)
    Call(workspace::CallArgs),
    /// Send a signal to a tenant's governor
    Signal(workspace::SignalArgs),
    /// Report a tenant's in-flight action complete or failed
    Action(workspace::ActionArgs),
    /// Show tenants' governor state, entitlement and visible tools
    State(workspace::StateArgs),
    /// Set, show or clear a tenant's IAM policy: who holds which of its plan's roles
    Iam(iam::IamArgs),
    /// Show or clear the critical Andons that stop a tenant's packs
    Andon(andon::AndonArgs),
    /// Verify, show and export receipt chains; prove a receipt is in the signed history
    Receipts(receipts::ReceiptsArgs),
    /// Create the Ed25519 key pair that signs checkpoints
    Keys(keys::KeysArgs),
    /// Copy receipt chains from a state directory into a PostgreSQL ledger
    Ledger(ledger::LedgerArgs),
    /// Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp
    Serve(serve::ServeArgs),
    /// Serve one tenant's tools over the Model Context Protocol on stdin/stdout
    Mcp(mcp::McpArgs),
    /// Start the demo: the server and its web page on loopback, a fresh workspace, a tenant
    Demo(demo::DemoArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish)
    Completions(completions::CompletionsArgs),
    /// Report which protections command handlers get on this machine
    #[cfg(unix)]
    Doctor(doctor::DoctorArgs),
}

/// Runs the parsed command line and returns how it ended.
pub fn run(cli: Cli) -> anyhow::Result<Exit> {
    #[cfg(unix)]
    {
        // Handlers may never reach the state directory, whatever their sandbox declares.
        crate::exec::protect_path(&cli.global.state);
        // Nor, where they could open them, the signing key and the tokens file.
        if let Some(key) = &cli.global.signing_key {
            crate::exec::protect_secret(key, "its signing key");
        }
        if let Command::Serve(args) = &cli.command
            && let Some(tokens) = &args.tokens_file
        {
            crate::exec::protect_secret(tokens, "the tokens file");
        }
        if matches!(
            cli.command,
            Command::Call(_) | Command::Serve(_) | Command::Mcp(_)
        ) {
            doctor::warn_shortfalls();
        }
    }
    match &cli.command {
        Command::Completions(args) => completions::run(args),
        #[cfg(unix)]
        Command::Doctor(args) => doctor::run(args, &cli.global),
        Command::Simulate(args) => simulate::run(args, &cli.global),
        Command::Receipts(args) => receipts::run(args, &cli.global),
        Command::Keys(args) => keys::run(args),
        Command::Ledger(args) => ledger::run(args, &cli.global),
        Command::Pack(args) => pack::run(args, &cli.global),
        Command::Sku(args) => sku::run(args, &cli.global),
        Command::Tools(args) => tools::run(args, &cli.global),
        Command::Schema(args) => schema::run(args),
        Command::Event(args) => workspace::event(args, &cli.global),
        Command::Call(args) => workspace::call(args, &cli.global),
        Command::Signal(args) => workspace::signal(args, &cli.global),
        Command::Action(args) => workspace::action(args, &cli.global),
        Command::State(args) => workspace::state(args, &cli.global),
        Command::Iam(args) => iam::run(args, &cli.global),
        Command::Andon(args) => andon::run(args, &cli.global),
        Command::Test(args) => test::run(args, &cli.global),
        Command::Validate(args) => validate::run(args, &cli.global),
        Command::Mcp(args) => mcp::run(args, &cli.global),
        Command::Serve(args) => serve::run(args, &cli.global),
        Command::Demo(args) => demo::run(args, &cli.global),
    }
}

pub use common::{CatalogSource, load_catalog};
pub use completions::generate as generate_completions;
