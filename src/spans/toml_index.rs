//! TOML through the `toml` crate's spanned document tree.

use toml::de::{DeArray, DeTable, DeValue};

use super::index::Builder;
use super::{NodeSpan, Segment, Span};

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
