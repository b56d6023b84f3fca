//! Where a node of a scenario file is: a document path such as `steps[3].expect.state` to its
//! line and column, so a failed expectation or a bad step can point into the file.
//!
//! The YAML parser knows every node's position but serde hides it; this walks the path with
//! a deserializer that stops at the target node by raising an error there, and reads the
//! position the parser attaches to that error. It handles block and flow style (and so JSON)
//! alike, and costs one parse, paid only when there is something to report.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a document path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    /// A mapping key.
    Key(&'a str),
    /// A 0-based sequence index.
    Index(usize),
}

/// 1-based line and column of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Location {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

const FOUND: &str = "\u{1}node found\u{1}";

/// The position of the node at `path` in `text`, if the path exists.
pub fn locate(text: &str, path: &[Seg<'_>]) -> Option<Location> {
    let err = Probe { path }
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .err()?;
    if !err.to_string().contains(FOUND) {
        return None;
    }
    err.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    })
}

/// The node at `path`, or failing that its nearest existing ancestor.
pub fn locate_nearest(text: &str, path: &[Seg<'_>]) -> Option<Location> {
    (0..=path.len())
        .rev()
        .find_map(|n| locate(text, &path[..n]))
}

/// The line of step `index` (0-based) of a scenario.
pub fn step_line(text: &str, index: usize) -> Option<usize> {
    locate(text, &[Seg::Key("steps"), Seg::Index(index)]).map(|l| l.line)
}

/// The 0-based index of the step that starts at or before `line` and nearest to it.
pub fn step_containing(text: &str, line: usize) -> Option<usize> {
    (0..)
        .map_while(|i| step_line(text, i).map(|l| (i, l)))
        .take_while(|&(_, l)| l <= line)
        .last()
        .map(|(i, _)| i)
}

/// Splits a dotted field name such as `tools.includes` into keys.
pub fn keys(dotted: &str) -> impl Iterator<Item = Seg<'_>> {
    dotted.split('.').map(Seg::Key)
}

struct Probe<'p, 'a> {
    path: &'p [Seg<'a>],
}

impl<'de> DeserializeSeed<'de> for Probe<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl Probe<'_, '_> {
    /// At a leaf: found when the path ends here.
    fn leaf<E: de::Error>(&self) -> Result<(), E> {
        if self.path.is_empty() {
            Err(E::custom(FOUND))
        } else {
            Ok(())
        }
    }
}

macro_rules! leaves {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $ty) -> Result<(), E> {
            self.leaf()
        })*
    };
}

impl<'de> Visitor<'de> for Probe<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    leaves!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str);

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.leaf()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        match self.path.split_first() {
            None => Err(de::Error::custom(FOUND)),
            Some((Seg::Index(i), rest)) => {
                for _ in 0..*i {
                    if seq.next_element::<IgnoredAny>()?.is_none() {
                        return Ok(());
                    }
                }
                seq.next_element_seed(Probe { path: rest })?;
                // Not found below: leave the rest unread; the caller only looks for FOUND.
                Ok(())
            }
            Some((Seg::Key(_), _)) => Ok(()),
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let (key, rest) = match self.path.split_first() {
            None => return Err(de::Error::custom(FOUND)),
            Some((Seg::Key(k), rest)) => (*k, rest),
            Some((Seg::Index(_), _)) => return Ok(()),
        };
        // A path ending at a key points at the key: for a nested block the value starts on
        // the next line, but the key's line is the one a reader looks for.
        let seed = KeyProbe {
            want: key,
            stop: rest.is_empty(),
        };
        while let Some(matched) = map.next_key_seed(seed)? {
            if matched {
                return map.next_value_seed(Probe { path: rest });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// Reads a mapping key: `true` when it is the wanted one; raises FOUND at the key when the
/// path stops there.
#[derive(Clone, Copy)]
struct KeyProbe<'a> {
    want: &'a str,
    stop: bool,
}

impl<'de> DeserializeSeed<'de> for KeyProbe<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! other_keys {
    ($($name:ident: $ty:ty),*) => {
        $(fn $name<E: de::Error>(self, _: $ty) -> Result<bool, E> {
            Ok(false)
        })*
    };
}

impl<'de> Visitor<'de> for KeyProbe<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping key")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match (v == self.want, self.stop) {
            (true, true) => Err(E::custom(FOUND)),
            (matched, _) => Ok(matched),
        }
    }

    other_keys!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64);

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }
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
        assert_eq!(step_line(BLOCK, 0), Some(4));
        assert_eq!(step_line(BLOCK, 1), Some(7));
        assert_eq!(step_line(BLOCK, 2), None);
        let at = |p: &[Seg<'_>]| locate(BLOCK, p).map(|l| (l.line, l.column));
        let step1 = [Seg::Key("steps"), Seg::Index(1)];
        assert_eq!(
            at(&[&step1[..], &[Seg::Key("call"), Seg::Key("tool")]].concat()),
            Some((9, 7))
        );
        let field: Vec<Seg<'_>> = step1
            .iter()
            .copied()
            .chain([Seg::Key("expect")])
            .chain(keys("tools.includes"))
            .collect();
        assert_eq!(at(&field), Some((13, 9)));
        let missing: Vec<Seg<'_>> = step1
            .iter()
            .copied()
            .chain([Seg::Key("expect")])
            .chain(keys("result.rows"))
            .collect();
        assert_eq!(at(&missing), None);
        assert_eq!(locate_nearest(BLOCK, &missing).map(|l| l.line), Some(10));
    }

    #[test]
    fn finds_steps_in_json() {
        let json = "{\n  \"name\": \"j\",\n  \"steps\": [\n    {\"advance\": \"1d\"},\n    {\"advance\": \"2d\"}\n  ]\n}\n";
        assert_eq!(step_line(json, 0), Some(4));
        assert_eq!(step_line(json, 1), Some(5));
    }

    #[test]
    fn broken_yaml_locates_nothing() {
        assert_eq!(step_line("steps: [\n", 0), None);
    }
}
