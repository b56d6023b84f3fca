//! The rules about each pack on its own: ids, versions, actions, tools, limits, references.

use std::collections::HashMap;

use super::input_schema::input_schema_problems;
use super::{Validator, note_at, note_here, root};
use crate::catalog::input::{Parsed, Scope};
use crate::catalog::{
    Action, Check, ComputeLimits, Handler, Pack, Precondition, Sandbox, Simulated, Tool, template,
};
use crate::diagnostics::{Code, backticked, did_you_mean};
use crate::spans::DocPath;
use crate::vocab::ReasonCode;

impl<'a> Validator<'a> {
    pub(super) fn index_packs(&mut self) {
        for (i, p) in self.packs.iter().enumerate() {
            let id = &p.doc.pack_id;
            match self.pack_index.get(id) {
                Some(&first) => {
                    let first_file = self.packs[first].file;
                    let first_path = self.path(first_file).to_path_buf();
                    let d = self.report(
                        p.file,
                        root().key("pack_id"),
                        Code::DuplicatePackId,
                        format!("pack id `{id}` is defined twice"),
                    );
                    d.label = Some("defined again here".into());
                    d.help = Some(
                        "give each pack its own id, or remove one of the two definitions".into(),
                    );
                    d.notes.push(note_at(
                        "first defined here",
                        &first_path,
                        root().key("pack_id"),
                    ));
                }
                None => {
                    self.pack_index.insert(id, i);
                }
            }
            self.file_name(p.file, id.as_str(), "pack_id");
        }
    }

    pub(super) fn file_name(&mut self, file: usize, id: &str, field: &str) {
        let path = self.path(file);
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if stem != id {
            let ext = path.extension().and_then(|s| s.to_str()).unwrap_or("yaml");
            let d = self.report(
                file,
                root().key(field),
                Code::FileNameMismatch,
                format!("the file is named `{stem}` but defines `{id}`"),
            );
            d.help = Some(format!(
                "rename the file to `{id}.{ext}` so it is easy to find"
            ));
        }
    }

    pub(super) fn pack_contents(&mut self, p: &'a Parsed<Pack>) {
        let pack = &p.doc;
        if let Err(e) = semver::Version::parse(&pack.version) {
            let d = self.report(
                p.file,
                root().key("version"),
                Code::InvalidVersion,
                format!("version `{}` is not a semantic version", pack.version),
            );
            d.label = Some(e.to_string());
            d.help = Some("write MAJOR.MINOR.PATCH, e.g. `1.0.0`".into());
        }
        if let Some(limits) = &pack.compute_limits {
            self.compute_limits(p.file, root().key("compute_limits"), limits);
        }
        self.signals(p.file, pack);
        let mut actions: HashMap<&str, usize> = HashMap::with_capacity(pack.actions.len());
        for (j, action) in pack.actions.iter().enumerate() {
            let at = root().key("actions").index(j);
            if let Some(&first) = actions.get(action.id.as_str()) {
                let d = self.report(
                    p.file,
                    at.key("id"),
                    Code::DuplicateActionId,
                    format!(
                        "action `{}` is declared twice in pack `{}`",
                        action.id, pack.pack_id
                    ),
                );
                d.label = Some("declared again here".into());
                d.help = Some("give each action of a pack its own id".into());
                d.notes.push(note_here(
                    "first declared here",
                    root().key("actions").index(first).key("id"),
                ));
            } else {
                actions.insert(action.id.as_str(), j);
            }
            self.action(p.file, &at, action);
            self.emits(p.file, &at, action, pack);
            self.resolve(p.file, &at, action, pack);
        }
        for (t, tool) in pack.tools.iter().enumerate() {
            let at = root().key("tools").index(t);
            if !actions.contains_key(tool.action.as_str()) {
                let help =
                    did_you_mean(tool.action.as_str(), actions.keys().copied()).or_else(|| {
                        Some(if pack.actions.is_empty() {
                            "declare the action under `actions:`".to_owned()
                        } else {
                            format!(
                                "pack `{}` declares {}",
                                pack.pack_id,
                                backticked(pack.actions.iter().map(|a| a.id.as_str()))
                            )
                        })
                    });
                let d = self.report(
                    p.file,
                    at.key("action"),
                    Code::UnknownAction,
                    format!(
                        "tool `{}` performs action `{}`, which pack `{}` does not declare",
                        tool.name, tool.action, pack.pack_id
                    ),
                );
                d.label = Some("unknown action".into());
                d.help = help;
            }
            match &tool.handler {
                Handler::Command(cmd) => {
                    self.sandbox(p.file, &at.key("handler").key("sandbox"), &cmd.sandbox);
                }
                Handler::Simulated(sim) => self.templates(p.file, &at, tool, sim),
                Handler::Builtin(_) => {}
            }
            for (field, message) in input_schema_problems(&tool.input_schema) {
                let path = at.key("input_schema").join(&field);
                let d = self.report(
                    p.file,
                    path,
                    Code::InvalidInputSchema,
                    format!("invalid input schema of tool `{}`: {message}", tool.name),
                );
                d.help = Some("an input schema is a JSON Schema object, e.g. `{ type: object, properties: { id: { type: string } } }`".into());
            }
        }
    }

