"""Interoperability check: drive `tai mcp` over stdio with the official Python MCP SDK.

Runs the server twice against one fresh state directory, once per lifecycle the SDK offers
(`initialize` for 2025-11-25, `server/discover` for 2026-07-28), and checks what a client we
did not write sees: the tenant's tools, a call that executes, a call refused by a gate
(`isError` with gate and reason), and a tool outside the plan as a protocol error. Then the
receipt chain the calls wrote must verify. Exits 1 on any mismatch.

Usage: python mcp_stdio_client.py --tai PATH_TO_TAI_BINARY
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
from typing import Any

from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

TENANT = "acme"
SKU = "rollback-guard-base"
BASE_TOOLS = ["ac_audit_trail_export", "ac_receipt_lookup", "ac_receipt_verify"]
INVALID_PARAMS = -32602
TIMEOUT_SECONDS = 60


class Checks:
    """Collects every mismatch instead of stopping at the first."""

    def __init__(self) -> None:
        self.failed = 0
        self.passed = 0

    def expect(self, what: str, actual: Any, expected: Any) -> None:
        if actual == expected:
            self.passed += 1
            print(f"  ok    {what}")
        else:
            self.failed += 1
            print(f"  FAIL  {what}: expected {expected!r}, got {actual!r}")


async def exercise(tai: str, state: str, lifecycle: str, checks: Checks) -> None:
    server = StdioServerParameters(
        command=tai,
        args=["--state", state, "mcp", "--tenant", TENANT, "--sku", SKU],
        env={"NO_COLOR": "1"},
        cwd=state,
    )
    print(f"{lifecycle}:")
    async with stdio_client(server) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=TIMEOUT_SECONDS) as session:
            if lifecycle == "initialize":
                await session.initialize()
                checks.expect("negotiated revision", session.protocol_version, "2025-11-25")
            else:
                await session.discover()
                checks.expect("negotiated revision", session.protocol_version, "2026-07-28")
            info = session.server_info
            checks.expect("server name", info.name if info else None, "tai")
            caps = session.server_capabilities
            tools_cap = caps.tools if caps else None
            checks.expect("tools listChanged", tools_cap.list_changed if tools_cap else None, True)

            listed = await session.list_tools()
            checks.expect("tools/list", sorted(t.name for t in listed.tools), BASE_TOOLS)

            ok = await session.call_tool("ac_receipt_verify", {})
            checks.expect("executed: isError", ok.is_error, False)
            checks.expect("executed: result", (ok.structured_content or {}).get("valid"), True)

            refused = await session.call_tool(
                "ac_audit_trail_export", {"since": "2026-01-01T00:00:00Z"}
            )
            body = refused.structured_content or {}
            checks.expect("refused: isError", refused.is_error, True)
            checks.expect("refused: gate", body.get("gate"), "iam")
            checks.expect("refused: reason", body.get("reason"), "insufficient_privilege")
            text = refused.content[0].text if refused.content else ""
            checks.expect(
                "refused: text names the gate",
                text.startswith("refused at the iam gate: insufficient_privilege"),
                True,
            )

            try:
                await session.call_tool("ac_rollback_orchestrator", {"deployment": "checkout-api"})
                code = None
            except MCPError as e:
                code = e.code
            checks.expect("tool outside the plan: protocol error", code, INVALID_PARAMS)


def verify_receipts(tai: str, state: str, checks: Checks) -> None:
    run = subprocess.run(
        [tai, "--state", state, "receipts", "verify", "--tenant", TENANT],
        capture_output=True,
        text=True,
        cwd=state,
        timeout=TIMEOUT_SECONDS,
    )
    print("receipts:")
    checks.expect("tai receipts verify exit code", run.returncode, 0)
    # Activation, its tool surface and the boot, then 3 decisions per run.
    checks.expect("receipt count", f"{3 + 2 * 3} receipts" in run.stdout, True)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tai", required=True, help="the tai binary")
    args = parser.parse_args()
    # The server runs in the state directory, so a relative path would no longer resolve.
    tai = os.path.abspath(args.tai)
    checks = Checks()
    with tempfile.TemporaryDirectory(prefix="tai-interop-") as state:
        for lifecycle in ("initialize", "discover"):
            await asyncio.wait_for(exercise(tai, state, lifecycle, checks), TIMEOUT_SECONDS)
        verify_receipts(tai, state, checks)
    print(f"interop: {checks.passed} passed, {checks.failed} failed")
    return 1 if checks.failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
