//! Where a value sits in a YAML or TOML document: document paths such as `tools[2].action`
//! mapped to line, column and byte span.
//!
//! serde deserializes without positions, so anything that reports on a value after parsing
//! (catalog validation, scenario steps) names the value by its [`DocPath`] and asks a
//! [`SpanIndex`] where it is. The index is built from the text on demand, only for files that
//! have something to report, so loading a clean catalog never pays for it. It is built
//! iteratively from the parsers' event streams and never expands YAML aliases, so hostile
//! input (deep nesting, alias bombs) costs time and memory linear in the text's size.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;

/// How a document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// YAML (`.yaml` / `.yml`).
    Yaml,
    /// TOML (`.toml`).
    Toml,
}

/// One step of a [`DocPath`]: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A mapping (table) key.
    Key(String),
    /// A sequence (array) index, from 0.
    Index(usize),
}

/// The path of a value inside a document, e.g. `tools[2].action`; the empty path is the
/// document's root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct DocPath(Vec<Segment>);

impl DocPath {
    /// The document's root.
    pub fn root() -> Self {
        DocPath(Vec::new())
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(&self, key: impl Into<String>) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.into()));
        DocPath(segments)
    }

    /// This path extended by an index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        DocPath(segments)
    }

    /// Appends a key in place.
    pub fn push_key(&mut self, key: impl Into<String>) {
        self.0.push(Segment::Key(key.into()));
    }

    /// Appends an index in place.
    pub fn push_index(&mut self, index: usize) {
        self.0.push(Segment::Index(index));
    }

    /// The steps from the root.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last key of the path, if it ends in a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Segment::Key(k)) => Some(k),
            _ => None,
        }
    }

    /// The path without its last step (the root's parent is the root).
    #[must_use]
    pub fn parent(&self) -> Self {
        let mut segments = self.0.clone();
        segments.pop();
        DocPath(segments)
    }
}

impl DocPath {
    /// Parses the display form back, e.g. `tools[2].action` or `a["b c"]`; `None` when the
    /// text is not a path.
    pub fn parse(text: &str) -> Option<Self> {
        let mut path = DocPath::root();
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix('[') {
                let end = after.find(']')?;
                let inner = &after[..end];
                if let Ok(i) = inner.parse::<usize>() {
                    path.push_index(i);
                } else {
                    let key = inner.strip_prefix('"')?.strip_suffix('"')?;
                    path.push_key(key);
                }
                rest = &after[end + 1..];
            } else {
                let body = if path.is_root() {
                    rest
                } else {
                    rest.strip_prefix('.')?
                };
                let end = body.find(['.', '[']).unwrap_or(body.len());
                let key = &body[..end];
                if !is_plain_key(key) {
                    return None;
                }
                path.push_key(key);
                rest = &body[end..];
            }
        }
        Some(path)
    }
}

impl From<Vec<Segment>> for DocPath {
    fn from(segments: Vec<Segment>) -> Self {
        DocPath(segments)
    }
}

impl fmt::Display for DocPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Segment::Index(n) => write!(f, "[{n}]")?,
                Segment::Key(k) if is_plain_key(k) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(k)?;
                }
                Segment::Key(k) => write!(f, "[{k:?}]")?,
            }
        }
        Ok(())
    }
}

fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
}

/// A byte range in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
}

impl Span {
    /// The span of a byte range.
    pub fn from_range(range: Range<usize>) -> Self {
        Span {
            offset: range.start,
            len: range.end.saturating_sub(range.start),
        }
    }
}

/// A position a person can look up: 1-based line and column (in characters) plus the byte
/// span of the value there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Location {
    /// Line, from 1.
    pub line: usize,
    /// Column in characters, from 1.
    pub column: usize,
    /// The bytes the location covers.
    pub span: Span,
}

/// Byte offsets of line starts, to turn offsets into lines and columns and back.
///
/// Lookups cost the same however long a line is (a generated file may be one line of
/// megabytes), so locating many values on one line stays linear overall.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
    chars: CharIndex,
}

