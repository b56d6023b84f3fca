
use builtin;
use str;

set edit:completion:arg-completer[tai] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tai'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tai'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --ledger 'Where receipts are kept: a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB), shared by every server pointed at it; given before the command (`tai --ledger URL serve`) [default: the ledgers in the state directory]'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand simulate 'Run a scenario (or the built-in demo) and print the timeline of its receipts'
            cand validate 'Check pack and SKU files and report every problem with file, line and column'
            cand test 'Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML'
            cand pack 'Browse packs, or scaffold a new one'
            cand sku 'Browse SKUs and compare plans'
            cand tools 'Show the tools a SKU exposes and whether its roles allow each one'
            cand schema 'Print the JSON Schema of pack or SKU files'
            cand event 'Send an entitlement event to a tenant in the local workspace'
            cand call 'Call a tool as a tenant (through the governor''s gates)'
            cand signal 'Send a signal to a tenant''s governor'
            cand action 'Report a tenant''s in-flight action complete or failed'
            cand state 'Show tenants'' governor state, entitlement and visible tools'
            cand iam 'Set, show or clear a tenant''s IAM policy: who holds which of its plan''s roles'
            cand andon 'Show or clear the critical Andons that stop a tenant''s packs'
            cand receipts 'Verify, show and export receipt chains; prove a receipt is in the signed history'
            cand keys 'Create the Ed25519 key pair that signs checkpoints'
            cand ledger 'Copy receipt chains from a state directory into a PostgreSQL ledger'
            cand serve 'Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp'
            cand mcp 'Serve one tenant''s tools over the Model Context Protocol on stdin/stdout'
            cand demo 'Start the demo: the server and its web page on loopback, a fresh workspace, a tenant'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand doctor 'Report which protections command handlers get on this machine'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;simulate'= {
            cand --format 'Output format: the timeline, JSON, or a report (HTML page or Markdown) with the plans, the governor''s diagram, the timeline and every receipt'
            cand --seed 'Seed for receipt ids (overrides the scenario''s)'
            cand --ledger 'Keep every tenant''s receipts in DIR as a state directory (a fresh one), e.g. to run `tai --state DIR receipts verify --all` afterwards'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --step 'Pause after each step until Enter is pressed (a prompt on stderr), to walk an audience through the story; end of input shows the rest without pausing'
            cand --print-story 'Print the built-in demo story as an editable scenario file and exit'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;validate'= {
            cand --format 'Output format'
            cand --allow 'Accept warnings with this rule code (repeatable); a file can also allow codes for itself with a comment line `# tai: allow CODE, CODE (why)`'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --deny-warnings 'Exit 1 on warnings too'
            cand --list-rules 'List the rule codes with what each checks, and exit'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;test'= {
            cand --filter 'Only run scenarios whose name or file path contains TEXT'
            cand --format 'Output format'
            cand --junit 'Also write a JUnit XML report to FILE'
            cand --min-coverage 'Fail when overall coverage is below P percent (implies --coverage)'
            cand --coverage-scope 'What overall coverage counts: the packs'' tools, actions and preconditions, or also the governor''s transitions (implies --coverage)'
            cand -j 'Worker threads [default: one per core]'
            cand --jobs 'Worker threads [default: one per core]'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --fail-fast 'Start no new scenario after the first failure'
            cand --coverage 'Report which tools, actions, precondition checks and governor transitions ran'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List every pack with its tools, roles and the SKUs that enable it'
            cand show 'Show one pack: tools, actions with roles and preconditions, limits'
            cand new 'Write a new, commented pack file that passes validation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;pack;list'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack;show'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack;new'= {
            cand -o 'Folder to write `<id>.yaml|toml` into, or `-` for stdout'
            cand --output 'Folder to write `<id>.yaml|toml` into, or `-` for stdout'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --toml 'Write TOML instead of YAML'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack;help'= {
            cand list 'List every pack with its tools, roles and the SKUs that enable it'
            cand show 'Show one pack: tools, actions with roles and preconditions, limits'
            cand new 'Write a new, commented pack file that passes validation'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;pack;help;list'= {
        }
        &'tai;pack;help;show'= {
        }
        &'tai;pack;help;new'= {
        }
        &'tai;pack;help;help'= {
        }
        &'tai;sku'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List every SKU with its title, price, packs, tool count and roles: the price ladder'
            cand show 'Show one SKU: listing, packs, roles and the tools its roles can run'
            cand diff 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
            cand compare 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;sku;list'= {
            cand --sort 'Order: by price (the ladder) or by id'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;show'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --warnings 'Also list the actions this plan''s roles cannot run, as warnings for pack authors'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;diff'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;compare'= {
            cand --format 'Output format: the matrix, JSON, or a report (an HTML page or a Markdown table)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;help'= {
            cand list 'List every SKU with its title, price, packs, tool count and roles: the price ladder'
            cand show 'Show one SKU: listing, packs, roles and the tools its roles can run'
            cand diff 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
            cand compare 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;sku;help;list'= {
        }
        &'tai;sku;help;show'= {
        }
        &'tai;sku;help;diff'= {
        }
        &'tai;sku;help;compare'= {
        }
        &'tai;sku;help;help'= {
        }
        &'tai;tools'= {
            cand --sku 'SKU whose tool surface to show'
            cand --format 'Output format (JSON: name, pack, description, input_schema, action, usable, missing_roles, ...)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;schema'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event'= {
            cand --file 'A raw entitlement event (JSON or YAML) in the marketplace''s shape'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand activate 'A purchase: entitlement.activated'
            cand change 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
            cand plan-change 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
            cand renew 'entitlement.renewed (expiry moves forward one term, or to --expires)'
            cand suspend 'entitlement.suspended (tools stay listed; every call is refused)'
            cand reinstate 'entitlement.reinstated'
            cand cancel 'entitlement.cancelled (every pack is disabled)'
            cand approve 'entitlement.approved: the provider approves a pending purchase or plan change'
            cand reject 'entitlement.withdrawn: the provider rejects a pending purchase or plan change'
            cand import 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;event;activate'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;change'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;plan-change'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;renew'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;suspend'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;reinstate'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;cancel'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;approve'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;reject'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --sku 'The SKU (required for activate and change)'
            cand --plan 'The marketplace plan (checked against the SKU''s)'
            cand --pack 'Enable only these packs [default: all of the SKU''s]'
            cand --role 'Grant only these roles [default: all of the SKU''s]'
            cand --expires 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;import'= {
            cand --from 'The marketplace that sent the notifications'
            cand --resources 'GCP entitlement resources or AWS GetEntitlements responses (a JSON file or a directory)'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;event;help'= {
            cand activate 'A purchase: entitlement.activated'
            cand change 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
            cand renew 'entitlement.renewed (expiry moves forward one term, or to --expires)'
            cand suspend 'entitlement.suspended (tools stay listed; every call is refused)'
            cand reinstate 'entitlement.reinstated'
            cand cancel 'entitlement.cancelled (every pack is disabled)'
            cand approve 'entitlement.approved: the provider approves a pending purchase or plan change'
            cand reject 'entitlement.withdrawn: the provider rejects a pending purchase or plan change'
            cand import 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;event;help;activate'= {
        }
        &'tai;event;help;change'= {
        }
        &'tai;event;help;renew'= {
        }
        &'tai;event;help;suspend'= {
        }
        &'tai;event;help;reinstate'= {
        }
        &'tai;event;help;cancel'= {
        }
        &'tai;event;help;approve'= {
        }
        &'tai;event;help;reject'= {
        }
        &'tai;event;help;import'= {
        }
        &'tai;event;help;help'= {
        }
        &'tai;call'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --arg 'A tool argument, KEY=VALUE (repeatable), typed by the tool''s input schema'
            cand --argument 'A tool argument, KEY=VALUE (repeatable), typed by the tool''s input schema'
            cand --context 'Call context for preconditions, KEY=VALUE (repeatable)'
            cand --idempotency-key 'A key for this call: run again with the same key, it answers the first outcome and runs nothing (also across restarts; the key is kept in the receipt)'
            cand --principal 'Who calls (user:EMAIL or serviceAccount:EMAIL); under the tenant''s IAM policy the action''s roles must be bound to this principal'
            cand --timeout 'A wall-clock limit for this call (e.g. 2s, 500ms): it may tighten the action''s timeout, never loosen it; the receipt says which limit was in force and why'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;signal'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --name 'The signal''s name'
            cand --fact 'A fact the signal records, KEY=VALUE (repeatable)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;action'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --action 'The id of the action resolved (`act_…`, as `tai state` shows it)'
            cand --detail 'A note recorded in the receipt'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;state'= {
            cand -t 'The tenant [default: list every tenant]'
            cand --tenant 'The tenant [default: list every tenant]'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;iam'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand set 'Set the tenant''s policy from a YAML, JSON or TOML file (recorded as a receipt)'
            cand show 'Show the tenant''s policy, and the receipt that set it'
            cand clear 'Remove the tenant''s policy: callers hold the roles the plan grants again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;iam;set'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;iam;show'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;iam;clear'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;iam;help'= {
            cand set 'Set the tenant''s policy from a YAML, JSON or TOML file (recorded as a receipt)'
            cand show 'Show the tenant''s policy, and the receipt that set it'
            cand clear 'Remove the tenant''s policy: callers hold the roles the plan grants again'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;iam;help;set'= {
        }
        &'tai;iam;help;show'= {
        }
        &'tai;iam;help;clear'= {
        }
        &'tai;iam;help;help'= {
        }
        &'tai;andon'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand show 'Show the critical Andons stopping the tenant''s packs'
            cand clear 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;andon;show'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;andon;clear'= {
            cand -t 'The tenant'
            cand --tenant 'The tenant'
            cand --format 'Output format'
            cand --principal 'Who acknowledged it, for the receipt (`user:oncall@acme.com`)'
            cand --note 'What they found or did, for the receipt'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;andon;help'= {
            cand show 'Show the critical Andons stopping the tenant''s packs'
            cand clear 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;andon;help;show'= {
        }
        &'tai;andon;help;clear'= {
        }
        &'tai;andon;help;help'= {
        }
        &'tai;receipts'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand verify 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq'
            cand show 'Show a tenant''s receipts as a table'
            cand export 'Write a tenant''s receipts as JSON, JSONL, CSV or Markdown'
            cand checkpoint 'Print a tenant''s latest signed checkpoint (JSON), to keep outside tai'
            cand manifest 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai'
            cand prove 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger'
            cand verify-proof 'Check a proof file with the public key alone'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;receipts;verify'= {
            cand --tenant 'The tenant whose chain to verify'
            cand --public-key 'Require every chain''s checkpoints, up to its head, to be signed with this key (repeatable, for keys used in turn)'
            cand --checkpoint 'Also require the chain to extend this kept checkpoint (from `tai receipts checkpoint`)'
            cand --manifest 'Also require every tenant this kept manifest lists (from `tai receipts manifest`) to be listed still: a tenant deleted with the manifest put back to an older one fails'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --all 'Verify every tenant in the state directory (or the --ledger database)'
            cand --deep 'Also parse every receipt and check its canonical encoding (slower)'
            cand --strict-time 'Also fail a chain whose receipt times go backwards (e.g. written partly under `--now`/`TAI_NOW` and partly on the real clock)'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;show'= {
            cand --tenant 'The tenant whose receipts to show'
            cand --event 'Only receipts of this event type (repeat for several)'
            cand --from-seq 'Only receipts with seq at least N'
            cand --to-seq 'Only receipts with seq at most N'
            cand --since 'Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)'
            cand --until 'Only receipts before TIME (RFC 3339, a date, or epoch seconds)'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --allow-broken 'Show the receipts even when the chain does not verify (exit 0, with a warning)'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;export'= {
            cand --tenant 'The tenant whose receipts to export'
            cand --format 'Export format [default: from the --output file''s extension: .json, .jsonl, .csv, .md]'
            cand -o 'Write to FILE instead of standard output'
            cand --output 'Write to FILE instead of standard output'
            cand --event 'Only receipts of this event type (repeat for several)'
            cand --from-seq 'Only receipts with seq at least N'
            cand --to-seq 'Only receipts with seq at most N'
            cand --since 'Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)'
            cand --until 'Only receipts before TIME (RFC 3339, a date, or epoch seconds)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --allow-broken 'Export the receipts even when the chain does not verify (exit 0, with a warning)'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;checkpoint'= {
            cand --tenant 'The tenant'
            cand -o 'Write to FILE instead of standard output'
            cand --out 'Write to FILE instead of standard output'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;manifest'= {
            cand -o 'Write to FILE instead of standard output'
            cand --out 'Write to FILE instead of standard output'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;prove'= {
            cand --tenant 'The tenant'
            cand --seq 'The receipt to prove included in the latest signed checkpoint'
            cand --from-checkpoint 'Prove instead that the latest checkpoint extends this kept one (consistency)'
            cand -o 'Write to FILE instead of standard output'
            cand --out 'Write to FILE instead of standard output'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;verify-proof'= {
            cand --public-key 'The public key the checkpoints must be signed with (repeatable)'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;receipts;help'= {
            cand verify 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq'
            cand show 'Show a tenant''s receipts as a table'
            cand export 'Write a tenant''s receipts as JSON, JSONL, CSV or Markdown'
            cand checkpoint 'Print a tenant''s latest signed checkpoint (JSON), to keep outside tai'
            cand manifest 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai'
            cand prove 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger'
            cand verify-proof 'Check a proof file with the public key alone'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;receipts;help;verify'= {
        }
        &'tai;receipts;help;show'= {
        }
        &'tai;receipts;help;export'= {
        }
        &'tai;receipts;help;checkpoint'= {
        }
        &'tai;receipts;help;manifest'= {
        }
        &'tai;receipts;help;prove'= {
        }
        &'tai;receipts;help;verify-proof'= {
        }
        &'tai;receipts;help;help'= {
        }
        &'tai;keys'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand new 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;keys;new'= {
            cand --out 'Where to write: PREFIX.key and PREFIX.pub'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --force 'Overwrite existing files'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;keys;help'= {
            cand new 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;keys;help;new'= {
        }
        &'tai;keys;help;help'= {
        }
        &'tai;ledger'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand migrate 'Copy every tenant''s chain from a state directory into a PostgreSQL ledger'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;ledger;migrate'= {
            cand --from 'The state directory holding the ledgers'
            cand --to 'The PostgreSQL URL to copy into'
            cand --public-key 'Also require every chain''s checkpoints, up to its head, to be signed with this key before copying (repeatable, as for `tai receipts verify`)'
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;ledger;help'= {
            cand migrate 'Copy every tenant''s chain from a state directory into a PostgreSQL ledger'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;ledger;help;migrate'= {
        }
        &'tai;ledger;help;help'= {
        }
        &'tai;serve'= {
            cand --addr 'Address to listen on, IP:PORT (port 0 picks a free port and prints it)'
            cand --admin-token 'The admin token [default: generated and printed on stderr]'
            cand --tenant-token 'A tenant''s token, TENANT=TOKEN (repeatable)'
            cand --tokens-file 'Read the admin and tenant tokens from FILE (TOML, mode 0600 or stricter), once'
            cand --marketplace-records 'GCP entitlement resources and AWS GetEntitlements responses (a JSON file or a directory) that `POST /v1/marketplace/{gcp|aws|azure}` maps notifications through'
            cand --max-body 'Largest request body accepted, in bytes (larger is answered 413)'
            cand --request-timeout 'Longest a request may take before it is answered 503 (30s, 2m, ...)'
            cand --header-timeout 'Longest a client may take to send a request''s headers before it is disconnected'
            cand --idle-timeout 'Longest a connection may sit idle between requests before it is closed'
            cand --max-connections 'Most connections open at once (more are closed as soon as they are accepted)'
            cand --shutdown-timeout 'Longest shutdown waits for open connections before closing them'
            cand --browser-login 'Browser sign-in (the login link and session cookie of the demo page): auto is on for a loopback --addr only'
            cand --log-level 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG''s directives when set, else info]'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;mcp'= {
            cand -t 'The tenant whose tools to serve'
            cand --tenant 'The tenant whose tools to serve'
            cand --sku 'When the tenant has no active entitlement, activate one on this SKU; then boot the governor if it is still booting, so tools are callable at once'
            cand --log-level 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG''s directives when set, else info]'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;demo'= {
            cand --addr 'Address to listen on: a loopback IP and a port (0 picks a free one)'
            cand --tenant 'The demo tenant'
            cand --sku 'The plan the demo tenant starts on [default: the cheapest]'
            cand --admin-token 'The admin token [default: generated and printed on stderr]'
            cand --log-level 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG''s directives when set, else info]'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --open 'Open the login link in the default browser (with xdg-open)'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;completions'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;doctor'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --now 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace'
            cand --signing-key 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only'
            cand --previous-key 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned'
            cand --adopt-unsigned 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;help'= {
            cand simulate 'Run a scenario (or the built-in demo) and print the timeline of its receipts'
            cand validate 'Check pack and SKU files and report every problem with file, line and column'
            cand test 'Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML'
            cand pack 'Browse packs, or scaffold a new one'
            cand sku 'Browse SKUs and compare plans'
            cand tools 'Show the tools a SKU exposes and whether its roles allow each one'
            cand schema 'Print the JSON Schema of pack or SKU files'
            cand event 'Send an entitlement event to a tenant in the local workspace'
            cand call 'Call a tool as a tenant (through the governor''s gates)'
            cand signal 'Send a signal to a tenant''s governor'
            cand action 'Report a tenant''s in-flight action complete or failed'
            cand state 'Show tenants'' governor state, entitlement and visible tools'
            cand iam 'Set, show or clear a tenant''s IAM policy: who holds which of its plan''s roles'
            cand andon 'Show or clear the critical Andons that stop a tenant''s packs'
            cand receipts 'Verify, show and export receipt chains; prove a receipt is in the signed history'
            cand keys 'Create the Ed25519 key pair that signs checkpoints'
            cand ledger 'Copy receipt chains from a state directory into a PostgreSQL ledger'
            cand serve 'Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp'
            cand mcp 'Serve one tenant''s tools over the Model Context Protocol on stdin/stdout'
            cand demo 'Start the demo: the server and its web page on loopback, a fresh workspace, a tenant'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand doctor 'Report which protections command handlers get on this machine'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;help;simulate'= {
        }
        &'tai;help;validate'= {
        }
        &'tai;help;test'= {
        }
        &'tai;help;pack'= {
            cand list 'List every pack with its tools, roles and the SKUs that enable it'
            cand show 'Show one pack: tools, actions with roles and preconditions, limits'
            cand new 'Write a new, commented pack file that passes validation'
        }
        &'tai;help;pack;list'= {
        }
        &'tai;help;pack;show'= {
        }
        &'tai;help;pack;new'= {
        }
        &'tai;help;sku'= {
            cand list 'List every SKU with its title, price, packs, tool count and roles: the price ladder'
            cand show 'Show one SKU: listing, packs, roles and the tools its roles can run'
            cand diff 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
            cand compare 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it'
        }
        &'tai;help;sku;list'= {
        }
        &'tai;help;sku;show'= {
        }
        &'tai;help;sku;diff'= {
        }
        &'tai;help;sku;compare'= {
        }
        &'tai;help;tools'= {
        }
        &'tai;help;schema'= {
        }
        &'tai;help;event'= {
            cand activate 'A purchase: entitlement.activated'
            cand change 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)'
            cand renew 'entitlement.renewed (expiry moves forward one term, or to --expires)'
            cand suspend 'entitlement.suspended (tools stay listed; every call is refused)'
            cand reinstate 'entitlement.reinstated'
            cand cancel 'entitlement.cancelled (every pack is disabled)'
            cand approve 'entitlement.approved: the provider approves a pending purchase or plan change'
            cand reject 'entitlement.withdrawn: the provider rejects a pending purchase or plan change'
            cand import 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent'
        }
        &'tai;help;event;activate'= {
        }
        &'tai;help;event;change'= {
        }
        &'tai;help;event;renew'= {
        }
        &'tai;help;event;suspend'= {
        }
        &'tai;help;event;reinstate'= {
        }
        &'tai;help;event;cancel'= {
        }
        &'tai;help;event;approve'= {
        }
        &'tai;help;event;reject'= {
        }
        &'tai;help;event;import'= {
        }
        &'tai;help;call'= {
        }
        &'tai;help;signal'= {
        }
        &'tai;help;action'= {
        }
        &'tai;help;state'= {
        }
        &'tai;help;iam'= {
            cand set 'Set the tenant''s policy from a YAML, JSON or TOML file (recorded as a receipt)'
            cand show 'Show the tenant''s policy, and the receipt that set it'
            cand clear 'Remove the tenant''s policy: callers hold the roles the plan grants again'
        }
        &'tai;help;iam;set'= {
        }
        &'tai;help;iam;show'= {
        }
        &'tai;help;iam;clear'= {
        }
        &'tai;help;andon'= {
            cand show 'Show the critical Andons stopping the tenant''s packs'
            cand clear 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)'
        }
        &'tai;help;andon;show'= {
        }
        &'tai;help;andon;clear'= {
        }
        &'tai;help;receipts'= {
            cand verify 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq'
            cand show 'Show a tenant''s receipts as a table'
            cand export 'Write a tenant''s receipts as JSON, JSONL, CSV or Markdown'
            cand checkpoint 'Print a tenant''s latest signed checkpoint (JSON), to keep outside tai'
            cand manifest 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai'
            cand prove 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger'
            cand verify-proof 'Check a proof file with the public key alone'
        }
        &'tai;help;receipts;verify'= {
        }
        &'tai;help;receipts;show'= {
        }
        &'tai;help;receipts;export'= {
        }
        &'tai;help;receipts;checkpoint'= {
        }
        &'tai;help;receipts;manifest'= {
        }
        &'tai;help;receipts;prove'= {
        }
        &'tai;help;receipts;verify-proof'= {
        }
        &'tai;help;keys'= {
            cand new 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)'
        }
        &'tai;help;keys;new'= {
        }
        &'tai;help;ledger'= {
            cand migrate 'Copy every tenant''s chain from a state directory into a PostgreSQL ledger'
        }
        &'tai;help;ledger;migrate'= {
        }
        &'tai;help;serve'= {
        }
        &'tai;help;mcp'= {
        }
        &'tai;help;demo'= {
        }
        &'tai;help;completions'= {
        }
        &'tai;help;doctor'= {
        }
        &'tai;help;help'= {
        }
    ]
    $completions[$command]
}
