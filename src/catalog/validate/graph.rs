//! Graph algorithms over `requires`: reachability, shortest cycles, strongly connected components.

use std::collections::{HashMap, HashSet, VecDeque};

/// Everything `start` reaches through `requires` (itself included), each mapped to the node
/// it was reached from (`start` maps to itself).
pub(super) fn closure(start: usize, graph: &[Vec<(usize, usize)>]) -> HashMap<usize, usize> {
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
pub(super) fn shortest_cycle(
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
pub(super) fn strongly_connected(adj: &[Vec<usize>]) -> Vec<Vec<usize>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
