//! Turning parser messages into ones a scenario author can act on: step numbers instead of
//! zero-based paths, no repeated position, and a "did you mean" for a misspelt name.

use crate::diagnostics::{self, serde_text};
use crate::spans::{DocPath, Segment};

/// ` (did you mean `x`?)` when a candidate is close to `word` (by [`diagnostics::closest`]),
/// else nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    diagnostics::did_you_mean(word, candidates).map_or_else(String::new, |s| format!(" ({s})"))
}

/// Rewrites a deserializer's message: `steps[2].expect: unknown field `stat`, expected one of
/// ... at line 9 column 7` becomes `step 3: expect: unknown field `stat`, expected one of ...
/// (did you mean `state`?)`. The `position` (line, column) is reported separately, so it is
/// dropped here.
pub(crate) fn explain_serde(message: &str, position: Option<(usize, usize)>) -> String {
    let message = match position {
        Some((line, column)) => serde_text::without_position(message, line, column),
        None => message.to_owned(),
    };
    let message = renumber_steps(&message).replace(
        "expected struct Scenario",
        "expected a scenario: a mapping with `name:` and `steps:`",
    );
    let hint = serde_text::unknown_name(&message)
        .map(|u| did_you_mean(u.name, u.expected))
        .unwrap_or_default();
    format!("{message}{hint}")
}

/// `steps[2].expect: ...` → `step 3: expect: ...`; other messages are unchanged.
fn renumber_steps(message: &str) -> String {
    if let Some((path, rest)) = serde_text::split_path(message)
        && let [Segment::Key(steps), Segment::Index(index), below @ ..] = path.segments()
        && steps == "steps"
    {
        let below = DocPath::from(below.to_vec());
        return if below.is_root() {
            format!("step {}: {rest}", index + 1)
        } else {
            format!("step {}: {below}: {rest}", index + 1)
        };
    }
    message.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::closest;

    #[test]
    fn suggests_the_closest_name() {
        let m = "steps[1]: unknown field `sgnal`, expected one of `name`, `signal`, `call` at line 6 column 5";
        assert_eq!(
            explain_serde(m, Some((6, 5))),
            "step 2: unknown field `sgnal`, expected one of `name`, `signal`, `call` (did you mean `signal`?)"
        );
        let m = "steps[0].expect.state: unknown variant `stabel`, expected one of `boot`, `stable`";
        assert_eq!(
            explain_serde(m, None),
            "step 1: expect.state: unknown variant `stabel`, expected one of `boot`, `stable` (did you mean `stable`?)"
        );
    }

    #[test]
    fn leaves_other_messages_alone() {
        assert_eq!(
            explain_serde("missing field `name`", None),
            "missing field `name`"
        );
        assert_eq!(closest("zzz", ["query", "create"]), None);
    }
}