    /// Every `{{args.NAME}}` of a simulated result names a property of the input schema.
    fn templates(&mut self, file: usize, at: &DocPath, tool: &Tool, sim: &Simulated) {
        let known: Vec<&str> = tool
            .input_schema
            .get("properties")
            .and_then(|p| p.as_object())
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let handler = at.key("handler");
        let results = std::iter::once((handler.key("result"), Some(&sim.result))).chain(
            sim.cases.iter().enumerate().map(|(c, case)| {
                let path = handler.key("cases").index(c).key("result");
                (path, case.result.as_ref())
            }),
        );
        for (path, result) in results {
            let Some(result) = result else { continue };
            for found in template::placeholders(result) {
                let (message, help) = match &found.name {
                    Ok(name) if known.contains(&name.as_str()) => continue,
                    Ok(name) => (
                        format!(
                            "`{{{{args.{name}}}}}` names no argument of tool `{}`",
                            tool.name
                        ),
                        did_you_mean(name, known.iter().copied()).unwrap_or_else(|| {
                            if known.is_empty() {
                                "the tool's input schema declares no properties".to_owned()
                            } else {
                                format!("the tool's arguments are {}", backticked(&known))
                            }
                        }),
                    ),
                    Err(inner) => (
                        format!("`{{{{{inner}}}}}` is not a template of an argument"),
                        "write `{{args.NAME}}`, NAME a property of the tool's input schema"
                            .to_owned(),
                    ),
                };
                let d = self.report(
                    file,
                    path.join(&found.at),
                    Code::UnknownTemplateArgument,
                    message,
                );
                d.label = Some("unknown argument".into());
                d.help = Some(help);
            }
        }
    }

    fn action(&mut self, file: usize, at: &DocPath, action: &Action) {
        if let Some(limits) = &action.compute_limits {
            self.compute_limits(file, at.key("compute_limits"), limits);
        }
        let mut codes: HashMap<&str, usize> = HashMap::new();
        for (k, pre) in action.preconditions.iter().enumerate() {
            if let Some((field, message)) = impossible(pre) {
                let d = self.report(
                    file,
                    at.key("preconditions").index(k).key(field),
                    Code::ImpossiblePrecondition,
                    message,
                );
                d.help = Some(
                    "a precondition that can never pass refuses every call of the action".into(),
                );
            }
            let path = at.key("preconditions").index(k).key("code");
            let code = pre.code.as_str();
            if ReasonCode::BUILT_IN.iter().any(|c| c.as_str() == code) {
                let d = self.report(
                    file,
                    path.clone(),
                    Code::ReservedRefusalCode,
                    format!("refusal code `{code}` is a built-in reason code"),
                );
                d.label = Some("reserved".into());
                d.help = Some(format!(
                    "choose a code that says what this check found, e.g. `{}_{code}`",
                    action.id
                ));
            }
            if let Some(&first) = codes.get(code) {
                let d = self.report(
                    file,
                    path,
                    Code::DuplicateRefusalCode,
                    format!(
                        "refusal code `{code}` is used twice by action `{}`",
                        action.id
                    ),
                );
                d.label = Some("used again here".into());
                d.help = Some(
                    "give each precondition its own code so a refusal says which check failed"
                        .into(),
                );
                d.notes.push(note_here(
                    "first used here",
                    at.key("preconditions").index(first).key("code"),
                ));
            } else {
                codes.insert(code, k);
            }
        }
    }

