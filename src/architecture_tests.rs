//! Rules of the house that can be read off the source tree, checked on every `cargo test`.
//!
//! The layer table is the one in `ARCHITECTURE.md`: a module may use its own layer and the
//! ones below it, and no two modules may use each other, directly or around a circle. Every
//! file starts with a `//!` line saying what it owns, no file outgrows one concept
//! ([`MAX_FILE_LINES`]), and no unfinished-work macro is left in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. Modules not (yet) in the tree are ignored.
const LAYERS: &[&[&str]] = &[
    &["vocab", "ids", "clock", "sync"],
    &["spans", "diagnostics", "intake"],
    &["catalog"],
    &["entitlement", "iam"],
    &["registry", "marketplace"],
    &["exec", "receipts"],
    &["governor"],
    &["engine", "explain"],
    &["workspace"],
    &["scenario"],
    &["server"],
    &["cli"],
];

/// Files that belong to no layer: the crate root, the binary and this checker.
const OUTSIDE: &[&str] = &["lib", "main", "architecture_tests"];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// A `crate::<module>` reference found in code.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reference {
    line: usize,
    target: String,
    text: String,
}

struct SourceFile {
    /// Relative to the crate root, with `/` separators.
    path: String,
    /// The module path the file defines: `src/a/b.rs` and `src/a/b/mod.rs` are `[a, b]`.
    module: Vec<String>,
    text: String,
}