impl LineIndex {
    /// Indexes `text`'s lines.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(memchr_newlines(text));
        LineIndex {
            starts,
            chars: CharIndex::new(text),
        }
    }

    /// The location of `span` (clamped to the text).
    pub fn location(&self, text: &str, span: Span) -> Location {
        let offset = floor_char_boundary(text, span.offset.min(text.len()));
        let len = span.len.min(text.len() - offset);
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts[line - 1];
        let column = self.chars.char_at(text, offset) - self.chars.char_at(text, start) + 1;
        Location {
            line,
            column,
            span: Span { offset, len },
        }
    }

    /// The 1-based line holding byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }

    /// The byte offset where 1-based `line` starts (`None` past the last line).
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.starts.get(line.checked_sub(1)?).copied()
    }

    /// The byte offset of a 1-based line and a 0-based character column (clamped to the
    /// line's end).
    pub fn offset(&self, text: &str, line: usize, column0: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return text.len();
        };
        let end = self.line_end(text, line).max(start);
        let first = self.chars.char_at(text, start);
        self.chars.byte_at(text, first + column0).min(end)
    }

    /// The span from `offset` to the end of its line, without trailing blanks or comments'
    /// leading whitespace: what a label under a multi-line value should underline.
    pub fn rest_of_line(&self, text: &str, offset: usize) -> Span {
        let offset = floor_char_boundary(text, offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let end = self.line_end(text, line).max(offset);
        let trimmed = text[offset..end].trim_end();
        Span {
            offset,
            len: trimmed.len(),
        }
    }

    /// The byte offset of the end of a 1-based line, before its newline.
    fn line_end(&self, text: &str, line: usize) -> usize {
        self.starts
            .get(line)
            .map_or(text.len(), |&next| next.saturating_sub(1))
    }
}

/// Character counts at byte offsets and back, in constant time per lookup: identity for
/// ASCII text, else the byte offset of every [`CharIndex::STEP`]th character.
#[derive(Debug, Clone)]
struct CharIndex {
    /// `checkpoints[i]` is the byte offset of character `i * STEP`; empty for ASCII text.
    checkpoints: Vec<usize>,
}

impl CharIndex {
    const STEP: usize = 64;

    fn new(text: &str) -> Self {
        let checkpoints = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(Self::STEP)
                .map(|(i, _)| i)
                .collect()
        };
        CharIndex { checkpoints }
    }

    /// How many characters precede byte `offset` (a char boundary within the text).
    fn char_at(&self, text: &str, offset: usize) -> usize {
        if self.checkpoints.is_empty() {
            return offset;
        }
        let k = self.checkpoints.partition_point(|&b| b <= offset).max(1) - 1;
        let from = self.checkpoints[k];
        k * Self::STEP + text[from..offset].chars().count()
    }

    /// The byte offset of character `index` (the text's length past the end).
    fn byte_at(&self, text: &str, index: usize) -> usize {
        if self.checkpoints.is_empty() {
            return index.min(text.len());
        }
        let Some(&from) = self.checkpoints.get(index / Self::STEP) else {
            return text.len();
        };
        text[from..]
            .char_indices()
            .nth(index % Self::STEP)
            .map_or(text.len(), |(i, _)| from + i)
    }
}

fn memchr_newlines(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(|&(_, b)| b == b'\n')
        .map(|(i, _)| i + 1)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while offset > 0 && !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

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
            Syntax::Yaml => yaml::index(text, &mut builder),
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
        DocPath(segments)
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
        yaml::first_alias(text)
    }

    /// The line index of the text (for callers that hold an offset or a line and column).
    pub fn lines(&self) -> &LineIndex {
        &self.lines
    }
}

/// Accumulates nodes as a parser walks a document, tracking the path of each.
struct Builder {
    nodes: Vec<Node>,
}

impl Builder {
    fn new() -> Self {
        Builder { nodes: Vec::new() }
    }

    /// Adds a node under `parent` (None for the root) and returns its index.
    fn add(&mut self, parent: Option<usize>, segment: Option<Segment>, span: NodeSpan) -> usize {
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

    fn set_end(&mut self, id: usize, end: usize) {
        let span = &mut self.nodes[id].span.value;
        span.len = end.saturating_sub(span.offset);
    }
}

mod yaml {
    //! YAML through saphyr's event parser, whose markers count characters.

    use saphyr_parser::{Event, Parser, ScalarStyle};

    use super::{Builder, LineIndex, NodeSpan, Segment, Span};

    enum Frame {
        Seq {
            id: usize,
            next: usize,
        },
        Map {
            id: usize,
            /// The pending key, once read, with its span.
            key: Option<(String, Span)>,
        },
    }

