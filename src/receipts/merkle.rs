//! The Merkle tree over a tenant's receipts, in the shape of RFC 6962 / RFC 9162 (the trees of
//! Certificate Transparency): its hashes, inclusion and consistency proofs, and their checks.
//!
//! Leaf `i` is `SHA-256(0x00 ‖ h)` where `h` is the 32 bytes of receipt `i`'s hash (which covers
//! every field of the receipt, its `prev_hash` included); an inner node is
//! `SHA-256(0x01 ‖ left ‖ right)`; the tree over `n` leaves splits at the largest power of two
//! below `n`. A checkpoint signs the root, so one receipt and its audit path prove the receipt
//! is in the signed history, and two roots and a consistency path prove one history extends
//! the other — without the ledger.
//!
//! Every node of a complete (power-of-two, aligned) subtree is stored once, appended as the
//! chain grows, in the order the nodes complete: leaf `i`, then the parents it completes. A
//! node of any tree size is then either stored or a combination of O(log n) stored ones, so
//! a proof reads O(log n) nodes however long the chain is ([`NodeSource`]).

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// The root of the tree with no leaves: the hash of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// `hash` in lowercase hex, as every hash in a receipt or checkpoint is written.
pub fn to_hex(hash: &Hash) -> String {
    // Hex digits are ASCII.
    String::from_utf8(hex_digits(hash).to_vec()).unwrap_or_default()
}

/// `hash`'s lowercase hex digits, without a `String` (see [`to_hex`]).
pub fn hex_digits(hash: &Hash) -> [u8; 64] {
    let mut hex = [0u8; 64];
    // 32 bytes always fit 64 hex digits.
    let _ = hex::encode_to_slice(hash, &mut hex);
    hex
}

/// The leaf of a receipt whose hash is `receipt_hash`.
pub fn leaf_hash(receipt_hash: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(receipt_hash);
    h.finalize().into()
}

/// An inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The leaf of a receipt given its hash in hex, `None` when it is not 64 hex digits.
pub fn leaf_of_hex(receipt_hash: &str) -> Option<Hash> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(receipt_hash, &mut bytes).ok()?;
    Some(leaf_hash(&bytes))
}

/// How many nodes are stored for a tree of `n` leaves.
pub fn stored_nodes(n: u64) -> u64 {
    2 * n - u64::from(n.count_ones())
}

/// Where node `index` of `level` (0: leaves) is in the stored order.
pub fn node_position(level: u32, index: u64) -> u64 {
    let last_leaf = ((index + 1) << level) - 1;
    stored_nodes(last_leaf) + u64::from(level)
}

