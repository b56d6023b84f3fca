//! The catalog's consistency rules: everything that parsing alone cannot catch.
//!
//! Rules run over every parsed definition and report every problem at once, each attached
//! to the file and document path of the offending value so it gets a line and column. All
//! rules are linear in the catalog's size (hash lookups, one graph pass for cycles), except
//! the incompatibility check, which walks each pack's requirements and only runs when some
//! pack declares an incompatibility.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use serde_json::Value;

use super::load::{Scope, SourceFile};
use super::{Action, ComputeLimits, Pack, Sku};
use crate::diagnostics::{Code, Diagnostic, did_you_mean};
use crate::ids::{PackId, Role};
use crate::source::DocPath;
use crate::vocab::ReasonCode;

/// A parsed definition and the index of the file it came from.
#[derive(Debug, Clone)]
pub struct Parsed<T> {
    /// Index into the file list.
    pub file: usize,
    /// The definition.
    pub doc: T,
}

/// What is known of definition files that did not load (unreadable, or not parsed). Their
/// own errors are reported already; the rules must not also report what their absence
/// implies.
#[derive(Debug, Clone, Default)]
pub struct Unloaded {
    /// Ids of packs whose files did not load (the `pack_id` if that much reads, else the
    /// file name): references to them are not reported as unknown.
    pub packs: HashSet<String>,
    /// Whether some SKU file did not load: "no SKU grants this role" and "no SKU enables
    /// this pack" are then guesses, and not reported.
    pub skus: bool,
    /// Packs that parsed only once values with errors were left out: their own contents are
    /// checked, but not how they relate to the rest of the catalog.
    pub partial_packs: Vec<Parsed<Pack>>,
    /// SKUs that parsed only once values with errors were left out, likewise.
    pub partial_skus: Vec<Parsed<Sku>>,
}

/// Runs every rule. `files` are the files `packs` and `skus` index into.
pub fn validate(
    files: &[SourceFile],
    packs: &[Parsed<Pack>],
    skus: &[Parsed<Sku>],
    scope: Scope,
    unloaded: &Unloaded,
) -> Vec<Diagnostic> {
    let mut v = Validator {
        files,
        packs,
        skus,
        scope,
        unloaded,
        out: Vec::new(),
        pack_index: HashMap::with_capacity(packs.len()),
        suggestions: HashMap::new(),
    };
    v.index_packs();
    for p in packs {
        v.pack_contents(p);
    }
    v.tool_names();
    v.pack_references();
    v.requires_cycles();
    v.incompatible_requirements();
    v.sku_ids();
    for s in skus {
        v.sku(s);
    }
    if scope == Scope::Catalog && !unloaded.skus {
        v.grantable_roles();
        v.packs_sold();
    }
    // Definitions that parsed only in part: their own contents.
    for p in &unloaded.partial_packs {
        v.pack_contents(p);
        v.file_name(p.file, p.doc.pack_id.as_str(), "pack_id");
    }
    for s in &unloaded.partial_skus {
        v.sku_contents(s);
        v.file_name(s.file, s.doc.sku_id.as_str(), "sku_id");
    }
    v.out
}

struct Validator<'a> {
    files: &'a [SourceFile],
    packs: &'a [Parsed<Pack>],
    skus: &'a [Parsed<Sku>],
    scope: Scope,
    /// What did not load: references to it are not reported.
    unloaded: &'a Unloaded,
    out: Vec<Diagnostic>,
    /// First definition of each pack id → index into `packs`.
    pack_index: HashMap<&'a PackId, usize>,
    /// "did you mean" answers for unknown pack ids, computed once per name.
    suggestions: HashMap<String, Option<String>>,
}

fn root() -> DocPath {
    DocPath::root()
}

