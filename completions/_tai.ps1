
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
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('pack', 'pack', [CompletionResultType]::ParameterValue, 'Browse packs, or scaffold a new one')
            [CompletionResult]::new('sku', 'sku', [CompletionResultType]::ParameterValue, 'Browse SKUs and compare plans')
            [CompletionResult]::new('tools', 'tools', [CompletionResultType]::ParameterValue, 'Show the tools a SKU exposes and whether its roles allow each one')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of pack or SKU files')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;completions' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
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
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack;show' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;pack;new' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Folder to write `<id>.yaml|toml` into, or `-` for stdout')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Folder to write `<id>.yaml|toml` into, or `-` for stdout')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('--toml', '--toml', [CompletionResultType]::ParameterName, 'Write TOML instead of YAML')
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
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every SKU with its price, packs, tool count and roles')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one SKU: listing, packs, roles and the tools its roles can run')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;sku;list' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;show' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;diff' {
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;sku;help' {
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every SKU with its price, packs, tool count and roles')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one SKU: listing, packs, roles and the tools its roles can run')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price')
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
        'tai;sku;help;help' {
            break
        }
        'tai;tools' {
            [CompletionResult]::new('--sku', '--sku', [CompletionResultType]::ParameterName, 'SKU whose tool surface to show')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format (JSON: name, pack, description, input_schema, action, usable, missing_roles, ...)')
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;schema' {
            [CompletionResult]::new('--catalog', '--catalog', [CompletionResultType]::ParameterName, 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'State directory for the local workspace (ledgers and chain heads)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to use colour')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'tai;help' {
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script (bash, zsh, fish, powershell, elvish)')
            [CompletionResult]::new('pack', 'pack', [CompletionResultType]::ParameterValue, 'Browse packs, or scaffold a new one')
            [CompletionResult]::new('sku', 'sku', [CompletionResultType]::ParameterValue, 'Browse SKUs and compare plans')
            [CompletionResult]::new('tools', 'tools', [CompletionResultType]::ParameterValue, 'Show the tools a SKU exposes and whether its roles allow each one')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of pack or SKU files')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'tai;help;completions' {
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
            [CompletionResult]::new('list', 'list', [CompletionResultType]::ParameterValue, 'List every SKU with its price, packs, tool count and roles')
            [CompletionResult]::new('show', 'show', [CompletionResultType]::ParameterValue, 'Show one SKU: listing, packs, roles and the tools its roles can run')
            [CompletionResult]::new('diff', 'diff', [CompletionResultType]::ParameterValue, 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price')
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
        'tai;help;tools' {
            break
        }
        'tai;help;schema' {
            break
        }
        'tai;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