/// The largest power of two strictly below `n` (`n` ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Stored nodes, read by position.
pub trait NodeSource {
    /// The error reading a node.
    type Error;
    /// The node of a complete subtree: `index` at `level` covers leaves
    /// `index·2^level .. (index+1)·2^level`.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// All stored nodes in memory, in stored order (tests, and small trees).
impl NodeSource for [Hash] {
    type Error = MissingNode;
    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingNode> {
        usize::try_from(node_position(level, index))
            .ok()
            .and_then(|i| self.get(i))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

/// A node the source does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no stored Merkle node {index} at level {level}")]
pub struct MissingNode {
    /// Its level.
    pub level: u32,
    /// Its index in the level.
    pub index: u64,
}

/// The root of the subtree over leaves `start .. start + size` of a larger tree, as the
/// RFC 6962 tree that has them defines it: left parts are always complete aligned subtrees.
pub fn subtree_root<S: NodeSource + ?Sized>(
    src: &S,
    start: u64,
    size: u64,
) -> Result<Hash, S::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    if size.is_power_of_two() && start.is_multiple_of(size) {
        return src.node(size.trailing_zeros(), start / size);
    }
    let k = split(size);
    let left = subtree_root(src, start, k)?;
    let right = subtree_root(src, start + k, size - k)?;
    Ok(node_hash(&left, &right))
}

/// The audit path of leaf `index` in the tree of the first `size` leaves (RFC 6962 §2.1.1),
/// nearest the leaf first.
pub fn inclusion_path<S: NodeSource + ?Sized>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut path = Vec::new();
    let (mut start, mut n, mut m) = (0u64, size, index);
    // Walked from the root down, so the siblings come out farthest first.
    while n > 1 {
        let k = split(n);
        if m < k {
            path.push(subtree_root(src, start + k, n - k)?);
            n = k;
        } else {
            path.push(subtree_root(src, start, k)?);
            start += k;
            m -= k;
            n -= k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency path from the tree of the first `old` leaves to that of the first `new`
/// (RFC 6962 §2.1.2); empty when `old` is 0 or equals `new`.
pub fn consistency_path<S: NodeSource + ?Sized>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, S::Error> {
    let mut path = Vec::new();
    if old == 0 || old >= new {
        return Ok(path);
    }
    // SUBPROOF(m, D[start..start+n], b), unrolled from the root down.
    let (mut start, mut n, mut m, mut whole) = (0u64, new, old, true);
    while m != n {
        let k = split(n);
        if m <= k {
            path.push(subtree_root(src, start + k, n - k)?);
            n = k;
        } else {
            path.push(subtree_root(src, start, k)?);
            start += k;
            m -= k;
            n -= k;
            whole = false;
        }
    }
    if !whole {
        path.push(subtree_root(src, start, n)?);
    }
    path.reverse();
    Ok(path)
}

/// Checks an audit path (RFC 9162 §2.1.3.2): is `leaf` leaf `index` of the tree of `size`
/// leaves whose root is `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    root_from_path(index, size, leaf, path) == Some(*root)
}

/// The root an audit path leads to from `leaf` as leaf `index` of a tree of `size` leaves
/// (RFC 9162 §2.1.3.2), `None` when the path's length does not fit that position.
pub fn root_from_path(index: u64, size: u64, leaf: &Hash, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// The root of the tree over `leaves`, each node hashed once (grown as a [`Frontier`]).
pub fn root_of(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::default();
    let mut nodes = Vec::with_capacity(leaves.len() * 64);
    for leaf in leaves {
        frontier.push(*leaf, &mut nodes);
    }
    frontier.root()
}

/// The root of the tree over `leaves` and every leaf's audit path (deepest sibling first),
/// hashing each inner node once: what a round of checkpoints signed together needs.
pub fn root_and_paths(leaves: &[Hash]) -> (Hash, Vec<Vec<Hash>>) {
    fn build(leaves: &[Hash], paths: &mut [Vec<Hash>]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                let (lp, rp) = paths.split_at_mut(k);
                let left = build(&leaves[..k], lp);
                let right = build(&leaves[k..], rp);
                lp.iter_mut().for_each(|p| p.push(right));
                rp.iter_mut().for_each(|p| p.push(left));
                node_hash(&left, &right)
            }
        }
    }
    let depth = (usize::BITS - leaves.len().leading_zeros()) as usize;
    // Each path holds at most `depth` hashes (`vec![v; n]` would clone away the capacity).
    let mut paths: Vec<Vec<Hash>> = (0..leaves.len())
        .map(|_| Vec::with_capacity(depth))
        .collect();
    let root = build(leaves, &mut paths);
    (root, paths)
}

/// Checks a consistency path (RFC 9162 §2.1.4.2): is the tree of `old` leaves with root
/// `old_root` the first `old` leaves of the tree of `new` leaves with root `new_root`?
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    path: &[Hash],
) -> bool {
    if old > new {
        return false;
    }
    if old == new {
        return path.is_empty() && old_root == new_root;
    }
    if old == 0 {
        // Every tree extends the empty one.
        return path.is_empty() && *old_root == empty_root();
    }
    let mut path: Vec<Hash> = path.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

/// Every stored node, in stored order, of the tree over the receipts whose hashes (hex) are
/// `hashes`: what a proof is computed from when no stored tree has the nodes. A hash that is
/// not hex gives a zero leaf, so a proof over it fails against the signed root.
pub fn nodes_of_hashes<'a>(hashes: impl IntoIterator<Item = &'a str>) -> Vec<Hash> {
    let mut frontier = Frontier::default();
    let mut bytes = Vec::new();
    for hash in hashes {
        frontier.push(leaf_of_hex(hash).unwrap_or_default(), &mut bytes);
    }
    bytes
        .chunks_exact(32)
        .filter_map(|c| c.try_into().ok())
        .collect()
}

/// The right edge of a growing tree: the roots of its complete subtrees, largest first. It
/// gives the root of the tree so far and the nodes each new leaf completes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    roots: Vec<Hash>,
}

