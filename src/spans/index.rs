//! The span index: every node of one document with its span, and path lookups in it.

use std::cell::RefCell;
use std::collections::HashMap;

use super::{DocPath, LineIndex, Location, Segment, Span, Syntax, toml_index, yaml_index};

/// Where a node of the document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpan {
    /// The key the node is stored under, when it is a mapping value.
    pub key: Option<Span>,
    /// The value itself (a container spans its whole extent).
    pub value: Span,
    /// Whether the value is a mapping or sequence.
    pub container: bool,
}

#[derive(Debug)]
struct Node {
    parent: Option<usize>,
    segment: Option<Segment>,
    span: NodeSpan,
    children: Vec<usize>,
}

/// Every node of one document with its span, for path lookups.
#[derive(Debug)]
pub struct SpanIndex {
    nodes: Vec<Node>,
    lines: LineIndex,
    /// Child lookup tables of nodes with many children, built on first use.
    child_tables: RefCell<HashMap<usize, HashMap<Segment, usize>>>,
}

impl SpanIndex {
    /// Indexes `text`. Parsing is best-effort: on a syntax error the nodes read so far stay
    /// indexed (the error itself is reported by the deserializer, with its own position).
    pub fn build(text: &str, syntax: Syntax) -> Self {
        let mut builder = Builder::new();
        match syntax {
            Syntax::Yaml => yaml_index::index(text, &mut builder),
            Syntax::Toml => toml_index::index(text, &mut builder),
        }
        SpanIndex {
            nodes: builder.nodes,
            lines: LineIndex::new(text),
            child_tables: RefCell::new(HashMap::new()),
        }
    }

    /// The node at exactly this path.
    pub fn find(&self, path: &DocPath) -> Option<NodeSpan> {
        let (i, depth) = self.walk_index(path)?;
        (depth == path.segments().len()).then_some(self.nodes[i].span)
    }

    fn walk_index(&self, path: &DocPath) -> Option<(usize, usize)> {
        let mut current = 0;
        self.nodes.first()?;
        let mut depth = 0;
        for seg in path.segments() {
            match self.child(current, seg) {
                Some(n) => {
                    current = n;
                    depth += 1;
                }
                None => break,
            }
        }
        Some((current, depth))
    }

    /// The child of node `parent` at `seg`. A node with many children (a generated file's
    /// long list or mapping) gets a lookup table on first use, so that locating each of many
    /// values in it stays cheap.
    fn child(&self, parent: usize, seg: &Segment) -> Option<usize> {
        let children = &self.nodes[parent].children;
        if children.len() <= 32 {
            return children
                .iter()
                .copied()
                .find(|&i| self.nodes[i].segment.as_ref() == Some(seg));
        }
        let mut tables = self.child_tables.borrow_mut();
        let table = tables.entry(parent).or_insert_with(|| {
            children
                .iter()
                .rev()
                .filter_map(|&i| Some((self.nodes[i].segment.clone()?, i)))
                .collect()
        });
        table.get(seg).copied()
    }

