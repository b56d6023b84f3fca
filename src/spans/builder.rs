//! The nodes of a document as its parser walks it, and the builder the YAML and TOML
//! indexers fill; the span index is built from what they leave.

use super::{Segment, Span};

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
pub(super) struct Node {
    pub(super) parent: Option<usize>,
    pub(super) segment: Option<Segment>,
    pub(super) span: NodeSpan,
    pub(super) children: Vec<usize>,
}

/// Accumulates nodes as a parser walks a document, tracking the path of each.
pub(super) struct Builder {
    pub(super) nodes: Vec<Node>,
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
