//! The bounded reader and the YAML depth guard against hostile text: exact, linear, located.

use std::time::{Duration, Instant};

use super::*;

fn deep(prefix: &str, open: &str) -> String {
    format!("{prefix}{}", open.repeat(MAX_YAML_DEPTH + 1))
}

#[test]
fn depth_is_counted_where_libyaml_counts_it() {
    assert_eq!(yaml_depth_exceeded(&"[".repeat(128)), None);
    assert_eq!(yaml_depth_exceeded(&"[".repeat(129)), Some(128));
    assert_eq!(yaml_depth_exceeded(&"[a, ".repeat(129)), Some(128 * 4));
    assert_eq!(yaml_depth_exceeded(&"{a: ".repeat(129)), Some(128 * 4));
    assert_eq!(yaml_depth_exceeded(&"[&x !t ".repeat(129)), Some(128 * 7));
    // Closed collections do not add up.
    assert_eq!(yaml_depth_exceeded(&"[[]] ".repeat(1000)), None);
}

/// Block collections count as libyaml's indentation stack does: a dash, a `? ` or a key
/// at a deeper column opens one; one closed at a shallower column no longer counts.
#[test]
fn block_nesting_is_counted_too() {
    // `- - - … v`: a sequence per dash, the 129th refused where it starts.
    assert_eq!(
        yaml_depth_exceeded(&format!("{}v\n", "- ".repeat(128))),
        None
    );
    assert_eq!(
        yaml_depth_exceeded(&format!("{}v\n", "- ".repeat(129))),
        Some(128 * 2)
    );
    // Mappings indented one column deeper per level.
    let nested = |levels: usize| {
        (0..levels)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect::<String>()
            + &format!("{}v\n", " ".repeat(levels))
    };
    assert_eq!(yaml_depth_exceeded(&nested(128)), None);
    let text = nested(129);
    let at = yaml_depth_exceeded(&text).unwrap();
    assert!(text[at..].starts_with("k128:"), "{}", &text[at..at + 10]);
    // Deep and then back out, many times over: never more than a few levels open at once.
    assert_eq!(yaml_depth_exceeded(&nested(100).repeat(50)), None);
    assert_eq!(yaml_depth_exceeded(&"- - - a\n".repeat(10_000)), None);
}

#[test]
fn brackets_inside_scalars_and_comments_do_not_count() {
    let many = "[".repeat(500);
    for text in [
        format!("d: a [b {many}\n"),
        format!("d: '{many}'\n"),
        format!("d: \"{many}\" # {many}\n"),
        format!("d: |\n  {many}\n  {many}\ne: 1\n"),
        format!("d: >-\n  x\n\n  {many}\n"),
        format!("- a\n  {many}\n"),
        format!("d: !<tag:x,{many}> 1\n"),
        format!("%TAG !e! tag:{many}\n--- 1\n"),
        format!("d: \"a\\\"{many}\"\n"),
        format!("d: 'it''s {many}'\n"),
    ] {
        assert_eq!(yaml_depth_exceeded(&text), None, "{text:.60}");
    }
}

#[test]
fn no_text_before_the_brackets_hides_them() {
    // Quotes inside plain text do not open a quoted scalar; a block scalar ends where its
    // indentation does, whatever it holds.
    for prefix in [
        "d: a-\"\ne: ",
        "d: a,\"\ne: ",
        "d: a:\"\ne: ",
        "d: x'\ne: ",
        "d: |\n  \"\ne: ",
        "d: |\n  '\ne: ",
        "d: >\n  # \"\ne: ",
        "- |2\n   \"\n- ",
        "d: \"a\\\\\"\ne: ",
        "d: a #\"\ne: ",
        "? |\n  \"\n: ",
        "d: [a\"b, ",
    ] {
        let text = format!("{}\"", deep(prefix, "["));
        assert!(
            yaml_depth_exceeded(&text).is_some(),
            "{prefix:?} hides the nesting"
        );
        assert!(serde_yaml::from_str::<serde::de::IgnoredAny>(&text).is_err());
    }
}

#[test]
fn the_scan_is_linear_on_hostile_text() {
    let cases = [
        "[".repeat(1 << 20),
        "[a, ".repeat(1 << 18),
        "a-\"".repeat(1 << 18),
        "\"\\".repeat(1 << 19),
        format!("d: |\n{}", "  x\n".repeat(1 << 18)),
        format!("{}{}", "[".repeat(128), "a, ".repeat(1 << 18)),
        "- ".repeat(1 << 19),
        " ".repeat(1 << 20),
    ];
    for text in cases {
        let start = Instant::now();
        let _ = yaml_depth_exceeded(&text);
        assert!(
            start.elapsed() < Duration::from_secs(2),
            "{:.20}: {:?}",
            text,
            start.elapsed()
        );
    }
}

#[test]
fn too_deep_yaml_is_a_located_error_before_parsing() {
    let text = format!("a: 1\nb: {}", "[".repeat(100_000));
    let start = Instant::now();
    let e = parse_yaml::<serde_json::Value>(Path::new("x.yaml"), &text).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(e.code, Code::TooDeep);
    let at = e.location.unwrap();
    assert_eq!((at.line, at.column), (2, 4 + MAX_YAML_DEPTH));
    let ok: serde_json::Value = parse_yaml(Path::new("x.yaml"), "a: [1, {b: 2}]").unwrap();
    assert_eq!(ok["a"][1]["b"], 2);
}
