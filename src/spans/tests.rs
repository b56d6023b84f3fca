//! Tests of the span index: paths, positions, and hostile input.

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
