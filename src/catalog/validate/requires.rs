//! The rules about how packs require each other: cycles, and requirements that are incompatible.

use std::collections::{HashMap, HashSet};

use super::graph::{closure, shortest_cycle, strongly_connected};
use super::{Validator, note_at, root};
use crate::diagnostics::Code;
use crate::spans::DocPath;

impl Validator<'_> {
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

    pub(super) fn requires_cycles(&mut self) {
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

    pub(super) fn incompatible_requirements(&mut self) {
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
