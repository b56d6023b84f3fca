//! A starting point for a new pack: a complete, commented pack file that loads cleanly.
//!
//! Authors learn the format fastest from a working example, so the scaffold exercises every
//! section (tools with input schemas and simulated handlers, actions with roles and a
//! precondition, limits) with a comment on each.

use crate::ids::PackId;

use super::input::Syntax;

const YAML: &str = r#"# yaml-language-server: $schema=../schemas/pack.schema.json
#
# {{pack_id}}: a new capability pack. Check it with `tai validate`; write the schema the
# first line points at with `tai schema pack > schemas/pack.schema.json`.
pack_id: {{pack_id}}
version: 0.1.0
# One or two sentences; shown in `tai pack list` and to clients.
description: Report on a service and apply changes to it inside a change window.

tools:
  # `name` is what clients call; it must be unique across the whole catalog.
  - name: {{tool_prefix}}_status
    description: Report the current status of a service.
    # JSON Schema of the tool's arguments (the MCP `inputSchema`).
    input_schema:
      type: object
      properties:
        service:
          type: string
          description: Service to report on.
      required: [service]
      additionalProperties: false
    action: read_status
    # `simulated` returns a declared result without running anything; `command` runs a
    # program with the arguments as JSON on stdin and reads a JSON result from stdout.
    handler:
      kind: simulated
      result:
        service: checkout-api
        status: healthy
      duration_ms: 100
      memory_mb: 16
      cases:
        # The first case whose `when` matches the arguments replaces the defaults; this one
        # runs past the pack's 30 s timeout, so the call times out.
        - when: { service: slow-service }
          duration_ms: 45000

  - name: {{tool_prefix}}_apply
    description: Apply a configuration change to a service.
    input_schema:
      type: object
      properties:
        service:
          type: string
          description: Service to change.
        setting:
          type: string
          description: Setting to change.
        value:
          type: string
          description: New value.
      required: [service, setting, value]
      additionalProperties: false
    action: apply_change
    handler:
      kind: simulated
      result:
        status: applied
      duration_ms: 500
      memory_mb: 32

# Signals the pack understands; a signal may set tenant facts that preconditions read.
signals:
  - change_window_opened
  - change_window_closed

actions:
  - id: read_status
    description: Read a service's status.
    # Roles a tenant must hold; some SKU must be able to grant each of them.
    roles: [read_deployment]
  - id: apply_change
    description: Change a service's configuration.
    roles: [read_deployment, write_config]
    # Checked in order against the call's context, then the tenant's facts, then `default`;
    # the first failing check refuses the call with its code and message.
    preconditions:
      - key: change_window_open
        check: { equals: true }
        code: change_window_closed
        message: Changes are only allowed inside a change window
    # Overrides the pack's limits for this action only.
    compute_limits:
      timeout_ms: 10000

# Roles the pack's full feature set needs.
required_iam_roles: [read_deployment, write_config]

# Packs that must (or must never) be enabled alongside this one, e.g. [receipt_verifier].
requires: []
incompatible_with: []

# Domain event types the pack records in receipts.
receipt_events:
  - change_applied
  - change_refused

# none | ledger | firestore | sql | object_store
storage: none

# Default bounds for every action of the pack.
compute_limits:
  timeout_ms: 30000
  max_memory_mb: 128
  max_cpu_percent: 10
"#;

const TOML: &str = r#"#:schema ../schemas/pack.schema.json
#
# {{pack_id}}: a new capability pack. Check it with `tai validate`; write the schema the
# first line points at with `tai schema pack > schemas/pack.schema.json`.

pack_id = "{{pack_id}}"
version = "0.1.0"
# One or two sentences; shown in `tai pack list` and to clients.
description = "Report on a service and apply changes to it inside a change window."

# Signals the pack understands; a signal may set tenant facts that preconditions read.
signals = ["change_window_opened", "change_window_closed"]
# Roles the pack's full feature set needs.
required_iam_roles = ["read_deployment", "write_config"]
# Packs that must (or must never) be enabled alongside this one, e.g. ["receipt_verifier"].
requires = []
incompatible_with = []
# Domain event types the pack records in receipts.
receipt_events = ["change_applied", "change_refused"]
# none | ledger | firestore | sql | object_store
storage = "none"

# Default bounds for every action of the pack.
[compute_limits]
timeout_ms = 30000
max_memory_mb = 128
max_cpu_percent = 10

# `name` is what clients call; it must be unique across the whole catalog.
[[tools]]
name = "{{tool_prefix}}_status"
description = "Report the current status of a service."
action = "read_status"

