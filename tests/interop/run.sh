#!/usr/bin/env bash
# Interoperability: drive `tai mcp` over stdio with the official Python MCP SDK, a client
# this project did not write. Creates (once) a virtualenv under the cargo target directory
# with the pinned SDK, builds the binary, and runs tests/interop/mcp_stdio_client.py.
# Exit 0 when every check passed, non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

target_dir="${CARGO_TARGET_DIR:-target}"
venv="$target_dir/interop-venv"
requirements=tests/interop/requirements.txt
stamp="$venv/requirements.sha256"
want=$(sha256sum "$requirements" | cut -d' ' -f1)

# Reuse the virtualenv while the pins it was built from are unchanged.
if [ ! -x "$venv/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input -r "$requirements"
    echo "$want" > "$stamp"
fi

cargo build --quiet --bin tai
"$venv/bin/python" tests/interop/mcp_stdio_client.py --tai "$target_dir/debug/tai"