    /// The path of the innermost indexed value whose key or value covers byte `offset` (the
    /// root when none does): the value a parser's error position falls in. TOML tables
    /// span only their headers, so this looks at every node rather than walking down.
    pub fn path_at(&self, offset: usize) -> DocPath {
        let covers = |span: Span| span.offset <= offset && offset < span.offset + span.len.max(1);
        let best = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| covers(n.span.value) || n.span.key.is_some_and(covers))
            .min_by_key(|(i, n)| (n.span.value.len, std::cmp::Reverse(self.depth(*i))));
        best.map_or_else(DocPath::root, |(i, _)| self.path_of(i))
    }

    /// The path of the first key named `name` at or below `path`, nearest first: where a
    /// parser that names only the enclosing value means.
    pub fn find_key_below(&self, path: &DocPath, name: &str) -> Option<DocPath> {
        let (start, depth) = self.walk_index(path)?;
        if depth < path.segments().len() {
            return None;
        }
        let mut queue = std::collections::VecDeque::from([start]);
        while let Some(i) = queue.pop_front() {
            for &c in &self.nodes[i].children {
                if matches!(&self.nodes[c].segment, Some(Segment::Key(k)) if k == name) {
                    return Some(self.path_of(c));
                }
                queue.push_back(c);
            }
        }
        None
    }

    fn path_of(&self, mut i: usize) -> DocPath {
        let mut segments = Vec::new();
        loop {
            let node = &self.nodes[i];
            segments.extend(node.segment.clone());
            match node.parent {
                Some(parent) => i = parent,
                None => break,
            }
        }
        segments.reverse();
        DocPath::from(segments)
    }

    fn depth(&self, mut i: usize) -> usize {
        let mut depth = 0;
        while let Some(parent) = self.nodes[i].parent {
            depth += 1;
            i = parent;
        }
        depth
    }

    /// Where to point a person at for `path`: the value for a scalar, the key for a
    /// container stored under a key, else the container's first line. A missing path points
    /// at its deepest existing ancestor; an empty document at its start.
    pub fn locate(&self, text: &str, path: &DocPath) -> Location {
        self.locate_with(text, path, false)
    }

    /// Like [`SpanIndex::locate`] but prefers the key when there is one (for "this field
    /// should not be here").
    pub fn locate_key(&self, text: &str, path: &DocPath) -> Location {
        self.locate_with(text, path, true)
    }

    fn locate_with(&self, text: &str, path: &DocPath, prefer_key: bool) -> Location {
        let span = match self.walk_index(path) {
            Some((i, depth)) => {
                let node = self.nodes[i].span;
                // A missing child is best shown at its parent's key, so the person sees
                // where the field would go.
                let use_key = prefer_key || node.container || depth < path.segments().len();
                match node.key {
                    Some(key) if use_key => key,
                    _ if node.container => {
                        // A TOML document spans its leading comments too: start at its
                        // first entry.
                        let first = self.nodes[i]
                            .children
                            .iter()
                            .map(|&c| {
                                let n = self.nodes[c].span;
                                n.key.map_or(n.value.offset, |k| k.offset)
                            })
                            .min();
                        let offset = match first {
                            Some(first) if node.key.is_none() && i == 0 => {
                                first.max(node.value.offset)
                            }
                            _ => node.value.offset,
                        };
                        self.lines.rest_of_line(text, offset)
                    }
                    _ => node.value,
                }
            }
            None => Span { offset: 0, len: 0 },
        };
        self.lines.location(text, span)
    }

    /// Where the first YAML alias (`*name`) is used, if any: the place to point at when
    /// aliases expand beyond the limit and the parser says no more.
    pub fn first_alias(text: &str) -> Option<Span> {
        yaml_index::first_alias(text)
    }

    /// The line index of the text (for callers that hold an offset or a line and column).
    pub fn lines(&self) -> &LineIndex {
        &self.lines
    }
}

/// Accumulates nodes as a parser walks a document, tracking the path of each.
pub(super) struct Builder {
    nodes: Vec<Node>,
}

impl Builder {
    pub(super) fn new() -> Self {
        Builder { nodes: Vec::new() }
    }

    /// Adds a node under `parent` (None for the root) and returns its index.
    pub(super) fn add(
        &mut self,
        parent: Option<usize>,
        segment: Option<Segment>,
        span: NodeSpan,
    ) -> usize {
        let id = self.nodes.len();
        self.nodes.push(Node {
            parent,
            segment,
            span,
            children: Vec::new(),
        });
        if let Some(p) = parent {
            self.nodes[p].children.push(id);
        }
        id
    }

    pub(super) fn set_end(&mut self, id: usize, end: usize) {
        let span = &mut self.nodes[id].span.value;
        span.len = end.saturating_sub(span.offset);
    }
}
