//! The rules about SKUs: ids, prices, the packs each enables, and what the SKUs sell and grant.

use std::collections::{HashMap, HashSet};

use super::{Validator, note_at, note_here, root};
use crate::catalog::Sku;
use crate::catalog::input::Parsed;
use crate::diagnostics::{Code, backticked, closest};
use crate::ids::{PackId, Role};

impl<'a> Validator<'a> {
    pub(super) fn sku_ids(&mut self) {
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

    /// No marketplace identifier (listing or plan id) maps to two SKUs.
    pub(super) fn marketplace_ids(&mut self) {
        for d in crate::catalog::marketplace::duplicates(self.skus) {
            let first_path = self.path(d.first_file).to_path_buf();
            let r = self.report(
                d.file,
                d.at,
                Code::DuplicateMarketplaceId,
                format!(
                    "{} maps to SKU `{}` and to SKU `{}`",
                    d.what, d.first_sku, d.sku
                ),
            );
            r.label = Some("mapped again here".into());
            r.help = Some(
                "a marketplace identifier must name one SKU: change one listing (or plan id), or remove it"
                    .into(),
            );
            r.notes
                .push(note_at("first mapped here", &first_path, d.first_at));
        }
    }

    /// The rules about a SKU on its own; whether it enables any packs.
    pub(super) fn sku_contents(&mut self, s: &Parsed<Sku>) -> bool {
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

    pub(super) fn sku(&mut self, s: &'a Parsed<Sku>) {
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
                        backticked(missing.iter().copied())
                    ),
                );
                d.help = Some(format!(
                    "add {} to `iam_roles` if the plan should allow the action; its tools are listed but always refused",
                    backticked(missing.iter().copied())
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

    pub(super) fn grantable_roles(&mut self) {
        let granted: HashSet<&Role> = self
            .skus
            .iter()
            .flat_map(|s| s.doc.iam_roles.iter())
            .collect();
        let mut needed: Vec<&str> = self
            .packs
            .iter()
            .flat_map(|p| p.doc.actions.iter().flat_map(|a| a.roles.iter()))
            .map(Role::as_str)
            .collect();
        needed.sort_unstable();
        needed.dedup();
        // A role a SKU grants that no action needs, spelt like one no SKU grants, is a typo:
        // report it where it was made, in the SKU, rather than as an ungrantable role.
        let mut misspelt: HashSet<&str> = HashSet::new();
        for s in self.skus {
            for (k, role) in s.doc.iam_roles.iter().enumerate() {
                if needed.binary_search(&role.as_str()).is_ok() {
                    continue;
                }
                let ungranted = needed
                    .iter()
                    .copied()
                    .filter(|n| !granted.iter().any(|g| g.as_str() == *n));
                let Some(near) = closest(role.as_str(), ungranted) else {
                    continue;
                };
                misspelt.insert(near);
                let d = self.report(
                    s.file,
                    root().key("iam_roles").index(k),
                    Code::MisspeltRole,
                    format!(
                        "SKU `{}` grants role `{role}`, which no action needs; did you mean \
                         `{near}`?",
                        s.doc.sku_id
                    ),
                );
                d.label = Some(format!("did you mean `{near}`?"));
                d.help = Some(format!(
                    "an action needs `{near}` and no SKU grants it; correct the spelling"
                ));
            }
        }
        for p in self.packs {
            for (j, action) in p.doc.actions.iter().enumerate() {
                for (k, role) in action.roles.iter().enumerate() {
                    if granted.contains(role) || misspelt.contains(role.as_str()) {
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

    pub(super) fn packs_sold(&mut self) {
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