fn source_files() -> Vec<SourceFile> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    collect_rs(&root.join("src"), &mut paths);
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root).unwrap_or(&p);
            let path = rel.to_string_lossy().replace('\\', "/");
            let mut module: Vec<String> = path
                .trim_start_matches("src/")
                .trim_end_matches(".rs")
                .split('/')
                .map(str::to_owned)
                .collect();
            if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            let text = fs::read_to_string(&p).unwrap_or_else(|e| panic!("{path}: {e}"));
            SourceFile { path, module, text }
        })
        .collect()
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The text with comments, string literals and character literals blanked out (newlines
/// kept), so that only code is searched and line numbers still match.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let blank = |out: &mut String, c: char| out.push(if c == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
        } else if c == 'r'
            && matches!(next, Some('"' | '#'))
            && !chars[..i]
                .last()
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // A raw string: r"..." or r#"..."#, closed by a quote and as many hashes.
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            let hashes = j - i - 1;
            let mut end = j + 1;
            while end < chars.len() {
                if chars[end] == '"' && (1..=hashes).all(|k| chars.get(end + k) == Some(&'#')) {
                    end += hashes + 1;
                    break;
                }
                end += 1;
            }
            for &ch in &chars[i..end.min(chars.len())] {
                blank(&mut out, ch);
            }
            i = end;
        } else if c == '"' {
            blank(&mut out, c);
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    blank(&mut out, chars[i]);
                    i += 1;
                }
            }
            if i < chars.len() {
                blank(&mut out, chars[i]);
                i += 1;
            }
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a): only the first is
            // blanked.
            let close = if next == Some('\\') {
                (i + 2..chars.len()).find(|&j| chars[j] == '\'')
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(end) => {
                    for &ch in &chars[i..=end] {
                        blank(&mut out, ch);
                    }
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier starting at `i` (after whitespace), and the index after it.
fn ident_at(chars: &[char], mut i: usize) -> Option<(String, usize)> {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    let start = i;
    while chars.get(i).is_some_and(|&c| is_ident(c)) {
        i += 1;
    }
    (i > start).then(|| (chars[start..i].iter().collect(), i))
}

/// `::` at `i` (after whitespace): the index after it.
fn path_sep_at(chars: &[char], mut i: usize) -> Option<usize> {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    (chars.get(i) == Some(&':') && chars.get(i + 1) == Some(&':')).then_some(i + 2)
}

/// The first segment of each item of the group whose `{` is at `i`: `{a, b::c, d::{e}}`
/// gives `a`, `b`, `d`.
fn group_heads(chars: &[char], i: usize) -> Vec<String> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut expect_head = true;
    let mut j = i;
    while j < chars.len() {
        match chars[j] {
            '{' => {
                depth += 1;
                if depth == 1 {
                    expect_head = true;
                }
            }
            '}' => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            ',' if depth == 1 => expect_head = true,
            c if depth == 1 && expect_head && is_ident(c) => {
                if let Some((name, end)) = ident_at(chars, j) {
                    heads.push(name);
                    j = end;
                    expect_head = false;
                    continue;
                }
            }
            _ => {}
        }
        j += 1;
    }
    heads
}

/// Every reference from `file` to a top-level module of the crate: `crate::m`, the items of
/// `crate::{m, n}`, and `super::` chains that climb out to the crate root.
fn references(file: &SourceFile) -> Vec<Reference> {
    let code = code_only(&file.text);
    let chars: Vec<char> = code.chars().collect();
    let lines: Vec<&str> = file.text.lines().collect();
    let line_of = |i: usize| chars[..i].iter().filter(|&&c| c == '\n').count() + 1;
    let mut refs = Vec::new();
    // Inline modules (`mod tests { .. }`) deepen the module path for `super`.
    let mut inline: Vec<usize> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '{' {
            depth += 1;
            if pending_mod {
                inline.push(depth);
                pending_mod = false;
            }
            i += 1;
            continue;
        }
        if c == '}' {
            if inline.last() == Some(&depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
            i += 1;
            continue;
        }
        if c == ';' {
            pending_mod = false;
        }
        let starts_word = i == 0 || !is_ident(chars[i - 1]);
        let Some((word, after)) = starts_word.then(|| ident_at(&chars, i)).flatten() else {
            i += 1;
            continue;
        };
        if word == "mod" {
            pending_mod = true;
            i = after;
            continue;
        }
        // How many module levels the path climbs before naming a top-level module.
        let mut at = after;
        let at_root = match word.as_str() {
            "crate" => path_sep_at(&chars, at).map(|sep| at = sep).is_some(),
            "super" => {
                let mut climbs = 1;
                let mut ok = true;
                loop {
                    let Some(sep) = path_sep_at(&chars, at) else {
                        ok = false;
                        break;
                    };
                    match ident_at(&chars, sep) {
                        Some((w, end)) if w == "super" => {
                            climbs += 1;
                            at = end;
                        }
                        _ => {
                            at = sep;
                            break;
                        }
                    }
                }
                ok && climbs >= file.module.len() + inline.len()
            }
            _ => false,
        };
        if !at_root {
            i = after;
            continue;
        }
        let mut targets = Vec::new();
        let mut k = at;
        while chars.get(k).is_some_and(|c| c.is_whitespace()) {
            k += 1;
        }
        if chars.get(k) == Some(&'{') {
            targets.extend(group_heads(&chars, k));
        } else if let Some((name, _)) = ident_at(&chars, k) {
            targets.push(name);
        }
        let line = line_of(i);
        for target in targets.into_iter().filter(|t| t != "self") {
            refs.push(Reference {
                line,
                target,
                text: lines.get(line - 1).map_or("", |l| l.trim()).to_owned(),
            });
        }
        i = after;
    }
    refs
}

#[test]
fn modules_only_use_their_own_layer_or_lower_ones() {
    let mut problems = String::new();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in source_files() {
        let from = file.module[0].as_str();
        if OUTSIDE.contains(&from) {
            continue;
        }
        let Some(from_layer) = layer(from) else {
            let _ = writeln!(
                problems,
                "{}: module `{from}` is in no layer; add it to the table in ARCHITECTURE.md \
                 and in src/architecture_tests.rs",
                file.path
            );
            continue;
        };
        for r in references(&file) {
            if r.target == from {
                continue;
            }
            edges
                .entry(from.to_owned())
                .or_default()
                .insert(r.target.clone());
            match layer(&r.target) {
                Some(to_layer) if to_layer > from_layer => {
                    let _ = writeln!(
                        problems,
                        "{}:{}: `{from}` (layer {from_layer}) uses `{}` (layer {to_layer}): {}",
                        file.path, r.line, r.target, r.text
                    );
                }
                _ => {}
            }
        }
    }
    for circle in circles(&edges) {
        let _ = writeln!(problems, "modules use each other: {}", circle.join(" → "));
    }
    assert!(problems.is_empty(), "layer rule broken:\n{problems}");
}

/// A circle through the first of `members`, a set of modules that all reach each other:
/// the shortest path from it back to itself.
fn closed_path(
    edges: &BTreeMap<String, BTreeSet<String>>,
    members: &BTreeSet<&str>,
) -> Vec<String> {
    let start = members.first().copied().unwrap_or_default();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !members.contains(w) || came_from.contains_key(w) {
                continue;
            }
            came_from.insert(w, v);
            if w == start {
                queue.clear();
                break;
            }
            queue.push_back(w);
        }
    }
    let mut path = vec![start.to_owned()];
    let mut at = came_from.get(start).copied();
    while let Some(v) = at.filter(|&v| v != start) {
        path.push(v.to_owned());
        at = came_from.get(v).copied();
    }
    path.push(start.to_owned());
    path.reverse();
    path
}

