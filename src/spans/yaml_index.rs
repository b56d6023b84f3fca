//! YAML through saphyr's event parser, whose markers count characters.

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::index::Builder;
use super::{LineIndex, NodeSpan, Segment, Span};

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
