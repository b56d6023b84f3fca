//! Document paths such as `tools[2].action`: how they are built, shown and read back.

use std::fmt;

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

    /// This path followed by the steps of `rest`.
    #[must_use]
    pub fn join(&self, rest: &DocPath) -> Self {
        let mut segments = self.0.clone();
        segments.extend(rest.0.iter().cloned());
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