    /// Each signal once: a second entry would leave its Andon severity ambiguous.
    fn signals(&mut self, file: usize, pack: &Pack) {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(pack.signals.len());
        for (i, signal) in pack.signals.iter().enumerate() {
            let Some(&first) = seen.get(signal.name.as_str()) else {
                seen.insert(signal.name.as_str(), i);
                continue;
            };
            let d = self.report(
                file,
                root().key("signals").index(i),
                Code::DuplicateSignal,
                format!(
                    "signal `{}` is declared twice in pack `{}`",
                    signal.name, pack.pack_id
                ),
            );
            d.label = Some("declared again here".into());
            d.help = Some("declare each signal once, with its Andon severity if it has one".into());
            d.notes.push(note_here(
                "first declared here",
                root().key("signals").index(first),
            ));
        }
    }

    /// Each domain event an action emits must be one of its pack's `receipt_events`.
    fn emits(&mut self, file: usize, at: &DocPath, action: &Action, pack: &Pack) {
        let Some(emits) = &action.emits else { return };
        let declared = || pack.receipt_events.iter().map(|e| e.as_str());
        for (point, name) in emits.declared() {
            if declared().any(|e| e == name.as_str()) {
                continue;
            }
            let help = did_you_mean(name.as_str(), declared()).unwrap_or_else(|| {
                format!("add `{name}` to the pack's `receipt_events`, or emit one it declares")
            });
            let d = self.report(
                file,
                at.key("emits").key(point),
                Code::UnknownDomainEvent,
                format!(
                    "action `{}` emits `{name}` when {point}, which pack `{}` does not declare in \
                     `receipt_events`",
                    action.id, pack.pack_id
                ),
            );
            d.label = Some("undeclared domain event".into());
            d.help = Some(help);
        }
    }

    fn sandbox(&mut self, file: usize, at: &DocPath, sandbox: &Sandbox) {
        let lists = [("read", &sandbox.read), ("write", &sandbox.write)];
        for (list, paths) in lists {
            for (i, path) in paths.iter().enumerate() {
                let Some(message) = sandbox_path_problem(list, path) else {
                    continue;
                };
                let d = self.report(
                    file,
                    at.key(list).index(i),
                    Code::InvalidSandboxPath,
                    message,
                );
                d.help = Some(
                    "name an absolute path, e.g. `/var/lib/my-pack`; the handler may use it and \
                     everything beneath"
                        .into(),
                );
            }
        }
    }

    fn compute_limits(&mut self, file: usize, at: DocPath, limits: &ComputeLimits) {
        let values = [
            limits.timeout_ms,
            limits.max_memory_mb,
            limits.max_cpu_percent.map(u64::from),
            limits.max_output_kb,
        ];
        for (&(field, max, max_text), value) in COMPUTE_LIMITS.iter().zip(values) {
            let Some(value) = value else { continue };
            let problem = if value == 0 {
                Some(format!("`{field}` is 0"))
            } else if value > max {
                Some(format!("`{field}` is {value}, more than {max_text}"))
            } else {
                None
            };
            if let Some(message) = problem {
                let d = self.report(file, at.key(field), Code::InvalidComputeLimit, message);
                d.help = compute_limit_help(field);
            }
        }
    }

    pub(super) fn tool_names(&mut self) {
        let mut seen: HashMap<&str, (usize, usize)> = HashMap::new();
        for p in self.packs {
            for (t, tool) in p.doc.tools.iter().enumerate() {
                match seen.get(tool.name.as_str()) {
                    Some(&(first_file, first_tool)) => {
                        let first_path = self.path(first_file).to_path_buf();
                        let d = self.report(
                            p.file,
                            root().key("tools").index(t).key("name"),
                            Code::DuplicateToolName,
                            format!("tool name `{}` is already used", tool.name),
                        );
                        d.label = Some("used again here".into());
                        d.help = Some("tool names are unique across the catalog, since clients call tools by name alone".into());
                        d.notes.push(note_at(
                            "first used here",
                            &first_path,
                            root().key("tools").index(first_tool).key("name"),
                        ));
                    }
                    None => {
                        seen.insert(tool.name.as_str(), (p.file, t));
                    }
                }
            }
        }
    }