    pub(super) fn index(text: &str, builder: &mut Builder) {
        let lines = LineIndex::new(text);
        let mut stack: Vec<Frame> = Vec::new();
        let mut root_done = false;
        for item in Parser::new_from_str(text) {
            let Ok((event, span)) = item else { return };
            let Span { offset: start, len } = byte_span(&lines, text, span);
            let end = start + len;
            let (is_start, container) = match &event {
                Event::Scalar(..) | Event::Alias(_) => (true, false),
                Event::SequenceStart(..) | Event::MappingStart(..) => (true, true),
                Event::SequenceEnd | Event::MappingEnd => (false, true),
                Event::DocumentEnd => {
                    // Only the first document is indexed, as only it is deserialized.
                    if root_done {
                        return;
                    }
                    continue;
                }
                _ => continue,
            };
            if !is_start {
                if let Some(Frame::Seq { id, .. } | Frame::Map { id, .. }) = stack.pop() {
                    builder.set_end(id, end);
                }
                if stack.is_empty() {
                    root_done = true;
                }
                continue;
            }
            let value = Span {
                offset: start,
                len: end - start,
            };
            // Decide where this node goes: as a key, a map value, a sequence item, the root.
            let (parent, segment, key_span) = match stack.last_mut() {
                None if root_done => return,
                None => (None, None, None),
                Some(Frame::Seq { id, next }) => {
                    let seg = Segment::Index(*next);
                    *next += 1;
                    (Some(*id), Some(seg), None)
                }
                Some(Frame::Map { id, key }) => match key.take() {
                    None => {
                        // A key. Only scalar keys name fields; complex keys are skipped by
                        // recording a key no path can spell.
                        let name = match &event {
                            Event::Scalar(v, style, ..) => scalar_key(v, *style),
                            _ => "\u{0}complex".to_owned(),
                        };
                        *key = Some((name, value));
                        if container {
                            // A complex key: index it nowhere, but track its nesting.
                            let child = builder.add(None, None, span_node(None, value, true));
                            push(&mut stack, &event, child);
                        }
                        continue;
                    }
                    Some((name, key_span)) => (Some(*id), Some(Segment::Key(name)), Some(key_span)),
                },
            };
            let id = builder.add(parent, segment, span_node(key_span, value, container));
            if container {
                push(&mut stack, &event, id);
            } else if stack.is_empty() {
                root_done = true;
            }
        }
    }

    pub(super) fn first_alias(text: &str) -> Option<Span> {
        let lines = LineIndex::new(text);
        Parser::new_from_str(text)
            .map_while(Result::ok)
            .find(|(event, _)| matches!(event, Event::Alias(_)))
            .map(|(_, span)| byte_span(&lines, text, span))
    }

    /// The bytes a parser span covers (never negative, whatever the parser reports).
    fn byte_span(lines: &LineIndex, text: &str, span: saphyr_parser::Span) -> Span {
        let start = lines.offset(text, span.start.line(), span.start.col());
        let end = lines
            .offset(text, span.end.line(), span.end.col())
            .max(start);
        Span {
            offset: start,
            len: end - start,
        }
    }

    fn push(stack: &mut Vec<Frame>, event: &Event<'_>, id: usize) {
        match event {
            Event::SequenceStart(..) => stack.push(Frame::Seq { id, next: 0 }),
            _ => stack.push(Frame::Map { id, key: None }),
        }
    }

    fn span_node(key: Option<Span>, value: Span, container: bool) -> NodeSpan {
        NodeSpan {
            key,
            value,
            container,
        }
    }

    fn scalar_key(value: &str, _style: ScalarStyle) -> String {
        value.to_owned()
    }
}

mod toml_index {
    //! TOML through the `toml` crate's spanned document tree.

    use toml::de::{DeArray, DeTable, DeValue};

    use super::{Builder, NodeSpan, Segment, Span};

    enum Work<'a, 'i> {
        Table(usize, &'a DeTable<'i>),
        Array(usize, &'a DeArray<'i>),
    }

