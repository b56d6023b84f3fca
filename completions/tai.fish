# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tai_global_optspecs
    string join \n catalog= state= color= now= ledger= signing-key= previous-key= adopt-unsigned h/help V/version
end

function __fish_tai_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tai_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tai_using_subcommand
    set -l cmd (__fish_tai_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tai -n "__fish_tai_needs_command" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_needs_command" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_needs_command" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_needs_command" -l ledger -d 'Where receipts are kept: a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB), shared by every server pointed at it; given before the command (`tai --ledger URL serve`) [default: the ledgers in the state directory]' -r
complete -c tai -n "__fish_tai_needs_command" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_needs_command" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_needs_command" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_needs_command" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_needs_command" -f -a "simulate" -d 'Run a scenario (or the built-in demo) and print the timeline of its receipts'
complete -c tai -n "__fish_tai_needs_command" -f -a "validate" -d 'Check pack and SKU files and report every problem with file, line and column'
complete -c tai -n "__fish_tai_needs_command" -f -a "test" -d 'Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML'
complete -c tai -n "__fish_tai_needs_command" -f -a "pack" -d 'Browse packs, or scaffold a new one'
complete -c tai -n "__fish_tai_needs_command" -f -a "sku" -d 'Browse SKUs and compare plans'
complete -c tai -n "__fish_tai_needs_command" -f -a "tools" -d 'Show the tools a SKU exposes and whether its roles allow each one'
complete -c tai -n "__fish_tai_needs_command" -f -a "schema" -d 'Print the JSON Schema of pack or SKU files'
complete -c tai -n "__fish_tai_needs_command" -f -a "event" -d 'Send an entitlement event to a tenant in the local workspace'
complete -c tai -n "__fish_tai_needs_command" -f -a "call" -d 'Call a tool as a tenant (through the governor\'s gates)'
complete -c tai -n "__fish_tai_needs_command" -f -a "signal" -d 'Send a signal to a tenant\'s governor'
complete -c tai -n "__fish_tai_needs_command" -f -a "action" -d 'Report a tenant\'s in-flight action complete or failed'
complete -c tai -n "__fish_tai_needs_command" -f -a "state" -d 'Show tenants\' governor state, entitlement and visible tools'
complete -c tai -n "__fish_tai_needs_command" -f -a "iam" -d 'Set, show or clear a tenant\'s IAM policy: who holds which of its plan\'s roles'
complete -c tai -n "__fish_tai_needs_command" -f -a "andon" -d 'Show or clear the critical Andons that stop a tenant\'s packs'
complete -c tai -n "__fish_tai_needs_command" -f -a "receipts" -d 'Verify, show and export receipt chains; prove a receipt is in the signed history'
complete -c tai -n "__fish_tai_needs_command" -f -a "keys" -d 'Create the Ed25519 key pair that signs checkpoints'
complete -c tai -n "__fish_tai_needs_command" -f -a "ledger" -d 'Copy receipt chains from a state directory into a PostgreSQL ledger'
complete -c tai -n "__fish_tai_needs_command" -f -a "serve" -d 'Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp'
complete -c tai -n "__fish_tai_needs_command" -f -a "mcp" -d 'Serve one tenant\'s tools over the Model Context Protocol on stdin/stdout'
complete -c tai -n "__fish_tai_needs_command" -f -a "demo" -d 'Start the demo: the server and its web page on loopback, a fresh workspace, a tenant'
complete -c tai -n "__fish_tai_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c tai -n "__fish_tai_needs_command" -f -a "doctor" -d 'Report which protections command handlers get on this machine'
complete -c tai -n "__fish_tai_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand simulate" -l format -d 'Output format: the timeline, JSON, or a report (HTML page or Markdown) with the plans, the governor\'s diagram, the timeline and every receipt' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'
html\t'One self-contained HTML page (inline CSS and SVG, no scripts)'
markdown\t'Markdown, to paste into a document'"
complete -c tai -n "__fish_tai_using_subcommand simulate" -l seed -d 'Seed for receipt ids (overrides the scenario\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand simulate" -l ledger -d 'Keep every tenant\'s receipts in DIR as a state directory (a fresh one), e.g. to run `tai --state DIR receipts verify --all` afterwards' -r -F
complete -c tai -n "__fish_tai_using_subcommand simulate" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand simulate" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand simulate" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand simulate" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand simulate" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand simulate" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand simulate" -l step -d 'Pause after each step until Enter is pressed (a prompt on stderr), to walk an audience through the story; end of input shows the rest without pausing'
complete -c tai -n "__fish_tai_using_subcommand simulate" -l print-story -d 'Print the built-in demo story as an editable scenario file and exit'
complete -c tai -n "__fish_tai_using_subcommand simulate" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand simulate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand simulate" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand validate" -l format -d 'Output format' -r -f -a "human\t'Source snippets with labels and hints'
json\t'One JSON document with counts and diagnostics'
github\t'GitHub Actions workflow annotations'"
complete -c tai -n "__fish_tai_using_subcommand validate" -l allow -d 'Accept warnings with this rule code (repeatable); a file can also allow codes for itself with a comment line `# tai: allow CODE, CODE (why)`' -r
complete -c tai -n "__fish_tai_using_subcommand validate" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand validate" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand validate" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand validate" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand validate" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand validate" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand validate" -l deny-warnings -d 'Exit 1 on warnings too'
complete -c tai -n "__fish_tai_using_subcommand validate" -l list-rules -d 'List the rule codes with what each checks, and exit'
complete -c tai -n "__fish_tai_using_subcommand validate" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand validate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand validate" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand test" -l filter -d 'Only run scenarios whose name or file path contains TEXT' -r
complete -c tai -n "__fish_tai_using_subcommand test" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand test" -l junit -d 'Also write a JUnit XML report to FILE' -r -F
complete -c tai -n "__fish_tai_using_subcommand test" -l min-coverage -d 'Fail when overall coverage is below P percent (implies --coverage)' -r
complete -c tai -n "__fish_tai_using_subcommand test" -l coverage-scope -d 'What overall coverage counts: the packs\' tools, actions and preconditions, or also the governor\'s transitions (implies --coverage)' -r -f -a "packs\t'Tools, actions and preconditions of the packs'
all\t'Those and the governor\'s transitions'"
complete -c tai -n "__fish_tai_using_subcommand test" -s j -l jobs -d 'Worker threads [default: one per core]' -r
complete -c tai -n "__fish_tai_using_subcommand test" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand test" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand test" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand test" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand test" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand test" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand test" -l fail-fast -d 'Start no new scenario after the first failure'
complete -c tai -n "__fish_tai_using_subcommand test" -l coverage -d 'Report which tools, actions, precondition checks and governor transitions ran'
complete -c tai -n "__fish_tai_using_subcommand test" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand test" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand test" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "list" -d 'List every pack with its tools, roles and the SKUs that enable it'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "show" -d 'Show one pack: tools, actions with roles and preconditions, limits'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "new" -d 'Write a new, commented pack file that passes validation'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -s o -l output -d 'Folder to write `<id>.yaml|toml` into, or `-` for stdout' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l toml -d 'Write TOML instead of YAML'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every pack with its tools, roles and the SKUs that enable it'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one pack: tools, actions with roles and preconditions, limits'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "new" -d 'Write a new, commented pack file that passes validation'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -f -a "list" -d 'List every SKU with its title, price, packs, tool count and roles: the price ladder'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -f -a "show" -d 'Show one SKU: listing, packs, roles and the tools its roles can run'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -f -a "diff" -d 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -f -a "compare" -d 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff compare help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l sort -d 'Order: by price (the ladder) or by id' -r -f -a "price\t'Cheapest first, by price per year: the ladder'
id\t'By SKU id'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l warnings -d 'Also list the actions this plan\'s roles cannot run, as warnings for pack authors'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l format -d 'Output format: the matrix, JSON, or a report (an HTML page or a Markdown table)' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'
html\t'One self-contained HTML page (inline CSS and SVG, no scripts)'
markdown\t'Markdown, to paste into a document'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from compare" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every SKU with its title, price, packs, tool count and roles: the price ladder'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one SKU: listing, packs, roles and the tools its roles can run'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "diff" -d 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "compare" -d 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand tools" -l sku -d 'SKU whose tool surface to show' -r
complete -c tai -n "__fish_tai_using_subcommand tools" -l format -d 'Output format (JSON: name, pack, description, input_schema, action, usable, missing_roles, ...)' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand tools" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand tools" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand tools" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand tools" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand tools" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand tools" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand tools" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand tools" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand tools" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand schema" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand schema" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand schema" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand schema" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand schema" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand schema" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand schema" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand schema" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l file -d 'A raw entitlement event (JSON or YAML) in the marketplace\'s shape' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "activate" -d 'A purchase: entitlement.activated'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "change" -d 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "plan-change" -d 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "renew" -d 'entitlement.renewed (expiry moves forward one term, or to --expires)'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "suspend" -d 'entitlement.suspended (tools stay listed; every call is refused)'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "reinstate" -d 'entitlement.reinstated'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "cancel" -d 'entitlement.cancelled (every pack is disabled)'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "approve" -d 'entitlement.approved: the provider approves a pending purchase or plan change'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "reject" -d 'entitlement.withdrawn: the provider rejects a pending purchase or plan change'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "import" -d 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent'
complete -c tai -n "__fish_tai_using_subcommand event; and not __fish_seen_subcommand_from activate change plan-change renew suspend reinstate cancel approve reject import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from activate" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from change" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from plan-change" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from renew" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from suspend" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reinstate" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from cancel" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from approve" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l sku -d 'The SKU (required for activate and change)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l plan -d 'The marketplace plan (checked against the SKU\'s)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l pack -d 'Enable only these packs [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l role -d 'Grant only these roles [default: all of the SKU\'s]' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l expires -d 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from reject" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l from -d 'The marketplace that sent the notifications' -r -f -a "gcp\t'Google Cloud Marketplace: Pub/Sub push bodies'
aws\t'AWS Marketplace: SNS notifications'
azure\t'Azure Marketplace: SaaS fulfillment webhook bodies'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l resources -d 'GCP entitlement resources or AWS GetEntitlements responses (a JSON file or a directory)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "activate" -d 'A purchase: entitlement.activated'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "change" -d 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "renew" -d 'entitlement.renewed (expiry moves forward one term, or to --expires)'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "suspend" -d 'entitlement.suspended (tools stay listed; every call is refused)'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "reinstate" -d 'entitlement.reinstated'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "cancel" -d 'entitlement.cancelled (every pack is disabled)'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "approve" -d 'entitlement.approved: the provider approves a pending purchase or plan change'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "reject" -d 'entitlement.withdrawn: the provider rejects a pending purchase or plan change'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "import" -d 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent'
complete -c tai -n "__fish_tai_using_subcommand event; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand call" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand call" -l arg -l argument -d 'A tool argument, KEY=VALUE (repeatable), typed by the tool\'s input schema' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l context -d 'Call context for preconditions, KEY=VALUE (repeatable)' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l idempotency-key -d 'A key for this call: run again with the same key, it answers the first outcome and runs nothing (also across restarts; the key is kept in the receipt)' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l principal -d 'Who calls (user:EMAIL or serviceAccount:EMAIL); under the tenant\'s IAM policy the action\'s roles must be bound to this principal' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l timeout -d 'A wall-clock limit for this call (e.g. 2s, 500ms): it may tighten the action\'s timeout, never loosen it; the receipt says which limit was in force and why' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand call" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand call" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand call" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand call" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand call" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand call" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand call" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand call" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand signal" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand signal" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand signal" -l name -d 'The signal\'s name' -r
complete -c tai -n "__fish_tai_using_subcommand signal" -l fact -d 'A fact the signal records, KEY=VALUE (repeatable)' -r
complete -c tai -n "__fish_tai_using_subcommand signal" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand signal" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand signal" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand signal" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand signal" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand signal" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand signal" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand signal" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand signal" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand action" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand action" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand action" -l action -d 'The id of the action resolved (`act_…`, as `tai state` shows it)' -r
complete -c tai -n "__fish_tai_using_subcommand action" -l detail -d 'A note recorded in the receipt' -r
complete -c tai -n "__fish_tai_using_subcommand action" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand action" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand action" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand action" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand action" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand action" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand action" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand action" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand action" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand state" -s t -l tenant -d 'The tenant [default: list every tenant]' -r
complete -c tai -n "__fish_tai_using_subcommand state" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand state" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand state" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand state" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand state" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand state" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand state" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand state" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand state" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand state" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -f -a "set" -d 'Set the tenant\'s policy from a YAML, JSON or TOML file (recorded as a receipt)'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -f -a "show" -d 'Show the tenant\'s policy, and the receipt that set it'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -f -a "clear" -d 'Remove the tenant\'s policy: callers hold the roles the plan grants again'
complete -c tai -n "__fish_tai_using_subcommand iam; and not __fish_seen_subcommand_from set show clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from help" -f -a "set" -d 'Set the tenant\'s policy from a YAML, JSON or TOML file (recorded as a receipt)'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the tenant\'s policy, and the receipt that set it'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Remove the tenant\'s policy: callers hold the roles the plan grants again'
complete -c tai -n "__fish_tai_using_subcommand iam; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -f -a "show" -d 'Show the critical Andons stopping the tenant\'s packs'
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -f -a "clear" -d 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)'
complete -c tai -n "__fish_tai_using_subcommand andon; and not __fish_seen_subcommand_from show clear help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -s t -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l principal -d 'Who acknowledged it, for the receipt (`user:oncall@acme.com`)' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l note -d 'What they found or did, for the receipt' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from clear" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show the critical Andons stopping the tenant\'s packs'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from help" -f -a "clear" -d 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)'
complete -c tai -n "__fish_tai_using_subcommand andon; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "verify" -d 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "show" -d 'Show a tenant\'s receipts as a table'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "export" -d 'Write a tenant\'s receipts as JSON, JSONL, CSV or Markdown'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "checkpoint" -d 'Print a tenant\'s latest signed checkpoint (JSON), to keep outside tai'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "manifest" -d 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "prove" -d 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "verify-proof" -d 'Check a proof file with the public key alone'
complete -c tai -n "__fish_tai_using_subcommand receipts; and not __fish_seen_subcommand_from verify show export checkpoint manifest prove verify-proof help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l tenant -d 'The tenant whose chain to verify' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l public-key -d 'Require every chain\'s checkpoints, up to its head, to be signed with this key (repeatable, for keys used in turn)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l checkpoint -d 'Also require the chain to extend this kept checkpoint (from `tai receipts checkpoint`)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l manifest -d 'Also require every tenant this kept manifest lists (from `tai receipts manifest`) to be listed still: a tenant deleted with the manifest put back to an older one fails' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l all -d 'Verify every tenant in the state directory (or the --ledger database)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l deep -d 'Also parse every receipt and check its canonical encoding (slower)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l strict-time -d 'Also fail a chain whose receipt times go backwards (e.g. written partly under `--now`/`TAI_NOW` and partly on the real clock)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l tenant -d 'The tenant whose receipts to show' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l event -d 'Only receipts of this event type (repeat for several)' -r -f -a "entitlement_activated\t''
entitlement_updated\t''
entitlement_renewed\t''
entitlement_suspended\t''
entitlement_reinstated\t''
entitlement_cancelled\t''
entitlement_expired\t''
entitlement_update_refused\t''
tool_surface_changed\t''
signal_processed\t''
signal_refused\t''
signal_postponed\t''
action_executed\t''
action_refused\t''
tool_not_found\t''
action_timeout\t''
action_memory_exceeded\t''
action_errored\t''
action_completed\t''
action_failed\t''
iam_policy_set\t''
ledger_tail_quarantined\t''
ledger_tail_adopted\t''
ledger_history_adopted\t''
action_started\t''
action_interrupted\t''
andon_raised\t''
andon_cleared\t''
action_polled\t''"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l from-seq -d 'Only receipts with seq at least N' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l to-seq -d 'Only receipts with seq at most N' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l since -d 'Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l until -d 'Only receipts before TIME (RFC 3339, a date, or epoch seconds)' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l allow-broken -d 'Show the receipts even when the chain does not verify (exit 0, with a warning)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l tenant -d 'The tenant whose receipts to export' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l format -d 'Export format [default: from the --output file\'s extension: .json, .jsonl, .csv, .md]' -r -f -a "json\t''
jsonl\t''
csv\t''
markdown\t''"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -s o -l output -d 'Write to FILE instead of standard output' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l event -d 'Only receipts of this event type (repeat for several)' -r -f -a "entitlement_activated\t''
entitlement_updated\t''
entitlement_renewed\t''
entitlement_suspended\t''
entitlement_reinstated\t''
entitlement_cancelled\t''
entitlement_expired\t''
entitlement_update_refused\t''
tool_surface_changed\t''
signal_processed\t''
signal_refused\t''
signal_postponed\t''
action_executed\t''
action_refused\t''
tool_not_found\t''
action_timeout\t''
action_memory_exceeded\t''
action_errored\t''
action_completed\t''
action_failed\t''
iam_policy_set\t''
ledger_tail_quarantined\t''
ledger_tail_adopted\t''
ledger_history_adopted\t''
action_started\t''
action_interrupted\t''
andon_raised\t''
andon_cleared\t''
action_polled\t''"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l from-seq -d 'Only receipts with seq at least N' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l to-seq -d 'Only receipts with seq at most N' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l since -d 'Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l until -d 'Only receipts before TIME (RFC 3339, a date, or epoch seconds)' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l allow-broken -d 'Export the receipts even when the chain does not verify (exit 0, with a warning)'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -s o -l out -d 'Write to FILE instead of standard output' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from checkpoint" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -s o -l out -d 'Write to FILE instead of standard output' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from manifest" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l tenant -d 'The tenant' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l seq -d 'The receipt to prove included in the latest signed checkpoint' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l from-checkpoint -d 'Prove instead that the latest checkpoint extends this kept one (consistency)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -s o -l out -d 'Write to FILE instead of standard output' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from prove" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l public-key -d 'The public key the checkpoints must be signed with (repeatable)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from verify-proof" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show a tenant\'s receipts as a table'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "export" -d 'Write a tenant\'s receipts as JSON, JSONL, CSV or Markdown'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "checkpoint" -d 'Print a tenant\'s latest signed checkpoint (JSON), to keep outside tai'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "manifest" -d 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "prove" -d 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "verify-proof" -d 'Check a proof file with the public key alone'
complete -c tai -n "__fish_tai_using_subcommand receipts; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -f -a "new" -d 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)'
complete -c tai -n "__fish_tai_using_subcommand keys; and not __fish_seen_subcommand_from new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l out -d 'Where to write: PREFIX.key and PREFIX.pub' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l force -d 'Overwrite existing files'
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "new" -d 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)'
complete -c tai -n "__fish_tai_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -f -a "migrate" -d 'Copy every tenant\'s chain from a state directory into a PostgreSQL ledger'
complete -c tai -n "__fish_tai_using_subcommand ledger; and not __fish_seen_subcommand_from migrate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l from -d 'The state directory holding the ledgers' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l to -d 'The PostgreSQL URL to copy into' -r
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l public-key -d 'Also require every chain\'s checkpoints, up to its head, to be signed with this key before copying (repeatable, as for `tai receipts verify`)' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from migrate" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "migrate" -d 'Copy every tenant\'s chain from a state directory into a PostgreSQL ledger'
complete -c tai -n "__fish_tai_using_subcommand ledger; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand serve" -l addr -d 'Address to listen on, IP:PORT (port 0 picks a free port and prints it)' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l admin-token -d 'The admin token [default: generated and printed on stderr]' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l tenant-token -d 'A tenant\'s token, TENANT=TOKEN (repeatable)' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l tokens-file -d 'Read the admin and tenant tokens from FILE (TOML, mode 0600 or stricter), once' -r -F
complete -c tai -n "__fish_tai_using_subcommand serve" -l marketplace-records -d 'GCP entitlement resources and AWS GetEntitlements responses (a JSON file or a directory) that `POST /v1/marketplace/{gcp|aws|azure}` maps notifications through' -r -F
complete -c tai -n "__fish_tai_using_subcommand serve" -l max-body -d 'Largest request body accepted, in bytes (larger is answered 413)' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l request-timeout -d 'Longest a request may take before it is answered 503 (30s, 2m, ...)' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l header-timeout -d 'Longest a client may take to send a request\'s headers before it is disconnected' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l idle-timeout -d 'Longest a connection may sit idle between requests before it is closed' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l max-connections -d 'Most connections open at once (more are closed as soon as they are accepted)' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l shutdown-timeout -d 'Longest shutdown waits for open connections before closing them' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l browser-login -d 'Browser sign-in (the login link and session cookie of the demo page): auto is on for a loopback --addr only' -r -f -a "auto\t'On when listening on a loopback address'
on\t'On wherever the server listens (put TLS in front: the cookie travels with each request)'
off\t'Off: the API takes bearer tokens only'"
complete -c tai -n "__fish_tai_using_subcommand serve" -l log-level -d 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG\'s directives when set, else info]' -r -f -a "off\t'Nothing'
error\t'Failures on the server\'s side'
warn\t'Also what looks wrong but was handled'
info\t'Also notable events'
debug\t'Also one event per request (method, path, status, duration, request id)'
trace\t'Everything'"
complete -c tai -n "__fish_tai_using_subcommand serve" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand serve" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand serve" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand serve" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand serve" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand serve" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand serve" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand serve" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand serve" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand mcp" -s t -l tenant -d 'The tenant whose tools to serve' -r
complete -c tai -n "__fish_tai_using_subcommand mcp" -l sku -d 'When the tenant has no active entitlement, activate one on this SKU; then boot the governor if it is still booting, so tools are callable at once' -r
complete -c tai -n "__fish_tai_using_subcommand mcp" -l log-level -d 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG\'s directives when set, else info]' -r -f -a "off\t'Nothing'
error\t'Failures on the server\'s side'
warn\t'Also what looks wrong but was handled'
info\t'Also notable events'
debug\t'Also one event per request (method, path, status, duration, request id)'
trace\t'Everything'"
complete -c tai -n "__fish_tai_using_subcommand mcp" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand mcp" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand mcp" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand mcp" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand mcp" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand mcp" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand mcp" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand mcp" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand mcp" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand demo" -l addr -d 'Address to listen on: a loopback IP and a port (0 picks a free one)' -r
complete -c tai -n "__fish_tai_using_subcommand demo" -l tenant -d 'The demo tenant' -r
complete -c tai -n "__fish_tai_using_subcommand demo" -l sku -d 'The plan the demo tenant starts on [default: the cheapest]' -r
complete -c tai -n "__fish_tai_using_subcommand demo" -l admin-token -d 'The admin token [default: generated and printed on stderr]' -r
complete -c tai -n "__fish_tai_using_subcommand demo" -l log-level -d 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG\'s directives when set, else info]' -r -f -a "off\t'Nothing'
error\t'Failures on the server\'s side'
warn\t'Also what looks wrong but was handled'
info\t'Also notable events'
debug\t'Also one event per request (method, path, status, duration, request id)'
trace\t'Everything'"
complete -c tai -n "__fish_tai_using_subcommand demo" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand demo" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand demo" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand demo" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand demo" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand demo" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand demo" -l open -d 'Open the login link in the default browser (with xdg-open)'
complete -c tai -n "__fish_tai_using_subcommand demo" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand demo" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand completions" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand completions" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand completions" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand completions" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand completions" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand completions" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand completions" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand completions" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand doctor" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand doctor" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand doctor" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand doctor" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand doctor" -l now -d 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace' -r
complete -c tai -n "__fish_tai_using_subcommand doctor" -l signing-key -d 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only' -r -F
complete -c tai -n "__fish_tai_using_subcommand doctor" -l previous-key -d 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant\'s latest checkpoint, a crashed writer\'s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned' -r -F
complete -c tai -n "__fish_tai_using_subcommand doctor" -l adopt-unsigned -d 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain\'s checkpoints would otherwise get a rewritten history signed'
complete -c tai -n "__fish_tai_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "simulate" -d 'Run a scenario (or the built-in demo) and print the timeline of its receipts'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "validate" -d 'Check pack and SKU files and report every problem with file, line and column'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "test" -d 'Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "pack" -d 'Browse packs, or scaffold a new one'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "sku" -d 'Browse SKUs and compare plans'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "tools" -d 'Show the tools a SKU exposes and whether its roles allow each one'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "schema" -d 'Print the JSON Schema of pack or SKU files'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "event" -d 'Send an entitlement event to a tenant in the local workspace'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "call" -d 'Call a tool as a tenant (through the governor\'s gates)'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "signal" -d 'Send a signal to a tenant\'s governor'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "action" -d 'Report a tenant\'s in-flight action complete or failed'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "state" -d 'Show tenants\' governor state, entitlement and visible tools'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "iam" -d 'Set, show or clear a tenant\'s IAM policy: who holds which of its plan\'s roles'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "andon" -d 'Show or clear the critical Andons that stop a tenant\'s packs'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "receipts" -d 'Verify, show and export receipt chains; prove a receipt is in the signed history'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "keys" -d 'Create the Ed25519 key pair that signs checkpoints'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "ledger" -d 'Copy receipt chains from a state directory into a PostgreSQL ledger'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "serve" -d 'Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "mcp" -d 'Serve one tenant\'s tools over the Model Context Protocol on stdin/stdout'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "demo" -d 'Start the demo: the server and its web page on loopback, a fresh workspace, a tenant'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "doctor" -d 'Report which protections command handlers get on this machine'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from simulate validate test pack sku tools schema event call signal action state iam andon receipts keys ledger serve mcp demo completions doctor help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from pack" -f -a "list" -d 'List every pack with its tools, roles and the SKUs that enable it'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from pack" -f -a "show" -d 'Show one pack: tools, actions with roles and preconditions, limits'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from pack" -f -a "new" -d 'Write a new, commented pack file that passes validation'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "list" -d 'List every SKU with its title, price, packs, tool count and roles: the price ladder'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "show" -d 'Show one SKU: listing, packs, roles and the tools its roles can run'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "diff" -d 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "compare" -d 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "activate" -d 'A purchase: entitlement.activated'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "change" -d 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "renew" -d 'entitlement.renewed (expiry moves forward one term, or to --expires)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "suspend" -d 'entitlement.suspended (tools stay listed; every call is refused)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "reinstate" -d 'entitlement.reinstated'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "cancel" -d 'entitlement.cancelled (every pack is disabled)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "approve" -d 'entitlement.approved: the provider approves a pending purchase or plan change'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "reject" -d 'entitlement.withdrawn: the provider rejects a pending purchase or plan change'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from event" -f -a "import" -d 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from iam" -f -a "set" -d 'Set the tenant\'s policy from a YAML, JSON or TOML file (recorded as a receipt)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from iam" -f -a "show" -d 'Show the tenant\'s policy, and the receipt that set it'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from iam" -f -a "clear" -d 'Remove the tenant\'s policy: callers hold the roles the plan grants again'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from andon" -f -a "show" -d 'Show the critical Andons stopping the tenant\'s packs'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from andon" -f -a "clear" -d 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "verify" -d 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "show" -d 'Show a tenant\'s receipts as a table'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "export" -d 'Write a tenant\'s receipts as JSON, JSONL, CSV or Markdown'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "checkpoint" -d 'Print a tenant\'s latest signed checkpoint (JSON), to keep outside tai'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "manifest" -d 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "prove" -d 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from receipts" -f -a "verify-proof" -d 'Check a proof file with the public key alone'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "new" -d 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from ledger" -f -a "migrate" -d 'Copy every tenant\'s chain from a state directory into a PostgreSQL ledger'