    pub(super) fn pack_references(&mut self) {
        if self.scope != Scope::Catalog {
            return;
        }
        for p in self.packs {
            for (field, code, what) in [
                ("requires", Code::UnknownRequiredPack, "requires"),
                (
                    "incompatible_with",
                    Code::UnknownIncompatiblePack,
                    "is incompatible with",
                ),
            ] {
                let list = if field == "requires" {
                    &p.doc.requires
                } else {
                    &p.doc.incompatible_with
                };
                for (k, id) in list.iter().enumerate() {
                    if self.is_unknown_pack(id) {
                        let help = Some(self.suggest_pack(id.as_str()).unwrap_or_else(|| {
                            format!(
                                "no file under `packs/` defines `{id}`; add one, or remove `{id}` from `{field}`"
                            )
                        }));
                        let d = self.report(
                            p.file,
                            root().key(field).index(k),
                            code,
                            format!(
                                "pack `{}` {what} `{id}`, which is not in the catalog",
                                p.doc.pack_id
                            ),
                        );
                        d.label = Some("unknown pack".into());
                        d.help = help;
                    }
                }
            }
        }
    }
}

/// Each compute limit with its largest sensible value, in the order of [`ComputeLimits`]'s
/// fields.
const COMPUTE_LIMITS: [(&str, u64, &str); 4] = [
    ("timeout_ms", 24 * 60 * 60 * 1000, "24 hours (86400000 ms)"),
    ("max_memory_mb", 1024 * 1024, "1 TiB (1048576 MiB)"),
    ("max_cpu_percent", 100, "100 percent"),
    ("max_output_kb", 1024 * 1024, "1 GiB (1048576 KiB)"),
];

/// What is wrong with `path` in a sandbox's `list` (`read` or `write`), if anything.
fn sandbox_path_problem(list: &str, path: &str) -> Option<String> {
    let p = std::path::Path::new(path);
    if path.is_empty() {
        Some(format!("a `{list}` path is empty"))
    } else if !p.is_absolute() {
        Some(format!("`{path}` is not an absolute path"))
    } else if p
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        Some(format!("`{path}` has a `..` component"))
    } else if list == "write" && p.parent().is_none() {
        Some(format!(
            "`{path}` would make the whole file system writable"
        ))
    } else {
        None
    }
}

/// The hint for a bad compute limit `field` (`None` for a name that is not one).
pub fn compute_limit_help(field: &str) -> Option<String> {
    let &(_, max, _) = COMPUTE_LIMITS.iter().find(|(name, ..)| *name == field)?;
    Some(format!(
        "use a positive whole number up to {max}, or leave `{field}` out for the default"
    ))
}

/// Why a precondition can never pass, and the field to point at: a `one_of` with nothing in
/// it, or a `default` of a type its check cannot accept (a string for `at_least`, say).
fn impossible(pre: &Precondition) -> Option<(&'static str, String)> {
    if let Check::OneOf(values) = &pre.check
        && values.is_empty()
    {
        return Some((
            "check",
            format!(
                "precondition `{}` checks `one_of: []`, which no value passes",
                pre.key
            ),
        ));
    }
    let default = pre.default.as_ref()?;
    let kind = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "boolean",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    };
    let (fits, check) = match &pre.check {
        Check::Present => (!default.is_null(), "present"),
        Check::Equals(v) => (kind(v) == kind(default), "equals"),
        Check::NotEquals(_) => (true, "not_equals"),
        Check::OneOf(values) => (values.iter().any(|v| kind(v) == kind(default)), "one_of"),
        Check::AtLeast(_) => (default.is_number(), "at_least"),
        Check::AtMost(_) => (default.is_number(), "at_most"),
    };
    (!fits).then(|| {
        (
            "default",
            format!(
                "the default of precondition `{}` is a {}, which its check `{check}` never \
                 accepts",
                pre.key,
                kind(default)
            ),
        )
    })
}