impl Frontier {
    /// The frontier of a tree of `size` leaves, read from its stored nodes.
    pub fn load<S: NodeSource + ?Sized>(src: &S, size: u64) -> Result<Frontier, S::Error> {
        let mut roots = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1 << level) != 0 {
                roots.push(src.node(level, start >> level)?);
                start += 1 << level;
            }
        }
        Ok(Frontier { size, roots })
    }

    /// How many leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds a leaf and appends to `out` the nodes to store, in stored order: the leaf, then
    /// each parent it completes.
    pub fn push(&mut self, leaf: Hash, out: &mut Vec<u8>) {
        out.extend_from_slice(&leaf);
        let mut node = leaf;
        for _ in 0..self.size.trailing_ones() {
            let Some(left) = self.roots.pop() else { break };
            node = node_hash(&left, &node);
            out.extend_from_slice(&node);
        }
        self.roots.push(node);
        self.size += 1;
    }

    /// The root of the tree so far.
    pub fn root(&self) -> Hash {
        let mut roots = self.roots.iter().rev();
        let Some(last) = roots.next() else {
            return empty_root();
        };
        roots.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// RFC 6962 §2.1 as written: the reference every stored-node answer is checked against.
    mod reference {
        use super::*;

        pub fn root(leaves: &[Hash]) -> Hash {
            match leaves.len() {
                0 => empty_root(),
                1 => leaves[0],
                n => {
                    let k = split(n as u64) as usize;
                    node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
                }
            }
        }

        pub fn path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
            let n = leaves.len();
            if n <= 1 {
                return Vec::new();
            }
            let k = split(n as u64) as usize;
            if m < k {
                let mut p = path(m, &leaves[..k]);
                p.push(root(&leaves[k..]));
                p
            } else {
                let mut p = path(m - k, &leaves[k..]);
                p.push(root(&leaves[..k]));
                p
            }
        }

        fn subproof(m: usize, leaves: &[Hash], whole: bool) -> Vec<Hash> {
            let n = leaves.len();
            if m == n {
                return if whole {
                    Vec::new()
                } else {
                    vec![root(leaves)]
                };
            }
            let k = split(n as u64) as usize;
            if m <= k {
                let mut p = subproof(m, &leaves[..k], whole);
                p.push(root(&leaves[k..]));
                p
            } else {
                let mut p = subproof(m - k, &leaves[k..], false);
                p.push(root(&leaves[..k]));
                p
            }
        }

        pub fn consistency(m: usize, leaves: &[Hash]) -> Vec<Hash> {
            if m == 0 || m >= leaves.len() {
                return Vec::new();
            }
            subproof(m, leaves, true)
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n as u64)
            .map(|i| leaf_hash(&Sha256::digest(i.to_le_bytes()).into()))
            .collect()
    }

    /// The stored nodes and frontier of `leaves`, as a ledger builds them.
    fn grow(leaves: &[Hash]) -> (Vec<Hash>, Frontier) {
        let mut bytes = Vec::new();
        let mut frontier = Frontier::default();
        for leaf in leaves {
            frontier.push(*leaf, &mut bytes);
        }
        let nodes = bytes
            .chunks_exact(32)
            .map(|c| <Hash>::try_from(c).unwrap())
            .collect();
        (nodes, frontier)
    }

    #[test]
    fn the_empty_tree_and_known_sizes() {
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(stored_nodes(0), 0);
        assert_eq!(stored_nodes(3), 4);
        assert_eq!(node_position(1, 0), 2);
        assert_eq!(node_position(0, 2), 3);
        assert_eq!(node_position(2, 0), 6);
        let l = leaves(3);
        assert_eq!(
            grow(&l).1.root(),
            node_hash(&node_hash(&l[0], &l[1]), &l[2])
        );
    }

    #[test]
    fn a_wrong_leaf_index_size_or_path_fails() {
        let l = leaves(11);
        let (nodes, frontier) = grow(&l);
        let root = frontier.root();
        let path = inclusion_path(nodes.as_slice(), 5, 11).unwrap();
        assert!(verify_inclusion(5, 11, &l[5], &path, &root));
        assert!(!verify_inclusion(4, 11, &l[5], &path, &root));
        assert!(!verify_inclusion(5, 17, &l[5], &path, &root));
        assert!(!verify_inclusion(5, 11, &l[4], &path, &root));
        assert!(!verify_inclusion(11, 11, &l[5], &path, &root));
        let mut bad = path.clone();
        bad[1][0] ^= 1;
        assert!(!verify_inclusion(5, 11, &l[5], &bad, &root));
        assert!(!verify_inclusion(5, 11, &l[5], &path[1..], &root));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_leaf_proves_against_the_root(n in 1usize..300) {
            let l = leaves(n);
            let (nodes, frontier) = grow(&l);
            let root = reference::root(&l);
            prop_assert_eq!(frontier.root(), root);
            prop_assert_eq!(nodes.len() as u64, stored_nodes(n as u64));
            prop_assert_eq!(Frontier::load(nodes.as_slice(), n as u64).unwrap(), frontier);
            for m in 0..n {
                let path = inclusion_path(nodes.as_slice(), m as u64, n as u64).unwrap();
                prop_assert_eq!(&path, &reference::path(m, &l));
                prop_assert!(verify_inclusion(m as u64, n as u64, &l[m], &path, &root));
            }
        }

        #[test]
        fn a_round_tree_gives_the_reference_root_and_paths(n in 0usize..200) {
            let l = leaves(n);
            let (root, paths) = root_and_paths(&l);
            prop_assert_eq!(root, reference::root(&l));
            prop_assert_eq!(root_of(&l), root);
            prop_assert_eq!(paths.len(), n);
            for (m, path) in paths.iter().enumerate() {
                prop_assert_eq!(path, &reference::path(m, &l));
                prop_assert_eq!(root_from_path(m as u64, n as u64, &l[m], path), Some(root));
                // The same path from another position, or cut short, leads elsewhere.
                if n > 1 {
                    let other = (m as u64 + 1) % n as u64;
                    prop_assert_ne!(root_from_path(other, n as u64, &l[m], path), Some(root));
                    prop_assert_ne!(
                        root_from_path(m as u64, n as u64, &l[m], &path[..path.len() - 1]),
                        Some(root)
                    );
                }
            }
        }

        #[test]
        fn every_older_tree_is_consistent_with_a_newer_one(n in 1usize..200, cut in 0.0f64..=1.0) {
            let l = leaves(n);
            let (nodes, _) = grow(&l);
            let m = ((n as f64) * cut) as usize;
            let path = consistency_path(nodes.as_slice(), m as u64, n as u64).unwrap();
            prop_assert_eq!(&path, &reference::consistency(m, &l));
            let (old_root, new_root) = (reference::root(&l[..m]), reference::root(&l));
            prop_assert!(verify_consistency(m as u64, n as u64, &old_root, &new_root, &path));
            // Any other old root, or a changed path, fails.
            let mut other = old_root;
            other[3] ^= 0x40;
            prop_assert!(!verify_consistency(m as u64, n as u64, &other, &new_root, &path));
            if let Some(first) = path.first() {
                let mut bad = path.clone();
                bad[0] = node_hash(first, first);
                prop_assert!(!verify_consistency(m as u64, n as u64, &old_root, &new_root, &bad));
            }
            // Every intermediate size of the stored tree has the reference root.
            prop_assert_eq!(subtree_root(nodes.as_slice(), 0, m as u64).unwrap(), old_root);
        }
    }
}