impl<'a> Validator<'a> {
    fn path(&self, file: usize) -> &'a Path {
        &self.files[file].path
    }

    fn report(
        &mut self,
        file: usize,
        field: DocPath,
        code: Code,
        message: String,
    ) -> &mut Diagnostic {
        let d = Diagnostic::new(code, message)
            .in_file(self.path(file))
            .at(field);
        self.out.push(d);
        let last = self.out.len() - 1;
        &mut self.out[last]
    }

    fn suggest_pack(&mut self, name: &str) -> Option<String> {
        if let Some(s) = self.suggestions.get(name) {
            return s.clone();
        }
        let s = did_you_mean(name, self.pack_index.keys().map(|id| id.as_str()));
        self.suggestions.insert(name.to_owned(), s.clone());
        s
    }

    /// Whether `id` names a pack the catalog lacks: only a whole catalog can tell, and a
    /// pack whose file failed to load is not missing, just broken.
    fn is_unknown_pack(&self, id: &PackId) -> bool {
        self.scope == Scope::Catalog
            && !self.pack_index.contains_key(id)
            && !self.unloaded.packs.contains(id.as_str())
    }

    fn index_packs(&mut self) {
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

    fn file_name(&mut self, file: usize, id: &str, field: &str) {
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

    fn pack_contents(&mut self, p: &'a Parsed<Pack>) {
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
                                list(pack.actions.iter().map(|a| a.id.as_str()))
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
            for (field, message) in input_schema_problems(&tool.input_schema) {
                let mut path = at.key("input_schema");
                for seg in field.segments() {
                    path = match seg {
                        crate::source::Segment::Key(k) => path.key(k.clone()),
                        crate::source::Segment::Index(i) => path.index(*i),
                    };
                }
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

    fn action(&mut self, file: usize, at: &DocPath, action: &Action) {
        if let Some(limits) = &action.compute_limits {
            self.compute_limits(file, at.key("compute_limits"), limits);
        }
        let mut codes: HashMap<&str, usize> = HashMap::new();
        for (k, pre) in action.preconditions.iter().enumerate() {
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

    fn tool_names(&mut self) {
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

    fn pack_references(&mut self) {
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

    /// Graph of `requires` over first definitions: node i is `packs[i]`; edges carry the
    /// index into the pack's `requires` list.
    fn requires_graph(&self) -> Vec<Vec<(usize, usize)>> {
        self.packs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                if self.pack_index.get(&p.doc.pack_id) != Some(&i) {
                    return Vec::new();
                }
                p.doc
                    .requires
                    .iter()
                    .enumerate()
                    .filter_map(|(k, id)| self.pack_index.get(id).map(|&to| (k, to)))
                    .collect()
            })
            .collect()
    }

    fn requires_cycles(&mut self) {
        let graph = self.requires_graph();
        let adj: Vec<Vec<usize>> = graph
            .iter()
            .map(|e| e.iter().map(|&(_, to)| to).collect())
            .collect();
        for component in strongly_connected(&adj) {
            let cyclic = component.len() > 1 || adj[component[0]].contains(&component[0]);
            if !cyclic {
                continue;
            }
            let members: HashSet<usize> = component.iter().copied().collect();
            let Some(&start) = component
                .iter()
                .min_by_key(|&&i| &self.packs[i].doc.pack_id)
            else {
                continue;
            };
            let cycle = shortest_cycle(start, &graph, &members);
            let names: Vec<&str> = cycle
                .iter()
                .map(|&(node, _)| self.packs[node].doc.pack_id.as_str())
                .collect();
            let mut shown = names.join(" -> ");
            shown.push_str(" -> ");
            shown.push_str(names[0]);
            let (first, first_edge) = cycle[0];
            let file = self.packs[first].file;
            let mut notes = Vec::new();
            for &(node, edge) in &cycle[1..] {
                let p = &self.packs[node];
                notes.push(note_at(
                    &format!(
                        "`{}` requires `{}` here",
                        p.doc.pack_id, p.doc.requires[edge]
                    ),
                    self.path(p.file),
                    root().key("requires").index(edge),
                ));
            }
            let d = self.report(
                file,
                root().key("requires").index(first_edge),
                Code::RequiresCycle,
                format!("packs require each other in a cycle: {shown}"),
            );
            d.label = Some("starts the cycle".into());
            d.help = Some("a pack cannot require itself, directly or through other packs; drop one of these requirements".into());
            d.notes = notes;
        }
    }

    fn incompatible_requirements(&mut self) {
        // Symmetric incompatibility over first definitions.
        let n = self.packs.len();
        let mut incompatible: Vec<Vec<usize>> = vec![Vec::new(); n];
        let mut any = false;
        for (i, p) in self.packs.iter().enumerate() {
            if self.pack_index.get(&p.doc.pack_id) != Some(&i) {
                continue;
            }
            for id in &p.doc.incompatible_with {
                if let Some(&j) = self.pack_index.get(id) {
                    incompatible[i].push(j);
                    if i != j {
                        incompatible[j].push(i);
                    }
                    any = true;
                }
            }
        }
        if !any {
            return;
        }
        let graph = self.requires_graph();
        // Each pack's transitive requirements (itself included), with the path that reached
        // each one, for the message.
        let closures: Vec<HashMap<usize, usize>> = (0..n).map(|i| closure(i, &graph)).collect();
        for p in 0..n {
            if self.pack_index.get(&self.packs[p].doc.pack_id) != Some(&p) {
                continue;
            }
            let mut reported = HashSet::new();
            let mut members: Vec<usize> = closures[p].keys().copied().collect();
            members.sort_unstable();
            for &x in &members {
                for &y in &incompatible[x] {
                    if !closures[p].contains_key(&y) || !reported.insert((x.min(y), x.max(y))) {
                        continue;
                    }
                    // Report where the conflict first arises: skip it here when one of this
                    // pack's requirements already contains both sides.
                    let below = graph[p].iter().any(|&(_, r)| {
                        r != p && closures[r].contains_key(&x) && closures[r].contains_key(&y)
                    });
                    if below {
                        continue;
                    }
                    self.report_incompatible_requirement(p, x, y, &graph, &closures[p]);
                }
            }
        }
    }

    fn report_incompatible_requirement(
        &mut self,
        p: usize,
        x: usize,
        y: usize,
        graph: &[Vec<(usize, usize)>],
        reach: &HashMap<usize, usize>,
    ) {
        let name = |i: usize| self.packs[i].doc.pack_id.as_str();
        let chain = |target: usize| -> Vec<usize> {
            let mut nodes = vec![target];
            let mut cur = target;
            while cur != p {
                cur = reach[&cur];
                nodes.push(cur);
            }
            nodes.reverse();
            nodes
        };
        let via = |target: usize| -> String {
            let nodes = chain(target);
            if nodes.len() > 2 {
                format!(
                    " (via {})",
                    nodes
                        .iter()
                        .map(|&i| name(i))
                        .collect::<Vec<_>>()
                        .join(" -> ")
                )
            } else {
                String::new()
            }
        };
        let pack = &self.packs[p].doc;
        let (message, field) = if x == p && y == p {
            let k = pack
                .incompatible_with
                .iter()
                .position(|id| id == &pack.pack_id)
                .unwrap_or(0);
            (
                format!("pack `{}` is incompatible with itself", pack.pack_id),
                root().key("incompatible_with").index(k),
            )
        } else if x == p || y == p {
            let other = if x == p { y } else { x };
            (
                format!(
                    "pack `{}` requires `{}`{}, which it is incompatible with",
                    pack.pack_id,
                    name(other),
                    via(other)
                ),
                first_hop(p, other, graph, &chain),
            )
        } else {
            (
                format!(
                    "pack `{}` requires `{}`{} and `{}`{}, which are incompatible",
                    pack.pack_id,
                    name(x),
                    via(x),
                    name(y),
                    via(y)
                ),
                first_hop(p, y, graph, &chain),
            )
        };
        let d = self.report(
            self.packs[p].file,
            field,
            Code::IncompatibleRequirement,
            message,
        );
        d.help = Some(
            "no SKU could ever enable this pack; drop the requirement or the incompatibility"
                .into(),
        );
    }

    fn sku_ids(&mut self) {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.skus.len());
        for s in self.skus {
            match seen.get(s.doc.sku_id.as_str()) {
                Some(&first_file) => {
                    let first_path = self.path(first_file).to_path_buf();
                    let d = self.report(
                        s.file,
                        root().key("sku_id"),
                        Code::DuplicateSkuId,
                        format!("SKU id `{}` is defined twice", s.doc.sku_id),
                    );
                    d.label = Some("defined again here".into());
                    d.help = Some(
                        "give each SKU its own id, or remove one of the two definitions".into(),
                    );
                    d.notes.push(note_at(
                        "first defined here",
                        &first_path,
                        root().key("sku_id"),
                    ));
                }
                None => {
                    seen.insert(s.doc.sku_id.as_str(), s.file);
                }
            }
            self.file_name(s.file, s.doc.sku_id.as_str(), "sku_id");
        }
    }

    /// The rules about a SKU on its own; whether it enables any packs.
    fn sku_contents(&mut self, s: &Parsed<Sku>) -> bool {
        self.price(s);
        if s.doc.enabled_packs.is_empty() {
            let d = self.report(
                s.file,
                root().key("enabled_packs"),
                Code::SkuWithoutPacks,
                format!("SKU `{}` enables no packs", s.doc.sku_id),
            );
            d.help = Some("list the packs the plan unlocks under `enabled_packs`".into());
            return false;
        }
        true
    }

    fn sku(&mut self, s: &'a Parsed<Sku>) {
        let sku = &s.doc;
        if !self.sku_contents(s) {
            return;
        }
        let enabled: HashMap<&PackId, usize> = sku
            .enabled_packs
            .iter()
            .enumerate()
            .rev()
            .map(|(i, id)| (id, i))
            .collect();
        let roles: HashSet<&Role> = sku.iam_roles.iter().collect();
        let mut reported_pairs = HashSet::new();
        for (i, id) in sku.enabled_packs.iter().enumerate() {
            let at = root().key("enabled_packs").index(i);
            let Some(&pi) = self.pack_index.get(id) else {
                if self.is_unknown_pack(id) {
                    let help = Some(self.suggest_pack(id.as_str()).unwrap_or_else(|| {
                        format!(
                            "no file under `packs/` defines `{id}`; add one, or remove it from `enabled_packs`"
                        )
                    }));
                    let d = self.report(
                        s.file,
                        at,
                        Code::UnknownEnabledPack,
                        format!(
                            "SKU `{}` enables `{id}`, which is not in the catalog",
                            sku.sku_id
                        ),
                    );
                    d.label = Some("unknown pack".into());
                    d.help = help;
                }
                continue;
            };
            let pack = &self.packs[pi].doc;
            for req in &pack.requires {
                // A requirement the catalog lacks is reported on the pack, once.
                let unknown = self.is_unknown_pack(req);
                if !enabled.contains_key(req) && !unknown {
                    let d = self.report(
                        s.file,
                        at.clone(),
                        Code::MissingRequiredPack,
                        format!(
                            "pack `{id}` requires `{req}`, which SKU `{}` does not enable",
                            sku.sku_id
                        ),
                    );
                    d.label = Some(format!("needs `{req}`"));
                    d.help = Some(format!("add `{req}` to `enabled_packs`"));
                }
            }
            let incompatible = pack
                .incompatible_with
                .iter()
                .filter_map(|other| enabled.get(other).map(|&j| (other, j)));
            let mut conflicts: Vec<(&PackId, usize)> = incompatible.collect();
            // Declared on the other side only: check that direction too.
            for (other, &j) in &enabled {
                if let Some(&oi) = self.pack_index.get(*other)
                    && self.packs[oi].doc.incompatible_with.contains(id)
                {
                    conflicts.push((other, j));
                }
            }
            for (other, j) in conflicts {
                if j == i || !reported_pairs.insert((i.min(j), i.max(j))) {
                    continue;
                }
                let (here, there) = (i.max(j), i.min(j));
                let d = self.report(
                    s.file,
                    root().key("enabled_packs").index(here),
                    Code::IncompatiblePacksEnabled,
                    format!(
                        "SKU `{}` enables `{id}` and `{other}`, which are incompatible",
                        sku.sku_id
                    ),
                );
                d.label = Some("incompatible".into());
                d.help = Some("a SKU may enable at most one of two incompatible packs".into());
                d.notes.push(note_here(
                    "the other pack is enabled here",
                    root().key("enabled_packs").index(there),
                ));
            }
            for action in &pack.actions {
                let missing: Vec<&str> = action
                    .roles
                    .iter()
                    .filter(|r| !roles.contains(r))
                    .map(Role::as_str)
                    .collect();
                if missing.is_empty() {
                    continue;
                }
                let noun = if missing.len() == 1 { "role" } else { "roles" };
                let d = self.report(
                    s.file,
                    root().key("iam_roles"),
                    Code::UnusableAction,
                    format!(
                        "SKU `{}` cannot run action `{}` of pack `{id}`: missing {noun} {}",
                        sku.sku_id,
                        action.id,
                        list(missing.iter().copied())
                    ),
                );
                d.help = Some(format!(
                    "add {} to `iam_roles` if the plan should allow the action; its tools are listed but always refused",
                    list(missing.iter().copied())
                ));
            }
        }
    }

    fn price(&mut self, s: &Parsed<Sku>) {
        let price = &s.doc.price;
        let amount = price.amount;
        let problem = if !amount.is_finite() {
            Some(format!("price `{amount}` is not a number"))
        } else if amount < 0.0 {
            Some(format!("price `{amount}` is negative"))
        } else if amount > 1e12 {
            Some(format!("price `{amount}` is too large"))
        } else if ((amount * 100.0).round() - amount * 100.0).abs() > 1e-6 {
            Some(format!("price `{amount}` has more than two decimals"))
        } else {
            None
        };
        if let Some(message) = problem {
            let d = self.report(
                s.file,
                root().key("price").key("amount"),
                Code::InvalidPrice,
                message,
            );
            d.help = Some("write the amount per period in the currency's units, at most two decimals, e.g. `299` or `29.50`".into());
        }
        let currency = &price.currency;
        if !(currency.len() == 3 && currency.bytes().all(|b| b.is_ascii_uppercase())) {
            let d = self.report(
                s.file,
                root().key("price").key("currency"),
                Code::InvalidCurrency,
                format!("currency `{currency}` is not an ISO 4217 code"),
            );
            d.help = Some("use three uppercase letters, e.g. `USD` or `EUR`".into());
        }
    }

    fn grantable_roles(&mut self) {
        let granted: HashSet<&Role> = self
            .skus
            .iter()
            .flat_map(|s| s.doc.iam_roles.iter())
            .collect();
        for p in self.packs {
            for (j, action) in p.doc.actions.iter().enumerate() {
                for (k, role) in action.roles.iter().enumerate() {
                    if granted.contains(role) {
                        continue;
                    }
                    let d = self.report(
                        p.file,
                        root().key("actions").index(j).key("roles").index(k),
                        Code::UngrantableRole,
                        format!(
                            "action `{}` of pack `{}` needs role `{role}`, which no SKU grants",
                            action.id, p.doc.pack_id
                        ),
                    );
                    d.label = Some("no SKU grants this".into());
                    d.help = Some(format!(
                        "add `{role}` to the `iam_roles` of a SKU that enables `{}`",
                        p.doc.pack_id
                    ));
                }
            }
        }
    }

    fn packs_sold(&mut self) {
        let sold: HashSet<&PackId> = self
            .skus
            .iter()
            .flat_map(|s| s.doc.enabled_packs.iter())
            .collect();
        for p in self.packs {
            if !sold.contains(&p.doc.pack_id) {
                let d = self.report(
                    p.file,
                    root().key("pack_id"),
                    Code::PackNotSold,
                    format!("no SKU enables pack `{}`", p.doc.pack_id),
                );
                d.help = Some("add it to a SKU's `enabled_packs`, or it can never be used".into());
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

/// The hint for a bad compute limit `field` (`None` for a name that is not one).
pub fn compute_limit_help(field: &str) -> Option<String> {
    let &(_, max, _) = COMPUTE_LIMITS.iter().find(|(name, ..)| *name == field)?;
    Some(format!(
        "use a positive whole number up to {max}, or leave `{field}` out for the default"
    ))
}

/// A note about a place in another (or the same) file.
fn note_at(message: &str, file: &Path, field: DocPath) -> crate::diagnostics::Note {
    crate::diagnostics::Note {
        message: message.to_owned(),
        file: Some(file.to_path_buf()),
        field: Some(field),
        location: None,
    }
}

/// A note about a place in the diagnostic's own file.
fn note_here(message: &str, field: DocPath) -> crate::diagnostics::Note {
    crate::diagnostics::Note {
        message: message.to_owned(),
        file: None,
        field: Some(field),
        location: None,
    }
}

fn list<'s>(items: impl IntoIterator<Item = &'s str>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `requires` entry of `p` through which `target` is reached.
fn first_hop(
    p: usize,
    target: usize,
    graph: &[Vec<(usize, usize)>],
    chain: &dyn Fn(usize) -> Vec<usize>,
) -> DocPath {
    let nodes = chain(target);
    let hop = nodes.get(1).copied().unwrap_or(target);
    let k = graph[p]
        .iter()
        .find(|&&(_, to)| to == hop)
        .map_or(0, |&(k, _)| k);
    root().key("requires").index(k)
}

/// Everything `start` reaches through `requires` (itself included), each mapped to the node
/// it was reached from (`start` maps to itself).
fn closure(start: usize, graph: &[Vec<(usize, usize)>]) -> HashMap<usize, usize> {
    let mut reach = HashMap::new();
    reach.insert(start, start);
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for &(_, next) in &graph[node] {
            if let std::collections::hash_map::Entry::Vacant(e) = reach.entry(next) {
                e.insert(node);
                queue.push_back(next);
            }
        }
    }
    reach
}

/// The shortest cycle through `start` within `members`, as (node, index of the `requires`
/// edge taken from it).
fn shortest_cycle(
    start: usize,
    graph: &[Vec<(usize, usize)>],
    members: &HashSet<usize>,
) -> Vec<(usize, usize)> {
    // Breadth-first from start; `from[n]` is (previous node, edge index).
    let mut from: HashMap<usize, (usize, usize)> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    'search: while let Some(node) = queue.pop_front() {
        for &(k, next) in &graph[node] {
            if !members.contains(&next) {
                continue;
            }
            if next == start {
                closing = Some((node, k));
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = from.entry(next) {
                e.insert((node, k));
                queue.push_back(next);
            }
        }
    }
    let Some((mut node, mut edge)) = closing else {
        return vec![(start, 0)];
    };
    let mut cycle = Vec::new();
    loop {
        cycle.push((node, edge));
        if node == start {
            break;
        }
        let (prev, k) = from[&node];
        node = prev;
        edge = k;
    }
    cycle.reverse();
    cycle
}

/// Tarjan's strongly connected components, iteratively (no recursion on deep chains).
fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = adj.len();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut components = Vec::new();
    let mut next = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut calls = vec![(root, 0usize)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (v, ref mut edge)) = calls.last_mut() {
            if let Some(&w) = adj[v].get(*edge) {
                *edge += 1;
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                components.push(component);
            }
        }
    }
    components
}

const JSON_TYPES: [&str; 7] = [
    "object", "array", "string", "number", "integer", "boolean", "null",
];

/// Problems with a tool's input schema, each at its path inside the schema.
pub fn input_schema_problems(schema: &Value) -> Vec<(DocPath, String)> {
    let mut out = Vec::new();
    let Some(obj) = schema.as_object() else {
        out.push((
            root(),
            format!("expected a mapping, found {}", kind_of(schema)),
        ));
        return out;
    };
    match obj.get("type") {
        Some(Value::String(t)) if t == "object" => {}
        Some(other) => out.push((
            root().key("type"),
            format!("`type` must be `object`, found {}", short(other)),
        )),
        None => out.push((root(), "the schema must declare `type: object`".to_owned())),
    }
    check_subschema(schema, &root(), 0, &mut out);
    out
}

fn check_subschema(schema: &Value, at: &DocPath, depth: usize, out: &mut Vec<(DocPath, String)>) {
    // Parsers already bound nesting; this keeps the walk bounded whatever produced the value.
    if depth > 64 {
        return;
    }
    let obj = match schema {
        Value::Bool(_) => return,
        Value::Object(obj) => obj,
        other => {
            out.push((
                at.clone(),
                format!(
                    "a schema must be a mapping or a boolean, found {}",
                    kind_of(other)
                ),
            ));
            return;
        }
    };
    for (key, value) in obj {
        let here = at.key(key.clone());
        let mut bad = |expected: &str| {
            out.push((
                here.clone(),
                format!("`{key}` must be {expected}, found {}", short(value)),
            ))
        };
        match key.as_str() {
            "type" => {
                let ok = match value {
                    Value::String(t) => JSON_TYPES.contains(&t.as_str()),
                    Value::Array(ts) => {
                        !ts.is_empty()
                            && ts
                                .iter()
                                .all(|t| t.as_str().is_some_and(|t| JSON_TYPES.contains(&t)))
                    }
                    _ => false,
                };
                if !ok {
                    bad(
                        "one of `object`, `array`, `string`, `number`, `integer`, `boolean`, `null` (or a list of them)",
                    );
                }
            }
            "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => {
                match value {
                    Value::Object(map) => {
                        for (name, sub) in map {
                            check_subschema(sub, &here.key(name.clone()), depth + 1, out);
                        }
                    }
                    _ => bad("a mapping of names to schemas"),
                }
            }
            "items"
            | "additionalProperties"
            | "additionalItems"
            | "not"
            | "contains"
            | "propertyNames"
            | "if"
            | "then"
            | "else"
            | "unevaluatedProperties"
            | "unevaluatedItems" => match value {
                Value::Object(_) | Value::Bool(_) => check_subschema(value, &here, depth + 1, out),
                Value::Array(items) if key == "items" => {
                    for (i, sub) in items.iter().enumerate() {
                        check_subschema(sub, &here.index(i), depth + 1, out);
                    }
                }
                _ => bad("a schema"),
            },
            "allOf" | "anyOf" | "oneOf" | "prefixItems" => match value {
                Value::Array(items) if !items.is_empty() => {
                    for (i, sub) in items.iter().enumerate() {
                        check_subschema(sub, &here.index(i), depth + 1, out);
                    }
                }
                _ => bad("a non-empty list of schemas"),
            },
            "required" => {
                let ok = value.as_array().is_some_and(|names| {
                    let mut seen = HashSet::new();
                    names
                        .iter()
                        .all(|n| n.as_str().is_some_and(|n| seen.insert(n)))
                });
                if !ok {
                    bad("a list of distinct property names");
                }
            }
            "enum" | "examples" if !value.is_array() => bad("a list"),
            "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum"
                if !value.is_number() =>
            {
                bad("a number");
            }
            "multipleOf" if !value.as_f64().is_some_and(|n| n > 0.0) => bad("a positive number"),
            "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
            | "maxProperties" | "minContains" | "maxContains"
                if value.as_u64().is_none() =>
            {
                bad("a non-negative integer");
            }
            "pattern" | "format" | "title" | "description" | "$comment" | "$schema" | "$id"
            | "$ref" | "$anchor"
                if !value.is_string() =>
            {
                bad("a string");
            }
            "uniqueItems" | "readOnly" | "writeOnly" | "deprecated" if !value.is_boolean() => {
                bad("`true` or `false`");
            }
            "dependentRequired" => {
                let ok = value.as_object().is_some_and(|m| {
                    m.values()
                        .all(|v| v.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
                });
                if !ok {
                    bad("a mapping of names to lists of names");
                }
            }
            // Other keywords (vendor extensions, `default`, `const`) are free-form.
            _ => {}
        }
    }
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn short(v: &Value) -> String {
    match v {
        Value::String(s) if s.len() <= 40 => format!("`{s}`"),
        Value::Number(n) => format!("`{n}`"),
        Value::Bool(b) => format!("`{b}`"),
        other => kind_of(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cycles_are_found_without_recursion() {
        // A long chain closing on itself, and an acyclic tail.
        let n = 10_000;
        let mut adj: Vec<Vec<usize>> = (0..n).map(|i| vec![(i + 1) % n]).collect();
        adj.push(vec![0]);
        let comps = strongly_connected(&adj);
        assert_eq!(comps.iter().filter(|c| c.len() == n).count(), 1);
        assert_eq!(comps.len(), 2);
    }

    #[test]
    fn shortest_cycle_names_the_edges() {
        let graph = vec![vec![(0, 1)], vec![(0, 2), (1, 0)], vec![(0, 0)]];
        let members: HashSet<usize> = [0, 1, 2].into();
        assert_eq!(shortest_cycle(0, &graph, &members), vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn input_schemas_are_checked_structurally() {
        assert!(
            input_schema_problems(
                &json!({"type": "object", "properties": {"a": {"type": "string"}}})
            )
            .is_empty()
        );
        let problems = |v: Value| -> Vec<String> {
            input_schema_problems(&v)
                .into_iter()
                .map(|(p, m)| format!("{p}: {m}"))
                .collect()
        };
        assert_eq!(
            problems(json!("x")),
            [": expected a mapping, found a string"]
        );
        assert_eq!(
            problems(json!({"type": "array"})),
            ["type: `type` must be `object`, found `array`"]
        );
        assert_eq!(
            problems(json!({})),
            [": the schema must declare `type: object`"]
        );
        assert_eq!(
            problems(json!({"type": "object", "properties": {"a": {"type": "strin"}}})),
            [
                "properties.a.type: `type` must be one of `object`, `array`, `string`, `number`, `integer`, `boolean`, `null` (or a list of them), found `strin`"
            ]
        );
        assert_eq!(
            problems(json!({"type": "object", "properties": [1]})),
            ["properties: `properties` must be a mapping of names to schemas, found a list"]
        );
        assert_eq!(
            problems(json!({"type": "object", "required": ["a", "a"], "properties": {"a": 3}})),
            [
                "properties.a: a schema must be a mapping or a boolean, found a number",
                "required: `required` must be a list of distinct property names, found a list"
            ]
        );
    }
}
