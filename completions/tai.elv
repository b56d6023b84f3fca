
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
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand pack 'Browse packs, or scaffold a new one'
            cand sku 'Browse SKUs and compare plans'
            cand tools 'Show the tools a SKU exposes and whether its roles allow each one'
            cand schema 'Print the JSON Schema of pack or SKU files'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;completions'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
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
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack;show'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;pack;new'= {
            cand -o 'Folder to write `<id>.yaml|toml` into, or `-` for stdout'
            cand --output 'Folder to write `<id>.yaml|toml` into, or `-` for stdout'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand --toml 'Write TOML instead of YAML'
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
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand list 'List every SKU with its price, packs, tool count and roles'
            cand show 'Show one SKU: listing, packs, roles and the tools its roles can run'
            cand diff 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;sku;list'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;show'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;diff'= {
            cand --format 'Output format'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;sku;help'= {
            cand list 'List every SKU with its price, packs, tool count and roles'
            cand show 'Show one SKU: listing, packs, roles and the tools its roles can run'
            cand diff 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;sku;help;list'= {
        }
        &'tai;sku;help;show'= {
        }
        &'tai;sku;help;diff'= {
        }
        &'tai;sku;help;help'= {
        }
        &'tai;tools'= {
            cand --sku 'SKU whose tool surface to show'
            cand --format 'Output format (JSON: name, pack, description, input_schema, action, usable, missing_roles, ...)'
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;schema'= {
            cand --catalog 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]'
            cand --state 'State directory for the local workspace (ledgers and chain heads)'
            cand --color 'When to use colour'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'tai;help'= {
            cand completions 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
            cand pack 'Browse packs, or scaffold a new one'
            cand sku 'Browse SKUs and compare plans'
            cand tools 'Show the tools a SKU exposes and whether its roles allow each one'
            cand schema 'Print the JSON Schema of pack or SKU files'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tai;help;completions'= {
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
            cand list 'List every SKU with its price, packs, tool count and roles'
            cand show 'Show one SKU: listing, packs, roles and the tools its roles can run'
            cand diff 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
        }
        &'tai;help;sku;list'= {
        }
        &'tai;help;sku;show'= {
        }
        &'tai;help;sku;diff'= {
        }
        &'tai;help;tools'= {
        }
        &'tai;help;schema'= {
        }
        &'tai;help;help'= {
        }
    ]
    $completions[$command]
}