# JSON Schema of the tool's arguments (the MCP `inputSchema`).
[tools.input_schema]
type = "object"
required = ["service"]
additionalProperties = false

[tools.input_schema.properties.service]
type = "string"
description = "Service to report on."

# `simulated` returns a declared result without running anything; `command` runs a
# program with the arguments as JSON on stdin and reads a JSON result from stdout.
[tools.handler]
kind = "simulated"
result = { service = "checkout-api", status = "healthy" }
duration_ms = 100
memory_mb = 16

# The first case whose `when` matches the arguments replaces the defaults; this one runs
# past the pack's 30 s timeout, so the call times out.
[[tools.handler.cases]]
when = { service = "slow-service" }
duration_ms = 45000

[[tools]]
name = "{{tool_prefix}}_apply"
description = "Apply a configuration change to a service."
action = "apply_change"

[tools.input_schema]
type = "object"
required = ["service", "setting", "value"]
additionalProperties = false

[tools.input_schema.properties.service]
type = "string"
description = "Service to change."

[tools.input_schema.properties.setting]
type = "string"
description = "Setting to change."

[tools.input_schema.properties.value]
type = "string"
description = "New value."

[tools.handler]
kind = "simulated"
result = { status = "applied" }
duration_ms = 500
memory_mb = 32

[[actions]]
id = "read_status"
description = "Read a service's status."
# Roles a tenant must hold; some SKU must be able to grant each of them.
roles = ["read_deployment"]

[[actions]]
id = "apply_change"
description = "Change a service's configuration."
roles = ["read_deployment", "write_config"]

# Overrides the pack's limits for this action only.
[actions.compute_limits]
timeout_ms = 10000

# Checked in order against the call's context, then the tenant's facts, then `default`;
# the first failing check refuses the call with its code and message.
[[actions.preconditions]]
key = "change_window_open"
check = { equals = true }
code = "change_window_closed"
message = "Changes are only allowed inside a change window"
"#;

/// Longest tool-name suffix the scaffold appends (`_status`), so names stay within the
/// 64-character MCP limit however long the pack id is.
const LONGEST_SUFFIX: usize = "_status".len();

/// The text of a new pack file for `id` in `syntax`.
pub fn pack(id: &PackId, syntax: Syntax) -> String {
    // Pack ids are ASCII, so byte slicing is on character boundaries.
    let prefix = &id.as_str()[..id.as_str().len().min(64 - LONGEST_SUFFIX)];
    let template = match syntax {
        Syntax::Yaml => YAML,
        Syntax::Toml => TOML,
    };
    template
        .replace("{{pack_id}}", id.as_str())
        .replace("{{tool_prefix}}", prefix)
}

/// The conventional file name for a pack, e.g. `billing_guard.yaml`.
pub fn file_name(id: &PackId, syntax: Syntax) -> String {
    let ext = match syntax {
        Syntax::Yaml => "yaml",
        Syntax::Toml => "toml",
    };
    format!("{id}.{ext}")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::catalog::load::{self, DocKind, SourceFile};
    use crate::catalog::{Pack, builtin};

    fn with_shipped(id: &str, syntax: Syntax) -> Vec<SourceFile> {
        let id = PackId::new(id).unwrap();
        let mut files = builtin::sources();
        files.push(SourceFile {
            path: PathBuf::from("packs").join(file_name(&id, syntax)),
            kind: DocKind::Pack,
            syntax,
            text: pack(&id, syntax),
        });
        files
    }

    #[test]
    fn scaffolds_load_alongside_the_shipped_catalog() {
        for syntax in [Syntax::Yaml, Syntax::Toml] {
            let catalog = load::build(&with_shipped("billing_guard", syntax)).unwrap();
            let p = catalog.pack("billing_guard").unwrap();
            assert_eq!(p.tools.len(), 2);
            assert!(catalog.tool("billing_guard_apply").is_some());
            assert_eq!(p.actions[1].preconditions.len(), 1);
        }
    }

    #[test]
    fn yaml_and_toml_scaffolds_define_the_same_pack() {
        let parse = |syntax| -> Pack {
            let files = with_shipped("same_pack", syntax);
            let catalog = load::build(&files).unwrap();
            catalog.pack("same_pack").unwrap().clone()
        };
        assert_eq!(parse(Syntax::Yaml), parse(Syntax::Toml));
    }

    #[test]
    fn long_ids_keep_tool_names_valid() {
        let id = "p".repeat(64);
        let catalog = load::build(&with_shipped(&id, Syntax::Yaml)).unwrap();
        let p = catalog.pack(&id).unwrap();
        assert!(p.tools.iter().all(|t| t.name.as_str().len() <= 64));
    }
}