    pub(super) fn index(text: &str, builder: &mut Builder) {
        let (root, _errors) = DeTable::parse_recoverable(text);
        let root_id = builder.add(
            None,
            None,
            NodeSpan {
                key: None,
                value: Span::from_range(root.span()),
                container: true,
            },
        );
        // An explicit stack: the parser bounds nesting, but nothing here relies on it.
        let mut work = vec![Work::Table(root_id, root.get_ref())];
        while let Some(item) = work.pop() {
            match item {
                Work::Table(parent, table) => {
                    for (key, value) in table.iter() {
                        let seg = Segment::Key(key.get_ref().to_string());
                        let key_span = Span::from_range(key.span());
                        let id = add_value(builder, parent, seg, Some(key_span), value);
                        push_children(&mut work, id, value.get_ref());
                    }
                }
                Work::Array(parent, array) => {
                    for (i, value) in array.iter().enumerate() {
                        let id = add_value(builder, parent, Segment::Index(i), None, value);
                        push_children(&mut work, id, value.get_ref());
                    }
                }
            }
        }
    }

    fn add_value(
        builder: &mut Builder,
        parent: usize,
        seg: Segment,
        key: Option<Span>,
        value: &toml::Spanned<DeValue<'_>>,
    ) -> usize {
        let container = matches!(value.get_ref(), DeValue::Table(_) | DeValue::Array(_));
        builder.add(
            Some(parent),
            Some(seg),
            NodeSpan {
                key,
                value: Span::from_range(value.span()),
                container,
            },
        )
    }

