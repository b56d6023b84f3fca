//! Where a scenario's steps and fields are, located through the span index.

use std::cell::OnceCell;

use crate::spans::{DocPath, Location, SpanIndex, Syntax};

/// A scenario file's text, indexed on the first lookup (only when there is something to
/// report).
pub(crate) struct ScenarioText<'t> {
    text: &'t str,
    index: OnceCell<SpanIndex>,
}

impl<'t> ScenarioText<'t> {
    pub(crate) fn new(text: &'t str) -> Self {
        ScenarioText {
            text,
            index: OnceCell::new(),
        }
    }

    fn index(&self) -> &SpanIndex {
        // JSON is YAML too.
        self.index
            .get_or_init(|| SpanIndex::build(self.text, Syntax::Yaml))
    }

    /// The position of the node at `path` (its key, when it is stored under one), if the
    /// path exists.
    pub(crate) fn locate(&self, path: &DocPath) -> Option<Location> {
        let index = self.index();
        index.find(path)?;
        Some(index.locate_key(self.text, path))
    }

    /// The node at `path`, or failing that its nearest existing ancestor; `None` when the
    /// document holds nothing.
    pub(crate) fn locate_nearest(&self, path: &DocPath) -> Option<Location> {
        let index = self.index();
        index.find(&DocPath::root())?;
        Some(index.locate_key(self.text, path))
    }

    /// The line of step `index` (0-based).
    pub(crate) fn step_line(&self, index: usize) -> Option<usize> {
        self.locate(&step(index)).map(|l| l.line)
    }

    /// The 0-based index of the step that starts at or before `line` and nearest to it.
    pub(crate) fn step_containing(&self, line: usize) -> Option<usize> {
        (0..)
            .map_while(|i| self.step_line(i).map(|l| (i, l)))
            .take_while(|&(_, l)| l <= line)
            .last()
            .map(|(i, _)| i)
    }
}

/// The path of step `index` (0-based): `steps[index]`.
pub(crate) fn step(index: usize) -> DocPath {
    DocPath::root().key("steps").index(index)
}

/// `path` extended by the keys of a dotted field name such as `tools.includes`.
pub(crate) fn keys(path: DocPath, dotted: &str) -> DocPath {
    dotted.split('.').fold(path, |p, key| p.key(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOCK: &str = "\
name: demo
# a comment with steps: [1, 2]
steps:
  - name: buy
    event: { event_type: entitlement.activated }

  - name: call
    call:
      tool: query
    expect:
      state: stable
      tools:
        includes: [query]
";

    #[test]
    fn finds_steps_and_fields_in_block_style() {
        let text = ScenarioText::new(BLOCK);
        assert_eq!(text.step_line(0), Some(4));
        assert_eq!(text.step_line(1), Some(7));
        assert_eq!(text.step_line(2), None);
        let at = |p: &DocPath| text.locate(p).map(|l| (l.line, l.column));
        let step1 = step(1);
        assert_eq!(at(&step1.key("call").key("tool")), Some((9, 7)));
        let field = keys(step1.key("expect"), "tools.includes");
        assert_eq!(at(&field), Some((13, 9)));
        let missing = keys(step1.key("expect"), "result.rows");
        assert_eq!(at(&missing), None);
        assert_eq!(text.locate_nearest(&missing).map(|l| l.line), Some(10));
    }

    #[test]
    fn finds_steps_in_json() {
        let json = "{\n  \"name\": \"j\",\n  \"steps\": [\n    {\"advance\": \"1d\"},\n    {\"advance\": \"2d\"}\n  ]\n}\n";
        let text = ScenarioText::new(json);
        assert_eq!(text.step_line(0), Some(4));
        assert_eq!(text.step_line(1), Some(5));
    }

    #[test]
    fn broken_yaml_locates_nothing() {
        assert_eq!(ScenarioText::new("steps: [\n").step_line(0), None);
    }
}
