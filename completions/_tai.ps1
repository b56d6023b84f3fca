
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'tai' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'tai'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'tai' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'Where receipts are kept: a PostgreSQL URL (postgres://USER:PASSWORD@HOST:PORT/DB), shared by every server pointed at it; given before the command (`tai --ledger URL serve`) [default: the ledgers in the state directory]')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Run a scenario (or the built-in demo) and print the timeline of its receipts')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check pack and SKU files and report every problem with file, line and column')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML')
            [CompletionResult]::new('pack', 'pack', [CompletionResultType]::ParameterValue, 'Browse packs, or scaffold a new one')
            [CompletionResult]::new('sku', 'sku', [CompletionResultType]::ParameterValue, 'Browse SKUs and compare plans')
            [CompletionResult]::new('tools', 'tools', [CompletionResultType]::ParameterValue, 'Show the tools a SKU exposes and whether its roles allow each one')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of pack or SKU files')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Send an entitlement event to a tenant in the local workspace')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call a tool as a tenant (through the governor''s gates)')
            [CompletionResult]::new('signal', 'signal', [CompletionResultType]::ParameterValue, 'Send a signal to a tenant''s governor')
            [CompletionResult]::new('action', 'action', [CompletionResultType]::ParameterValue, 'Report a tenant''s in-flight action complete or failed')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Show tenants'' governor state, entitlement and visible tools')
            [CompletionResult]::new('iam', 'iam', [CompletionResultType]::ParameterValue, 'Set, show or clear a tenant''s IAM policy: who holds which of its plan''s roles')
            [CompletionResult]::new('andon', 'andon', [CompletionResultType]::ParameterValue, 'Show or clear the critical Andons that stop a tenant''s packs')
            [CompletionResult]::new('receipts', 'receipts', [CompletionResultType]::ParameterValue, 'Verify, show and export receipt chains; prove a receipt is in the signed history')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Create the Ed25519 key pair that signs checkpoints')
            [CompletionResult]::new('ledger', 'ledger', [CompletionResultType]::ParameterValue, 'Copy receipt chains from a state directory into a PostgreSQL ledger')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Serve one tenant''s tools over the Model Context Protocol on stdin/stdout')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Start the demo: the server and its web page on loopback, a fresh workspace, a tenant')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Report which protections command handlers get on this machine')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;simulate' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: the timeline, JSON, or a report (HTML page or Markdown) with the plans, the governor''s diagram, the timeline and every receipt')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed for receipt ids (overrides the scenario''s)')
            [CompletionResult]::new('--ledger', '--ledger', [CompletionResultType]::ParameterName, 'Keep every tenant''s receipts in DIR as a state directory (a fresh one), e.g. to run `tai --state DIR receipts verify --all` afterwards')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--step', '--step', [CompletionResultType]::ParameterName, 'Pause after each step until Enter is pressed (a prompt on stderr), to walk an audience through the story; end of input shows the rest without pausing')
            [CompletionResult]::new('--print-story', '--print-story', [CompletionResultType]::ParameterName, 'Print the built-in demo story as an editable scenario file and exit')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;validate' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--allow', '--allow', [CompletionResultType]::ParameterName, 'Accept warnings with this rule code (repeatable); a file can also allow codes for itself with a comment line `# tai: allow CODE, CODE (why)`')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--deny-warnings', '--deny-warnings', [CompletionResultType]::ParameterName, 'Exit 1 on warnings too')
            [CompletionResult]::new('--list-rules', '--list-rules', [CompletionResultType]::ParameterName, 'List the rule codes with what each checks, and exit')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;test' {
            [CompletionResult]::new('--filter', '--filter', [CompletionResultType]::ParameterName, 'Only run scenarios whose name or file path contains TEXT')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--junit', '--junit', [CompletionResultType]::ParameterName, 'Also write a JUnit XML report to FILE')
            [CompletionResult]::new('--min-coverage', '--min-coverage', [CompletionResultType]::ParameterName, 'Fail when overall coverage is below P percent (implies --coverage)')
            [CompletionResult]::new('--coverage-scope', '--coverage-scope', [CompletionResultType]::ParameterName, 'What overall coverage counts: the packs'' tools, actions and preconditions, or also the governor''s transitions (implies --coverage)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Worker threads [default: one per core]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Worker threads [default: one per core]')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--fail-fast', '--fail-fast', [CompletionResultType]::ParameterName, 'Start no new scenario after the first failure')
            [CompletionResult]::new('--coverage', '--coverage', [CompletionResultType]::ParameterName, 'Report which tools, actions, precondition checks and governor transitions ran')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every pack with its tools, roles and the SKUs that enable it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one pack: tools, actions with roles and preconditions, limits')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new, commented pack file that passes validation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;pack;list' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack;show' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack;new' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Folder to write `<id>.yaml|toml` into, or `-` for stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Folder to write `<id>.yaml|toml` into, or `-` for stdout')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--toml', '--toml', [CompletionResultType]::ParameterName, 'Write TOML instead of YAML')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every pack with its tools, roles and the SKUs that enable it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one pack: tools, actions with roles and preconditions, limits')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new, commented pack file that passes validation')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;pack;help;list' {
            break
        }
        'tai;pack;help;show' {
            break
        }
        'tai;pack;help;new' {
            break
        }
        'tai;pack;help;help' {
            break
        }
        'tai;sku' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every SKU with its title, price, packs, tool count and roles: the price ladder')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one SKU: listing, packs, roles and the tools its roles can run')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price')
            [CompletionResult]::new('compare', 'compare', [CompletionResultType]::ParameterValue, 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;sku;list' {
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Order: by price (the ladder) or by id')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;show' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--warnings', '--warnings', [CompletionResultType]::ParameterName, 'Also list the actions this plan''s roles cannot run, as warnings for pack authors')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;diff' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;compare' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format: the matrix, JSON, or a report (an HTML page or a Markdown table)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every SKU with its title, price, packs, tool count and roles: the price ladder')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one SKU: listing, packs, roles and the tools its roles can run')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price')
            [CompletionResult]::new('compare', 'compare', [CompletionResultType]::ParameterValue, 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;sku;help;list' {
            break
        }
        'tai;sku;help;show' {
            break
        }
        'tai;sku;help;diff' {
            break
        }
        'tai;sku;help;compare' {
            break
        }
        'tai;sku;help;help' {
            break
        }
        'tai;tools' {
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'SKU whose tool surface to show')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (JSON: name, pack, description, input_schema, action, usable, missing_roles, ...)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;schema' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event' {
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'A raw entitlement event (JSON or YAML) in the marketplace''s shape')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'A purchase: entitlement.activated')
            [CompletionResult]::new('change', 'change', [CompletionResultType]::ParameterValue, 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)')
            [CompletionResult]::new('plan-change', 'plan-change', [CompletionResultType]::ParameterValue, 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)')
            [CompletionResult]::new('renew', 'renew', [CompletionResultType]::ParameterValue, 'entitlement.renewed (expiry moves forward one term, or to --expires)')
            [CompletionResult]::new('suspend', 'suspend', [CompletionResultType]::ParameterValue, 'entitlement.suspended (tools stay listed; every call is refused)')
            [CompletionResult]::new('reinstate', 'reinstate', [CompletionResultType]::ParameterValue, 'entitlement.reinstated')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'entitlement.cancelled (every pack is disabled)')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'entitlement.approved: the provider approves a pending purchase or plan change')
            [CompletionResult]::new('reject', 'reject', [CompletionResultType]::ParameterValue, 'entitlement.withdrawn: the provider rejects a pending purchase or plan change')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;event;activate' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;change' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;plan-change' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;renew' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;suspend' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;reinstate' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;cancel' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;approve' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;reject' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The SKU (required for activate and change)')
            [CompletionResult]::new('--plan', '--plan', [CompletionResultType]::ParameterName, 'The marketplace plan (checked against the SKU''s)')
            [CompletionResult]::new('--pack', '--pack', [CompletionResultType]::ParameterName, 'Enable only these packs [default: all of the SKU''s]')
            [CompletionResult]::new('--role', '--role', [CompletionResultType]::ParameterName, 'Grant only these roles [default: all of the SKU''s]')
            [CompletionResult]::new('--expires', '--expires', [CompletionResultType]::ParameterName, 'Expiry: a time (2026-03-01, RFC 3339, epoch seconds) or a duration from now (45d)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;import' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The marketplace that sent the notifications')
            [CompletionResult]::new('--resources', '--resources', [CompletionResultType]::ParameterName, 'GCP entitlement resources or AWS GetEntitlements responses (a JSON file or a directory)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;event;help' {
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'A purchase: entitlement.activated')
            [CompletionResult]::new('change', 'change', [CompletionResultType]::ParameterValue, 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)')
            [CompletionResult]::new('renew', 'renew', [CompletionResultType]::ParameterValue, 'entitlement.renewed (expiry moves forward one term, or to --expires)')
            [CompletionResult]::new('suspend', 'suspend', [CompletionResultType]::ParameterValue, 'entitlement.suspended (tools stay listed; every call is refused)')
            [CompletionResult]::new('reinstate', 'reinstate', [CompletionResultType]::ParameterValue, 'entitlement.reinstated')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'entitlement.cancelled (every pack is disabled)')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'entitlement.approved: the provider approves a pending purchase or plan change')
            [CompletionResult]::new('reject', 'reject', [CompletionResultType]::ParameterValue, 'entitlement.withdrawn: the provider rejects a pending purchase or plan change')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;event;help;activate' {
            break
        }
        'tai;event;help;change' {
            break
        }
        'tai;event;help;renew' {
            break
        }
        'tai;event;help;suspend' {
            break
        }
        'tai;event;help;reinstate' {
            break
        }
        'tai;event;help;cancel' {
            break
        }
        'tai;event;help;approve' {
            break
        }
        'tai;event;help;reject' {
            break
        }
        'tai;event;help;import' {
            break
        }
        'tai;event;help;help' {
            break
        }
        'tai;call' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--arg', '--arg', [CompletionResultType]::ParameterName, 'A tool argument, KEY=VALUE (repeatable), typed by the tool''s input schema')
            [CompletionResult]::new('--argument', '--argument', [CompletionResultType]::ParameterName, 'A tool argument, KEY=VALUE (repeatable), typed by the tool''s input schema')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'Call context for preconditions, KEY=VALUE (repeatable)')
            [CompletionResult]::new('--idempotency-key', '--idempotency-key', [CompletionResultType]::ParameterName, 'A key for this call: run again with the same key, it answers the first outcome and runs nothing (also across restarts; the key is kept in the receipt)')
            [CompletionResult]::new('--principal', '--principal', [CompletionResultType]::ParameterName, 'Who calls (user:EMAIL or serviceAccount:EMAIL); under the tenant''s IAM policy the action''s roles must be bound to this principal')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'A wall-clock limit for this call (e.g. 2s, 500ms): it may tighten the action''s timeout, never loosen it; the receipt says which limit was in force and why')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;signal' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'The signal''s name')
            [CompletionResult]::new('--fact', '--fact', [CompletionResultType]::ParameterName, 'A fact the signal records, KEY=VALUE (repeatable)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;action' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--action', '--action', [CompletionResultType]::ParameterName, 'The id of the action resolved (`act_…`, as `tai state` shows it)')
            [CompletionResult]::new('--detail', '--detail', [CompletionResultType]::ParameterName, 'A note recorded in the receipt')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;state' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant [default: list every tenant]')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant [default: list every tenant]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;iam' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set the tenant''s policy from a YAML, JSON or TOML file (recorded as a receipt)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the tenant''s policy, and the receipt that set it')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove the tenant''s policy: callers hold the roles the plan grants again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;iam;set' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;iam;show' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;iam;clear' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;iam;help' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set the tenant''s policy from a YAML, JSON or TOML file (recorded as a receipt)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the tenant''s policy, and the receipt that set it')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove the tenant''s policy: callers hold the roles the plan grants again')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;iam;help;set' {
            break
        }
        'tai;iam;help;show' {
            break
        }
        'tai;iam;help;clear' {
            break
        }
        'tai;iam;help;help' {
            break
        }
        'tai;andon' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the critical Andons stopping the tenant''s packs')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;andon;show' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;andon;clear' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--principal', '--principal', [CompletionResultType]::ParameterName, 'Who acknowledged it, for the receipt (`user:oncall@acme.com`)')
            [CompletionResult]::new('--note', '--note', [CompletionResultType]::ParameterName, 'What they found or did, for the receipt')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;andon;help' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the critical Andons stopping the tenant''s packs')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;andon;help;show' {
            break
        }
        'tai;andon;help;clear' {
            break
        }
        'tai;andon;help;help' {
            break
        }
        'tai;receipts' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a tenant''s receipts as a table')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write a tenant''s receipts as JSON, JSONL, CSV or Markdown')
            [CompletionResult]::new('checkpoint', 'checkpoint', [CompletionResultType]::ParameterValue, 'Print a tenant''s latest signed checkpoint (JSON), to keep outside tai')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai')
            [CompletionResult]::new('prove', 'prove', [CompletionResultType]::ParameterValue, 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger')
            [CompletionResult]::new('verify-proof', 'verify-proof', [CompletionResultType]::ParameterValue, 'Check a proof file with the public key alone')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;receipts;verify' {
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant whose chain to verify')
            [CompletionResult]::new('--public-key', '--public-key', [CompletionResultType]::ParameterName, 'Require every chain''s checkpoints, up to its head, to be signed with this key (repeatable, for keys used in turn)')
            [CompletionResult]::new('--checkpoint', '--checkpoint', [CompletionResultType]::ParameterName, 'Also require the chain to extend this kept checkpoint (from `tai receipts checkpoint`)')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'Also require every tenant this kept manifest lists (from `tai receipts manifest`) to be listed still: a tenant deleted with the manifest put back to an older one fails')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Verify every tenant in the state directory (or the --ledger database)')
            [CompletionResult]::new('--deep', '--deep', [CompletionResultType]::ParameterName, 'Also parse every receipt and check its canonical encoding (slower)')
            [CompletionResult]::new('--strict-time', '--strict-time', [CompletionResultType]::ParameterName, 'Also fail a chain whose receipt times go backwards (e.g. written partly under `--now`/`TAI_NOW` and partly on the real clock)')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;show' {
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant whose receipts to show')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Only receipts of this event type (repeat for several)')
            [CompletionResult]::new('--from-seq', '--from-seq', [CompletionResultType]::ParameterName, 'Only receipts with seq at least N')
            [CompletionResult]::new('--to-seq', '--to-seq', [CompletionResultType]::ParameterName, 'Only receipts with seq at most N')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only receipts before TIME (RFC 3339, a date, or epoch seconds)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--allow-broken', '--allow-broken', [CompletionResultType]::ParameterName, 'Show the receipts even when the chain does not verify (exit 0, with a warning)')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;export' {
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant whose receipts to export')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Export format [default: from the --output file''s extension: .json, .jsonl, .csv, .md]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--event', '--event', [CompletionResultType]::ParameterName, 'Only receipts of this event type (repeat for several)')
            [CompletionResult]::new('--from-seq', '--from-seq', [CompletionResultType]::ParameterName, 'Only receipts with seq at least N')
            [CompletionResult]::new('--to-seq', '--to-seq', [CompletionResultType]::ParameterName, 'Only receipts with seq at most N')
            [CompletionResult]::new('--since', '--since', [CompletionResultType]::ParameterName, 'Only receipts at or after TIME (RFC 3339, a date, or epoch seconds)')
            [CompletionResult]::new('--until', '--until', [CompletionResultType]::ParameterName, 'Only receipts before TIME (RFC 3339, a date, or epoch seconds)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--allow-broken', '--allow-broken', [CompletionResultType]::ParameterName, 'Export the receipts even when the chain does not verify (exit 0, with a warning)')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;checkpoint' {
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;manifest' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;prove' {
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant')
            [CompletionResult]::new('--seq', '--seq', [CompletionResultType]::ParameterName, 'The receipt to prove included in the latest signed checkpoint')
            [CompletionResult]::new('--from-checkpoint', '--from-checkpoint', [CompletionResultType]::ParameterName, 'Prove instead that the latest checkpoint extends this kept one (consistency)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Write to FILE instead of standard output')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;verify-proof' {
            [CompletionResult]::new('--public-key', '--public-key', [CompletionResultType]::ParameterName, 'The public key the checkpoints must be signed with (repeatable)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;receipts;help' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a tenant''s receipts as a table')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write a tenant''s receipts as JSON, JSONL, CSV or Markdown')
            [CompletionResult]::new('checkpoint', 'checkpoint', [CompletionResultType]::ParameterValue, 'Print a tenant''s latest signed checkpoint (JSON), to keep outside tai')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai')
            [CompletionResult]::new('prove', 'prove', [CompletionResultType]::ParameterValue, 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger')
            [CompletionResult]::new('verify-proof', 'verify-proof', [CompletionResultType]::ParameterValue, 'Check a proof file with the public key alone')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;receipts;help;verify' {
            break
        }
        'tai;receipts;help;show' {
            break
        }
        'tai;receipts;help;export' {
            break
        }
        'tai;receipts;help;checkpoint' {
            break
        }
        'tai;receipts;help;manifest' {
            break
        }
        'tai;receipts;help;prove' {
            break
        }
        'tai;receipts;help;verify-proof' {
            break
        }
        'tai;receipts;help;help' {
            break
        }
        'tai;keys' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;keys;new' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where to write: PREFIX.key and PREFIX.pub')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Overwrite existing files')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;keys;help' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;keys;help;new' {
            break
        }
        'tai;keys;help;help' {
            break
        }
        'tai;ledger' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every tenant''s chain from a state directory into a PostgreSQL ledger')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;ledger;migrate' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'The state directory holding the ledgers')
            [CompletionResult]::new('--to', '--to', [CompletionResultType]::ParameterName, 'The PostgreSQL URL to copy into')
            [CompletionResult]::new('--public-key', '--public-key', [CompletionResultType]::ParameterName, 'Also require every chain''s checkpoints, up to its head, to be signed with this key before copying (repeatable, as for `tai receipts verify`)')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;ledger;help' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every tenant''s chain from a state directory into a PostgreSQL ledger')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;ledger;help;migrate' {
            break
        }
        'tai;ledger;help;help' {
            break
        }
        'tai;serve' {
            [CompletionResult]::new('--addr', '--addr', [CompletionResultType]::ParameterName, 'Address to listen on, IP:PORT (port 0 picks a free port and prints it)')
            [CompletionResult]::new('--admin-token', '--admin-token', [CompletionResultType]::ParameterName, 'The admin token [default: generated and printed on stderr]')
            [CompletionResult]::new('--tenant-token', '--tenant-token', [CompletionResultType]::ParameterName, 'A tenant''s token, TENANT=TOKEN (repeatable)')
            [CompletionResult]::new('--tokens-file', '--tokens-file', [CompletionResultType]::ParameterName, 'Read the admin and tenant tokens from FILE (TOML, mode 0600 or stricter), once')
            [CompletionResult]::new('--marketplace-records', '--marketplace-records', [CompletionResultType]::ParameterName, 'GCP entitlement resources and AWS GetEntitlements responses (a JSON file or a directory) that `POST /v1/marketplace/{gcp|aws|azure}` maps notifications through')
            [CompletionResult]::new('--max-body', '--max-body', [CompletionResultType]::ParameterName, 'Largest request body accepted, in bytes (larger is answered 413)')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Longest a request may take before it is answered 503 (30s, 2m, ...)')
            [CompletionResult]::new('--header-timeout', '--header-timeout', [CompletionResultType]::ParameterName, 'Longest a client may take to send a request''s headers before it is disconnected')
            [CompletionResult]::new('--idle-timeout', '--idle-timeout', [CompletionResultType]::ParameterName, 'Longest a connection may sit idle between requests before it is closed')
            [CompletionResult]::new('--max-connections', '--max-connections', [CompletionResultType]::ParameterName, 'Most connections open at once (more are closed as soon as they are accepted)')
            [CompletionResult]::new('--shutdown-timeout', '--shutdown-timeout', [CompletionResultType]::ParameterName, 'Longest shutdown waits for open connections before closing them')
            [CompletionResult]::new('--browser-login', '--browser-login', [CompletionResultType]::ParameterName, 'Browser sign-in (the login link and session cookie of the demo page): auto is on for a loopback --addr only')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG''s directives when set, else info]')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;mcp' {
            [CompletionResult]::new('-t', '-t', [CompletionResultType]::ParameterName, 'The tenant whose tools to serve')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The tenant whose tools to serve')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'When the tenant has no active entitlement, activate one on this SKU; then boot the governor if it is still booting, so tools are callable at once')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG''s directives when set, else info]')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;demo' {
            [CompletionResult]::new('--addr', '--addr', [CompletionResultType]::ParameterName, 'Address to listen on: a loopback IP and a port (0 picks a free one)')
            [CompletionResult]::new('--tenant', '--tenant', [CompletionResultType]::ParameterName, 'The demo tenant')
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'The plan the demo tenant starts on [default: the cheapest]')
            [CompletionResult]::new('--admin-token', '--admin-token', [CompletionResultType]::ParameterName, 'The admin token [default: generated and printed on stderr]')
            [CompletionResult]::new('--log-level', '--log-level', [CompletionResultType]::ParameterName, 'How much tai logs to stderr; other libraries log warnings and errors only [default: RUST_LOG''s directives when set, else info]')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--open', '--open', [CompletionResultType]::ParameterName, 'Open the login link in the default browser (with xdg-open)')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;completions' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;doctor' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus (or ./packs alone) when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--now', '--now', [CompletionResultType]::ParameterName, 'Pretend the current time is TIME (RFC 3339, a date, or epoch seconds), for reproducible demos and tests of the local workspace')
            [CompletionResult]::new('--signing-key', '--signing-key', [CompletionResultType]::ParameterName, 'Ed25519 key (from `tai keys new`) with which commands that write receipts (event, call, signal, action, serve, mcp) sign a checkpoint of each tenant they write, into the state directory or the --ledger database; it must be outside the state directory and readable by its owner only')
            [CompletionResult]::new('--previous-key', '--previous-key', [CompletionResultType]::ParameterName, 'Public key of a signing key that --signing-key replaced (repeatable, or comma-separated in the variable): what it signed — a tenant''s latest checkpoint, a crashed writer''s logged rounds, the workspace manifest — is continued as if the new key had signed it, so a rotated key needs no --adopt-unsigned')
            [CompletionResult]::new('--adopt-unsigned', '--adopt-unsigned', [CompletionResultType]::ParameterName, 'With a signing key: sign chains that have receipts no checkpoint covers (a workspace written before signing was turned on), and the workspace manifest, once. Without it a writer refuses them, since deleting a chain''s checkpoints would otherwise get a rewritten history signed')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;help' {
            [CompletionResult]::new('simulate', 'simulate', [CompletionResultType]::ParameterValue, 'Run a scenario (or the built-in demo) and print the timeline of its receipts')
            [CompletionResult]::new('validate', 'validate', [CompletionResultType]::ParameterValue, 'Check pack and SKU files and report every problem with file, line and column')
            [CompletionResult]::new('test', 'test', [CompletionResultType]::ParameterValue, 'Run scenario suites: pass/fail per scenario, coverage of the pack surface, JUnit XML')
            [CompletionResult]::new('pack', 'pack', [CompletionResultType]::ParameterValue, 'Browse packs, or scaffold a new one')
            [CompletionResult]::new('sku', 'sku', [CompletionResultType]::ParameterValue, 'Browse SKUs and compare plans')
            [CompletionResult]::new('tools', 'tools', [CompletionResultType]::ParameterValue, 'Show the tools a SKU exposes and whether its roles allow each one')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of pack or SKU files')
            [CompletionResult]::new('event', 'event', [CompletionResultType]::ParameterValue, 'Send an entitlement event to a tenant in the local workspace')
            [CompletionResult]::new('call', 'call', [CompletionResultType]::ParameterValue, 'Call a tool as a tenant (through the governor''s gates)')
            [CompletionResult]::new('signal', 'signal', [CompletionResultType]::ParameterValue, 'Send a signal to a tenant''s governor')
            [CompletionResult]::new('action', 'action', [CompletionResultType]::ParameterValue, 'Report a tenant''s in-flight action complete or failed')
            [CompletionResult]::new('state', 'state', [CompletionResultType]::ParameterValue, 'Show tenants'' governor state, entitlement and visible tools')
            [CompletionResult]::new('iam', 'iam', [CompletionResultType]::ParameterValue, 'Set, show or clear a tenant''s IAM policy: who holds which of its plan''s roles')
            [CompletionResult]::new('andon', 'andon', [CompletionResultType]::ParameterValue, 'Show or clear the critical Andons that stop a tenant''s packs')
            [CompletionResult]::new('receipts', 'receipts', [CompletionResultType]::ParameterValue, 'Verify, show and export receipt chains; prove a receipt is in the signed history')
            [CompletionResult]::new('keys', 'keys', [CompletionResultType]::ParameterValue, 'Create the Ed25519 key pair that signs checkpoints')
            [CompletionResult]::new('ledger', 'ledger', [CompletionResultType]::ParameterValue, 'Copy receipt chains from a state directory into a PostgreSQL ledger')
            [CompletionResult]::new('serve', 'serve', [CompletionResultType]::ParameterValue, 'Serve every tenant over HTTP: the JSON API (webhook, calls, receipts) and MCP at /mcp')
            [CompletionResult]::new('mcp', 'mcp', [CompletionResultType]::ParameterValue, 'Serve one tenant''s tools over the Model Context Protocol on stdin/stdout')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Start the demo: the server and its web page on loopback, a fresh workspace, a tenant')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Report which protections command handlers get on this machine')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;help;simulate' {
            break
        }
        'tai;help;validate' {
            break
        }
        'tai;help;test' {
            break
        }
        'tai;help;pack' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every pack with its tools, roles and the SKUs that enable it')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one pack: tools, actions with roles and preconditions, limits')
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new, commented pack file that passes validation')
            break
        }
        'tai;help;pack;list' {
            break
        }
        'tai;help;pack;show' {
            break
        }
        'tai;help;pack;new' {
            break
        }
        'tai;help;sku' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every SKU with its title, price, packs, tool count and roles: the price ladder')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one SKU: listing, packs, roles and the tools its roles can run')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price')
            [CompletionResult]::new('compare', 'compare', [CompletionResultType]::ParameterValue, 'Plans side by side: for every tool, whether each plan makes it usable, shows it but refuses the call (a role is missing), or does not have it')
            break
        }
        'tai;help;sku;list' {
            break
        }
        'tai;help;sku;show' {
            break
        }
        'tai;help;sku;diff' {
            break
        }
        'tai;help;sku;compare' {
            break
        }
        'tai;help;tools' {
            break
        }
        'tai;help;schema' {
            break
        }
        'tai;help;event' {
            [CompletionResult]::new('activate', 'activate', [CompletionResultType]::ParameterValue, 'A purchase: entitlement.activated')
            [CompletionResult]::new('change', 'change', [CompletionResultType]::ParameterValue, 'An upgrade or downgrade: entitlement.plan_changed (recorded as entitlement_updated)')
            [CompletionResult]::new('renew', 'renew', [CompletionResultType]::ParameterValue, 'entitlement.renewed (expiry moves forward one term, or to --expires)')
            [CompletionResult]::new('suspend', 'suspend', [CompletionResultType]::ParameterValue, 'entitlement.suspended (tools stay listed; every call is refused)')
            [CompletionResult]::new('reinstate', 'reinstate', [CompletionResultType]::ParameterValue, 'entitlement.reinstated')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'entitlement.cancelled (every pack is disabled)')
            [CompletionResult]::new('approve', 'approve', [CompletionResultType]::ParameterValue, 'entitlement.approved: the provider approves a pending purchase or plan change')
            [CompletionResult]::new('reject', 'reject', [CompletionResultType]::ParameterValue, 'entitlement.withdrawn: the provider rejects a pending purchase or plan change')
            [CompletionResult]::new('import', 'import', [CompletionResultType]::ParameterValue, 'Apply marketplace notifications (GCP Pub/Sub, AWS SNS, Azure webhook) as they were sent')
            break
        }
        'tai;help;event;activate' {
            break
        }
        'tai;help;event;change' {
            break
        }
        'tai;help;event;renew' {
            break
        }
        'tai;help;event;suspend' {
            break
        }
        'tai;help;event;reinstate' {
            break
        }
        'tai;help;event;cancel' {
            break
        }
        'tai;help;event;approve' {
            break
        }
        'tai;help;event;reject' {
            break
        }
        'tai;help;event;import' {
            break
        }
        'tai;help;call' {
            break
        }
        'tai;help;signal' {
            break
        }
        'tai;help;action' {
            break
        }
        'tai;help;state' {
            break
        }
        'tai;help;iam' {
            [CompletionResult]::new('set', 'set', [CompletionResultType]::ParameterValue, 'Set the tenant''s policy from a YAML, JSON or TOML file (recorded as a receipt)')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the tenant''s policy, and the receipt that set it')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Remove the tenant''s policy: callers hold the roles the plan grants again')
            break
        }
        'tai;help;iam;set' {
            break
        }
        'tai;help;iam;show' {
            break
        }
        'tai;help;iam;clear' {
            break
        }
        'tai;help;andon' {
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show the critical Andons stopping the tenant''s packs')
            [CompletionResult]::new('clear', 'clear', [CompletionResultType]::ParameterValue, 'Acknowledge a critical Andon: the packs it stopped run again (recorded as a receipt)')
            break
        }
        'tai;help;andon;show' {
            break
        }
        'tai;help;andon;clear' {
            break
        }
        'tai;help;receipts' {
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Check that receipt chains are intact; a broken chain exits 1 naming the first bad seq')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show a tenant''s receipts as a table')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write a tenant''s receipts as JSON, JSONL, CSV or Markdown')
            [CompletionResult]::new('checkpoint', 'checkpoint', [CompletionResultType]::ParameterValue, 'Print a tenant''s latest signed checkpoint (JSON), to keep outside tai')
            [CompletionResult]::new('manifest', 'manifest', [CompletionResultType]::ParameterValue, 'Print the workspace manifest (JSON, signed when writers sign): every tenant ever created, to keep outside tai')
            [CompletionResult]::new('prove', 'prove', [CompletionResultType]::ParameterValue, 'Write a proof that a receipt is in the signed history (or that the history only grew since a kept checkpoint), checkable without the ledger')
            [CompletionResult]::new('verify-proof', 'verify-proof', [CompletionResultType]::ParameterValue, 'Check a proof file with the public key alone')
            break
        }
        'tai;help;receipts;verify' {
            break
        }
        'tai;help;receipts;show' {
            break
        }
        'tai;help;receipts;export' {
            break
        }
        'tai;help;receipts;checkpoint' {
            break
        }
        'tai;help;receipts;manifest' {
            break
        }
        'tai;help;receipts;prove' {
            break
        }
        'tai;help;receipts;verify-proof' {
            break
        }
        'tai;help;keys' {
            [CompletionResult]::new('new', 'new', [CompletionResultType]::ParameterValue, 'Write a new key pair: PREFIX.key (private, mode 0600) and PREFIX.pub (public)')
            break
        }
        'tai;help;keys;new' {
            break
        }
        'tai;help;ledger' {
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Copy every tenant''s chain from a state directory into a PostgreSQL ledger')
            break
        }
        'tai;help;ledger;migrate' {
            break
        }
        'tai;help;serve' {
            break
        }
        'tai;help;mcp' {
            break
        }
        'tai;help;demo' {
            break
        }
        'tai;help;completions' {
            break
        }
        'tai;help;doctor' {
            break
        }
        'tai;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