/// Every set of modules that reach each other (Tarjan's strongly connected components), each
/// shown as one circle through it.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in self.edges.get(v).into_iter().flatten() {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let at = self.stack.iter().rposition(|&x| x == v).unwrap_or(0);
                let members: BTreeSet<&str> = self.stack.drain(at..).collect();
                if members.len() > 1 {
                    self.found.push(closed_path(self.edges, &members));
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn every_file_starts_with_a_module_doc() {
    let undocumented: Vec<String> = source_files()
        .into_iter()
        .filter(|f| !f.text.starts_with("//!"))
        .map(|f| f.path)
        .collect();
    assert!(
        undocumented.is_empty(),
        "files without a leading `//!` line saying what they own: {undocumented:?}"
    );
}

#[test]
fn no_unfinished_work_or_debug_macros() {
    let mut found = Vec::new();
    for file in source_files() {
        for (n, line) in code_only(&file.text).lines().enumerate() {
            for mac in ["todo!", "unimplemented!", "dbg!"] {
                let hit = line
                    .match_indices(mac)
                    .any(|(at, _)| !line[..at].chars().next_back().is_some_and(is_ident));
                if hit {
                    found.push(format!("{}:{}: {}", file.path, n + 1, line.trim()));
                }
            }
        }
    }
    assert!(found.is_empty(), "left in the code:\n{}", found.join("\n"));
}

/// A file longer than this owns more than one thing; split it by concept (a `tests.rs`
/// beside `mod.rs` for long unit tests).
const MAX_FILE_LINES: usize = 800;

#[test]
fn no_file_outgrows_one_concept() {
    let long: Vec<String> = source_files()
        .iter()
        .map(|f| (f.path.as_str(), f.text.lines().count()))
        .filter(|&(_, n)| n > MAX_FILE_LINES)
        .map(|(path, n)| format!("{path}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "longer than {MAX_FILE_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_reader_finds_every_form_of_reference() {
    let file = SourceFile {
        path: "src/receipts/x.rs".into(),
        module: vec!["receipts".into(), "x".into()],
        text: [
            "//! doc naming crate::cli",
            "use crate::ids::TenantId;",
            "use crate::{clock::Timestamp, governor::{Gate, Decision}, self};",
            "let s = \"crate::server\"; let c = 'x'; fn f<'a>(x: &'a str) {}",
            "use super::super::workspace::Workspace;",
            "use super::Receipt;",
            "mod tests { use super::super::line; use super::super::super::engine::E; }",
            "/* crate::scenario */ let r = r#\"crate::cli\"#; x.crate_y::z;",
        ]
        .join("\n"),
    };
    let found: Vec<(usize, String)> = references(&file)
        .into_iter()
        .map(|r| (r.line, r.target))
        .collect();
    let want = [
        (2, "ids"),
        (3, "clock"),
        (3, "governor"),
        (5, "workspace"),
        (7, "engine"),
    ];
    assert_eq!(
        found,
        want.map(|(l, t)| (l, t.to_owned())).to_vec(),
        "references found"
    );
    let edges = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(circles(&edges), vec![vec!["a", "b", "c", "a"]]);
}