    fn push_children<'a, 'i>(work: &mut Vec<Work<'a, 'i>>, id: usize, value: &'a DeValue<'i>) {
        match value {
            DeValue::Table(t) => work.push(Work::Table(id, t)),
            DeValue::Array(a) => work.push(Work::Array(id, a)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(segments: &[&str]) -> DocPath {
        let mut p = DocPath::root();
        for s in segments {
            match s.parse::<usize>() {
                Ok(i) => p.push_index(i),
                Err(_) => p.push_key(*s),
            }
        }
        p
    }

    fn at(text: &str, syntax: Syntax, segments: &[&str]) -> (usize, usize, String) {
        let index = SpanIndex::build(text, syntax);
        let loc = index.locate(text, &path(segments));
        let snippet = text[loc.span.offset..loc.span.offset + loc.span.len].to_owned();
        (loc.line, loc.column, snippet)
    }

    const YAML: &str = "\
pack_id: demo
tools:
  - name: first
    action: run
  - name: second
    action: héllo
    input_schema: { type: object, properties: { x: { type: string } } }
actions: [ { id: run }, { id: other } ]
";

    #[test]
    fn yaml_paths_find_values() {
        assert_eq!(at(YAML, Syntax::Yaml, &["pack_id"]), (1, 10, "demo".into()));
        assert_eq!(
            at(YAML, Syntax::Yaml, &["tools", "1", "action"]),
            (6, 13, "héllo".into())
        );
        assert_eq!(
            at(
                YAML,
                Syntax::Yaml,
                &["tools", "1", "input_schema", "properties", "x", "type"]
            ),
            (7, 60, "string".into())
        );
        assert_eq!(
            at(YAML, Syntax::Yaml, &["actions", "1", "id"]),
            (8, 31, "other".into())
        );
        // A sequence item that is a mapping points at its first line.
        assert_eq!(
            at(YAML, Syntax::Yaml, &["tools", "0"]),
            (3, 5, "name: first".into())
        );
        // A container under a key points at the key.
        assert_eq!(at(YAML, Syntax::Yaml, &["tools"]), (2, 1, "tools".into()));
        // A missing field points at its parent.
        assert_eq!(
            at(YAML, Syntax::Yaml, &["tools", "0", "handler"]),
            (3, 5, "name: first".into())
        );
    }

    const TOML: &str = "\
pack_id = \"demo\"
version = \"1.0.0\"

[[tools]]
name = \"first\"
action = \"run\"

[[tools]]
name = \"second\"
action = \"other\"
input_schema = { type = \"object\", properties = { x = { type = 1 } } }

[compute_limits]
timeout_ms = 0
";

    #[test]
    fn toml_paths_find_values() {
        assert_eq!(
            at(TOML, Syntax::Toml, &["pack_id"]),
            (1, 11, "\"demo\"".into())
        );
        assert_eq!(
            at(TOML, Syntax::Toml, &["tools", "1", "action"]),
            (10, 10, "\"other\"".into())
        );
        assert_eq!(
            at(
                TOML,
                Syntax::Toml,
                &["tools", "1", "input_schema", "properties", "x", "type"]
            ),
            (11, 63, "1".into())
        );
        assert_eq!(
            at(TOML, Syntax::Toml, &["compute_limits", "timeout_ms"]),
            (14, 14, "0".into())
        );
    }

    #[test]
    fn offsets_map_back_to_paths() {
        let index = SpanIndex::build(TOML, Syntax::Toml);
        let at = |needle: &str| index.path_at(TOML.find(needle).unwrap()).to_string();
        assert_eq!(at("\"demo\""), "pack_id");
        assert_eq!(at("\"other\""), "tools[1].action");
        assert_eq!(at("type = 1"), "tools[1].input_schema.properties.x.type");
        assert_eq!(at("timeout_ms"), "compute_limits.timeout_ms");
        assert_eq!(at("version"), "version");
        let index = SpanIndex::build(YAML, Syntax::Yaml);
        assert_eq!(
            index.path_at(YAML.find("héllo").unwrap()).to_string(),
            "tools[1].action"
        );
    }

    #[test]
    fn wide_mappings_and_lists_are_looked_up_by_table() {
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("k{i}: [{}]\n", "1, ".repeat(i)));
        }
        text.push_str("k7: again\n");
        let index = SpanIndex::build(&text, Syntax::Yaml);
        assert_eq!(at(&text, Syntax::Yaml, &["k99", "98"]).0, 100);
        // The first of two equal keys, as with few keys.
        assert_eq!(index.locate(&text, &path(&["k7"])).line, 8);
        assert_eq!(index.find(&path(&["k100"])), None);
    }

    #[test]
    fn the_first_alias_is_found() {
        let text = "a: &x [1]\nb: [2, *x]\nc: *x\n";
        let span = SpanIndex::first_alias(text).unwrap();
        assert_eq!(&text[span.offset..span.offset + span.len], "*x");
        assert_eq!(span.offset, text.find("*x").unwrap());
        assert_eq!(SpanIndex::first_alias("a: [1]\n"), None);
    }

    #[test]
    fn paths_display_like_code() {
        let p = path(&["tools", "2", "input_schema", "a b"]);
        assert_eq!(p.to_string(), "tools[2].input_schema[\"a b\"]");
        assert_eq!(DocPath::root().to_string(), "");
        for text in ["tools[2].action", "a", "a[0][1].b", "x[\"a b\"].c"] {
            assert_eq!(DocPath::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(DocPath::parse("a b"), None);
        assert_eq!(DocPath::parse("a..b"), None);
    }

    #[test]
    fn hostile_input_is_indexed_without_recursion() {
        let deep = format!("a: {}", "[".repeat(100_000));
        let index = SpanIndex::build(&deep, Syntax::Yaml);
        assert!(index.find(&path(&["a"])).is_some());
        let deep = format!("a = {}", "[".repeat(100_000));
        let index = SpanIndex::build(&deep, Syntax::Toml);
        let _ = index.locate(&deep, &path(&["a", "0"]));
    }

    #[test]
    fn columns_count_characters_on_long_lines() {
        // Many values on one long non-ASCII line: each lookup is cheap and exact.
        let n = 200_000;
        let text = format!("k: [{}]\n", "é, ".repeat(n));
        let index = SpanIndex::build(&text, Syntax::Yaml);
        let last = index.locate(&text, &path(&["k", &(n - 1).to_string()]));
        assert_eq!((last.line, last.column), (1, 5 + 3 * (n - 1)));
        assert_eq!(
            &text[last.span.offset..last.span.offset + last.span.len],
            "é"
        );
        let lines = LineIndex::new("aé\nbé c\n");
        assert_eq!(lines.offset("aé\nbé c\n", 2, 3), 8);
        assert_eq!(lines.offset("aé\nbé c\n", 2, 99), 9);
        assert_eq!(lines.offset("aé\nbé c\n", 9, 0), 10);
        let loc = lines.location("aé\nbé c\n", Span { offset: 8, len: 1 });
        assert_eq!((loc.line, loc.column), (2, 4));
    }

    #[test]
    fn empty_and_broken_documents_locate_at_start() {
        for (text, syntax) in [
            ("", Syntax::Yaml),
            ("", Syntax::Toml),
            ("a: [", Syntax::Yaml),
        ] {
            let index = SpanIndex::build(text, syntax);
            let loc = index.locate(text, &path(&["x"]));
            assert_eq!(loc.line, 1);
        }
    }
}
