# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tai_global_optspecs
    string join \n catalog= state= color= h/help V/version
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

complete -c tai -n "__fish_tai_needs_command" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_needs_command" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_needs_command" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_needs_command" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_needs_command" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c tai -n "__fish_tai_needs_command" -f -a "pack" -d 'Browse packs, or scaffold a new one'
complete -c tai -n "__fish_tai_needs_command" -f -a "sku" -d 'Browse SKUs and compare plans'
complete -c tai -n "__fish_tai_needs_command" -f -a "tools" -d 'Show the tools a SKU exposes and whether its roles allow each one'
complete -c tai -n "__fish_tai_needs_command" -f -a "schema" -d 'Print the JSON Schema of pack or SKU files'
complete -c tai -n "__fish_tai_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand completions" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand completions" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand completions" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand completions" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "list" -d 'List every pack with its tools, roles and the SKUs that enable it'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "show" -d 'Show one pack: tools, actions with roles and preconditions, limits'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "new" -d 'Write a new, commented pack file that passes validation'
complete -c tai -n "__fish_tai_using_subcommand pack; and not __fish_seen_subcommand_from list show new help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -s o -l output -d 'Folder to write `<id>.yaml|toml` into, or `-` for stdout' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -l toml -d 'Write TOML instead of YAML'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from new" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every pack with its tools, roles and the SKUs that enable it'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one pack: tools, actions with roles and preconditions, limits'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "new" -d 'Write a new, commented pack file that passes validation'
complete -c tai -n "__fish_tai_using_subcommand pack; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -f -a "list" -d 'List every SKU with its price, packs, tool count and roles'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -f -a "show" -d 'Show one SKU: listing, packs, roles and the tools its roles can run'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -f -a "diff" -d 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
complete -c tai -n "__fish_tai_using_subcommand sku; and not __fish_seen_subcommand_from list show diff help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l format -d 'Output format' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from diff" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "list" -d 'List every SKU with its price, packs, tool count and roles'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one SKU: listing, packs, roles and the tools its roles can run'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "diff" -d 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
complete -c tai -n "__fish_tai_using_subcommand sku; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand tools" -l sku -d 'SKU whose tool surface to show' -r
complete -c tai -n "__fish_tai_using_subcommand tools" -l format -d 'Output format (JSON: name, pack, description, input_schema, action, usable, missing_roles, ...)' -r -f -a "human\t'Tables and text for people'
json\t'JSON for machines'"
complete -c tai -n "__fish_tai_using_subcommand tools" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand tools" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand tools" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand tools" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand tools" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand schema" -l catalog -d 'Catalog directory holding `packs/` and `skus/` [default: ./packs + ./skus when present, else the built-in catalog]' -r -F
complete -c tai -n "__fish_tai_using_subcommand schema" -l state -d 'State directory for the local workspace (ledgers and chain heads)' -r -F
complete -c tai -n "__fish_tai_using_subcommand schema" -l color -d 'When to use colour' -r -f -a "auto\t'Colour when writing to a terminal and `NO_COLOR` is unset'
always\t'Always colour'
never\t'Never colour'"
complete -c tai -n "__fish_tai_using_subcommand schema" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tai -n "__fish_tai_using_subcommand schema" -s V -l version -d 'Print version'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from completions pack sku tools schema help" -f -a "completions" -d 'Print a shell completion script (bash, zsh, fish, powershell, elvish)'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from completions pack sku tools schema help" -f -a "pack" -d 'Browse packs, or scaffold a new one'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from completions pack sku tools schema help" -f -a "sku" -d 'Browse SKUs and compare plans'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from completions pack sku tools schema help" -f -a "tools" -d 'Show the tools a SKU exposes and whether its roles allow each one'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from completions pack sku tools schema help" -f -a "schema" -d 'Print the JSON Schema of pack or SKU files'
complete -c tai -n "__fish_tai_using_subcommand help; and not __fish_seen_subcommand_from completions pack sku tools schema help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from pack" -f -a "list" -d 'List every pack with its tools, roles and the SKUs that enable it'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from pack" -f -a "show" -d 'Show one pack: tools, actions with roles and preconditions, limits'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from pack" -f -a "new" -d 'Write a new, commented pack file that passes validation'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "list" -d 'List every SKU with its price, packs, tool count and roles'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "show" -d 'Show one SKU: listing, packs, roles and the tools its roles can run'
complete -c tai -n "__fish_tai_using_subcommand help; and __fish_seen_subcommand_from sku" -f -a "diff" -d 'What moving from plan FROM to plan TO adds and removes: packs, tools, roles, price'
