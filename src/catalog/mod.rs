//! The catalog: every pack and SKU definition, loaded from files and validated.
//!
//! A [`Catalog`] is immutable once built and indexed for the lookups the engine makes on
//! every call (tool → pack and action), so entitlement checks and tool calls never scan.
//!
//! Inside the catalog, imports run one way: [`input`] (files, kinds, scope, what parsed)
//! stands below `fields` and [`validate`], which [`load`] drives; [`view`] only reads a
//! built [`Catalog`].

pub mod builtin;
mod fields;
pub mod input;
pub mod load;
pub mod marketplace;
mod model;
mod resolve;
pub mod scaffold;
pub mod schema;
mod signals;
pub mod template;
pub mod validate;
pub mod view;

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

pub use model::*;
pub use resolve::{AutoResolve, StatusVerdict};

use crate::ids::{PackId, SkuId, ToolName};

/// Where a tool lives: its pack and its index in that pack's tool list, and its input schema
/// compiled for checking arguments (on first use: loading a catalog compiles nothing).
#[derive(Debug, Clone)]
struct ToolSlot {
    pack: usize,
    tool: usize,
    input: Arc<OnceLock<Option<jsonschema::Validator>>>,
}

/// A set of packs and SKUs with lookup indexes and a content hash.
#[derive(Debug, Clone)]
pub struct Catalog {
    packs: Vec<Pack>,
    skus: Vec<Sku>,
    pack_index: HashMap<PackId, usize>,
    sku_index: HashMap<SkuId, usize>,
    tool_index: HashMap<ToolName, ToolSlot>,
    hash: Arc<str>,
}

/// A tool together with the pack and action it belongs to.
#[derive(Debug, Clone, Copy)]
pub struct ToolRef<'a> {
    /// The pack that provides the tool.
    pub pack: &'a Pack,
    /// The tool definition.
    pub tool: &'a Tool,
    /// The action the tool performs, if the pack declares it (validation guarantees it).
    pub action: Option<&'a Action>,
    /// The tool's input schema, compiled the first time arguments are checked against it.
    input: &'a OnceLock<Option<jsonschema::Validator>>,
}

impl ToolRef<'_> {
    /// The tool's input schema, compiled; `None` when it does not compile (validation
    /// reports such a schema).
    pub fn input(&self) -> Option<&jsonschema::Validator> {
        self.input
            .get_or_init(|| jsonschema::validator_for(&self.tool.input_schema).ok())
            .as_ref()
    }

    /// Where `arguments` break the tool's input schema: each problem with the JSON pointer
    /// of the argument it concerns. Empty when they conform. A schema that does not compile
    /// (validation refuses such a catalog) is a problem whatever the arguments: nothing is
    /// accepted unchecked.
    pub fn argument_problems(
        &self,
        arguments: &serde_json::Map<String, serde_json::Value>,
    ) -> Vec<String> {
        let Some(validator) = self.input() else {
            return vec![format!(
                "the input schema of tool `{}` does not compile, so no arguments can be accepted",
                self.tool.name
            )];
        };
        // The validator takes a `Value`; the copy is made only for a tool that has a schema.
        let arguments = serde_json::Value::Object(arguments.clone());
        if validator.is_valid(&arguments) {
            return Vec::new();
        }
        validator
            .iter_errors(&arguments)
            .take(8)
            .map(|e| {
                let at = e.instance_path().to_string();
                if at.is_empty() {
                    e.to_string()
                } else {
                    format!("`{at}`: {e}")
                }
            })
            .collect()
    }
}

impl Catalog {
    /// Builds a catalog from already-validated definitions. Packs and SKUs are kept sorted by
    /// id; on a duplicate id or tool name the first definition wins (validation reports it).
    pub fn new(mut packs: Vec<Pack>, mut skus: Vec<Sku>) -> Self {
        packs.sort_by(|a, b| a.pack_id.cmp(&b.pack_id));
        skus.sort_by(|a, b| a.sku_id.cmp(&b.sku_id));
        let mut pack_index = HashMap::with_capacity(packs.len());
        let mut tool_index = HashMap::new();
        for (pi, pack) in packs.iter().enumerate() {
            pack_index.entry(pack.pack_id.clone()).or_insert(pi);
            for (ti, tool) in pack.tools.iter().enumerate() {
                tool_index
                    .entry(tool.name.clone())
                    .or_insert_with(|| ToolSlot {
                        pack: pi,
                        tool: ti,
                        input: Arc::default(),
                    });
            }
        }
        let mut sku_index = HashMap::with_capacity(skus.len());
        for (si, sku) in skus.iter().enumerate() {
            sku_index.entry(sku.sku_id.clone()).or_insert(si);
        }
        let hash = content_hash(&packs, &skus).into();
        Catalog {
            packs,
            skus,
            pack_index,
            sku_index,
            tool_index,
            hash,
        }
    }

    /// All packs, sorted by id.
    pub fn packs(&self) -> &[Pack] {
        &self.packs
    }

    /// All SKUs, sorted by id.
    pub fn skus(&self) -> &[Sku] {
        &self.skus
    }

    /// The pack with this id.
    pub fn pack(&self, id: &str) -> Option<&Pack> {
        self.pack_index.get(id).map(|&i| &self.packs[i])
    }

    /// The SKU with this id.
    pub fn sku(&self, id: &str) -> Option<&Sku> {
        self.sku_index.get(id).map(|&i| &self.skus[i])
    }

    /// Every role some SKU can grant: the only roles an IAM policy's binding can ever give.
    pub fn grantable_roles(&self) -> std::collections::BTreeSet<crate::ids::Role> {
        self.skus
            .iter()
            .flat_map(|s| s.iam_roles.iter().cloned())
            .collect()
    }

    /// The tool with this name, with its pack and action.
    pub fn tool(&self, name: &str) -> Option<ToolRef<'_>> {
        self.tool_index.get(name).map(|slot| {
            let pack = &self.packs[slot.pack];
            let tool = &pack.tools[slot.tool];
            ToolRef {
                pack,
                tool,
                action: pack.action(&tool.action),
                input: &slot.input,
            }
        })
    }

    /// SHA-256 (hex) of the catalog's canonical JSON: receipts record it so an auditor can
    /// tell which definitions a decision was made under.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// [`Catalog::hash`], shared: every receipt carries it.
    pub fn shared_hash(&self) -> Arc<str> {
        Arc::clone(&self.hash)
    }
}

fn content_hash(packs: &[Pack], skus: &[Sku]) -> String {
    #[derive(serde::Serialize)]
    struct Canonical<'a> {
        packs: &'a [Pack],
        skus: &'a [Sku],
    }
    // serde_json maps are ordered (BTreeMap) in this build, so the encoding is canonical
    // (`receipts::metadata`'s tests pin that order). Definitions hold only string-keyed maps,
    // so encoding cannot fail; if it did, hashing empty bytes would give every such catalog
    // the same hash, so it fails loudly instead.
    #[expect(
        clippy::expect_used,
        reason = "audit-critical: the catalog hash is never the hash of a stand-in"
    )]
    let bytes = serde_json::to_value(Canonical { packs, skus })
        .and_then(|value| serde_json::to_vec(&value))
        .expect("catalog definitions encode as JSON");
    hex::encode(Sha256::digest(&bytes))
}
