//! Turning parser messages into ones a scenario author can act on: step numbers instead of
//! zero-based paths, no repeated position, and a "did you mean" for a misspelt name.

use crate::diagnostics;

/// ` (did you mean `x`?)` when a candidate is close to `word` (by [`diagnostics::closest`]),
/// else nothing.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> String {
    diagnostics::did_you_mean(word, candidates).map_or_else(String::new, |s| format!(" ({s})"))
}

/// Rewrites a serde_yaml message: `steps[2].expect: unknown field `stat`, expected one of ...
/// at line 9 column 7` becomes `step 3: expect: unknown field `stat`, expected one of ...
/// (did you mean `state`?)`. The position is reported separately, so it is dropped here.
pub(crate) fn explain_serde(message: &str) -> String {
    let message = match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    };
    let message = renumber_steps(message).replace(
        "expected struct Scenario",
        "expected a scenario: a mapping with `name:` and `steps:`",
    );
    let hint = unknown_name(&message)
        .map(|(word, candidates)| did_you_mean(word, candidates))
        .unwrap_or_default();
    format!("{message}{hint}")
}

/// `steps[2].expect: ...` → `step 3: expect: ...`; other messages are unchanged.
fn renumber_steps(message: &str) -> String {
    let Some(rest) = message.strip_prefix("steps[") else {
        return message.to_owned();
    };
    let Some((index, rest)) = rest.split_once(']') else {
        return message.to_owned();
    };
    let Ok(index) = index.parse::<usize>() else {
        return message.to_owned();
    };
    let rest = rest.strip_prefix('.').unwrap_or(rest);
    if rest.starts_with(':') {
        format!("step {}{rest}", index + 1)
    } else {
        format!("step {}: {rest}", index + 1)
    }
}

/// For `unknown field `x`, expected one of `a`, `b`` (or `unknown variant`): the unknown
/// word and the expected ones.
fn unknown_name(message: &str) -> Option<(&str, Vec<&str>)> {
    let at = message
        .find("unknown field `")
        .or_else(|| message.find("unknown variant `"))?;
    let after = &message[at..];
    let open = after.find('`')? + 1;
    let close = open + after[open..].find('`')?;
    let word = &after[open..close];
    let expected = &after[close..];
    let expected = &expected[expected.find("expected")?..];
    let candidates = expected.split('`').skip(1).step_by(2).collect();
    Some((word, candidates))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::closest;

    #[test]
    fn suggests_the_closest_name() {
        let m = "steps[1]: unknown field `sgnal`, expected one of `name`, `signal`, `call` at line 6 column 5";
        assert_eq!(
            explain_serde(m),
            "step 2: unknown field `sgnal`, expected one of `name`, `signal`, `call` (did you mean `signal`?)"
        );
        let m = "steps[0].expect.state: unknown variant `stabel`, expected one of `boot`, `stable`";
        assert_eq!(
            explain_serde(m),
            "step 1: expect.state: unknown variant `stabel`, expected one of `boot`, `stable` (did you mean `stable`?)"
        );
    }

    #[test]
    fn leaves_other_messages_alone() {
        assert_eq!(
            explain_serde("missing field `name`"),
            "missing field `name`"
        );
        assert_eq!(closest("zzz", ["query", "create"]), None);
    }
}
