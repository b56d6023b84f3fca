//! A receipt's metadata: a JSON object kept as its canonical text.
//!
//! Receipts are hashed and written as text far more often than they are read field by
//! field, and an engine keeps every receipt it wrote. Holding the canonical text (about a
//! quarter of the memory of a `Value` tree) means sealing and writing copy bytes instead of
//! walking and re-escaping a tree; the few readers (timelines, replay, coverage) parse it on
//! demand.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// The metadata of a receipt: a JSON object (the engine writes nothing else), as canonical
/// text (compact, keys sorted at every level) when the engine wrote it, or exactly as stored
/// when it was read from a ledger.
#[derive(Clone, schemars::JsonSchema)]
#[schemars(with = "serde_json::Map<String, serde_json::Value>")]
pub struct Metadata(Arc<str>);

impl Metadata {
    /// The JSON text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The metadata as a JSON value.
    pub fn to_value(&self) -> Value {
        // The text came from a serializer or a JSON parser, so it parses; `Null` is what a
        // reader would make of an empty field anyway.
        serde_json::from_str(self.as_str()).unwrap_or(Value::Null)
    }

    /// Whether the text is the canonical encoding of its value, as the engine writes it.
    pub fn is_canonical(&self) -> bool {
        let canonical = self.to_value().to_string();
        canonical == self.as_str()
    }

    /// The value of one top-level field.
    pub fn get(&self, key: &str) -> Option<Value> {
        match self.to_value() {
            Value::Object(mut map) => map.remove(key),
            _ => None,
        }
    }

    /// Only for text known to be JSON: from a serializer, a parser or the builder.
    fn from_text(text: &str) -> Self {
        Metadata(Arc::from(text))
    }
}

impl Default for Metadata {
    fn default() -> Self {
        Metadata::from_text("{}")
    }
}

impl From<Value> for Metadata {
    fn from(value: Value) -> Self {
        let mut out = Vec::new();
        write_value(&mut out, &value);
        // `write_value` writes only UTF-8.
        Metadata::from_text(std::str::from_utf8(&out).unwrap_or("{}"))
    }
}

impl From<Map<String, Value>> for Metadata {
    fn from(map: Map<String, Value>) -> Self {
        Metadata::from(Value::Object(map))
    }
}

impl PartialEq for Metadata {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl fmt::Debug for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The canonical encoding copies the text directly (see `receipts::write_unsealed`); this is
// for everything else (API responses, JSON output), where the text is embedded as is.
impl Serialize for Metadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let raw: &RawValue =
            serde_json::from_str(self.as_str()).map_err(serde::ser::Error::custom)?;
        raw.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Metadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Ok(Metadata::from_text(raw.get()))
    }
}

/// Builds canonical metadata field by field, encoding each value once, straight from a
/// borrow: no tree is cloned or built just to be serialized and dropped.
#[derive(Debug, Default, Clone)]
pub struct MetadataBuilder {
    /// Every value's JSON text, back to back.
    text: Vec<u8>,
    /// Each field's key and where its value sits in `text`, in insertion order.
    fields: Vec<Field>,
}

impl MetadataBuilder {
    /// An empty object.
    pub fn new() -> Self {
        // Room for a tool call's fields, arguments and result without regrowing: the buffer
        // lives only until the receipt is sealed, a regrowth copies everything written so far.
        MetadataBuilder {
            text: Vec::with_capacity(2048),
            fields: Vec::with_capacity(16),
        }
    }

    /// Sets `key` to a JSON value. A later value for the same key replaces an earlier one.
    ///
    /// Plain data (strings, numbers, sequences and sorted sets and maps of those) encodes
    /// canonically. JSON values and maps go through [`MetadataBuilder::insert_value`] and
    /// [`MetadataBuilder::insert_map`], which sort keys whatever order the map keeps; a
    /// struct encodes its fields in declaration order, so pass structs through
    /// [`MetadataBuilder::insert_struct`].
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: &(impl Serialize + ?Sized)) {
        let start = self.text.len();
        // Only maps with non-string keys fail, and the engine records none. A receipt that
        // cannot say what happened must not be sealed with a stand-in (`null`) instead.
        #[expect(
            clippy::expect_used,
            reason = "audit-critical: an unencodable field fails the operation, never the record"
        )]
        serde_json::to_writer(&mut self.text, value).expect("receipt metadata encodes as JSON");
        self.push(key.into(), start);
    }

    /// Sets `key` to a struct (or anything whose encoding is not canonical on its own), by
    /// way of a `Value`.
    pub fn insert_struct(&mut self, key: impl Into<Cow<'static, str>>, value: &impl Serialize) {
        #[expect(
            clippy::expect_used,
            reason = "audit-critical: an unencodable field fails the operation, never the record"
        )]
        let value = serde_json::to_value(value).expect("receipt metadata encodes as JSON");
        self.insert_value(key, &value);
    }

    /// Sets `key` to a JSON value, its objects' keys sorted whatever order its maps keep them
    /// in (serde_json's `preserve_order`, which any crate linked with this one may turn on,
    /// keeps insertion order).
    pub fn insert_value(&mut self, key: impl Into<Cow<'static, str>>, value: &Value) {
        let start = self.text.len();
        write_value(&mut self.text, value);
        self.push(key.into(), start);
    }

    /// Sets `key` to a JSON object, as [`MetadataBuilder::insert_value`] does.
    pub fn insert_map(&mut self, key: impl Into<Cow<'static, str>>, map: &Map<String, Value>) {
        let start = self.text.len();
        write_object(&mut self.text, map);
        self.push(key.into(), start);
    }

    /// Sets `key` to an object whose fields `fields` writes, in key order, straight into the
    /// text: for an object recorded on every call, where encoding it through serde costs more
    /// than the object.
    pub fn insert_object(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        fields: impl FnOnce(&mut ObjectWriter<'_>),
    ) {
        let start = self.text.len();
        ObjectWriter::write(&mut self.text, fields);
        self.push(key.into(), start);
    }

    /// Sets `key` to an array of strings.
    pub fn insert_strs<'s>(
        &mut self,
        key: impl Into<Cow<'static, str>>,
        items: impl IntoIterator<Item = &'s str>,
    ) {
        let start = self.text.len();
        write_array(&mut self.text, items, write_str);
        self.push(key.into(), start);
    }

    /// Sets every field of `map`.
    pub fn extend(&mut self, map: Map<String, Value>) {
        for (k, v) in map {
            self.insert_value(k, &v);
        }
    }

    /// Records the field `key` whose value was written to `text` from `start` on.
    fn push(&mut self, key: Cow<'static, str>, start: usize) {
        let mut prefix = [0; 8];
        let len = key.len().min(8);
        prefix[..len].copy_from_slice(&key.as_bytes()[..len]);
        self.fields.push(Field {
            prefix: u64::from_be_bytes(prefix),
            key,
            range: start..self.text.len(),
        });
    }

    /// The canonical object: fields sorted by key, the last value of a repeated key kept.
    pub fn finish(mut self) -> Metadata {
        // Stable, so equal keys keep insertion order and the last one can win.
        self.fields.sort_by(Field::order);
        // Assembled in a buffer the thread keeps, so the one allocation a receipt's metadata
        // costs is the text it keeps.
        FINISHED.with_borrow_mut(|out| {
            out.clear();
            out.push(b'{');
            for (i, Field { key, range, .. }) in self.fields.iter().enumerate() {
                if self.fields.get(i + 1).is_some_and(|next| next.key == *key) {
                    continue;
                }
                if out.len() > 1 {
                    out.push(b',');
                }
                write_str(out, key);
                out.push(b':');
                out.extend_from_slice(&self.text[range.clone()]);
            }
            out.push(b'}');
            // serde_json writes only UTF-8, so the check cannot fail.
            Metadata::from_text(std::str::from_utf8(out).unwrap_or("{}"))
        })
    }
}

/// One field of a [`MetadataBuilder`].
#[derive(Debug, Clone)]
struct Field {
    /// The key's first 8 bytes, big-endian, zero-padded: ordered as the keys are wherever
    /// they differ in those bytes, which settles almost every comparison of the sort in
    /// [`MetadataBuilder::finish`] with one integer comparison.
    prefix: u64,
    key: Cow<'static, str>,
    /// Where the value sits in the builder's text.
    range: Range<usize>,
}

impl Field {
    /// The keys' byte order.
    fn order(a: &Field, b: &Field) -> std::cmp::Ordering {
        a.prefix.cmp(&b.prefix).then_with(|| a.key.cmp(&b.key))
    }
}

thread_local! {
    /// The buffer [`MetadataBuilder::finish`] assembles the object in.
    static FINISHED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Writes one JSON object's fields into metadata text. The text is canonical only when the
/// keys come in ascending order; debug builds (and so the tests) check that they do.
#[derive(Debug)]
pub struct ObjectWriter<'a> {
    out: &'a mut Vec<u8>,
    last: Option<&'static str>,
}

impl<'a> ObjectWriter<'a> {
    fn write(out: &'a mut Vec<u8>, fields: impl FnOnce(&mut ObjectWriter<'_>)) {
        out.push(b'{');
        let mut object = ObjectWriter { out, last: None };
        fields(&mut object);
        object.out.push(b'}');
    }

    /// Writes `key` and its colon; the value follows.
    fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        debug_assert!(
            self.last.is_none_or(|last| last < key),
            "metadata key `{key}` written out of order"
        );
        if self.last.is_some() {
            self.out.push(b',');
        }
        self.last = Some(key);
        write_str(self.out, key);
        self.out.push(b':');
        self.out
    }

    /// A string field.
    pub fn str(&mut self, key: &'static str, value: &str) {
        write_str(self.key(key), value);
    }

    /// A JSON value's field, `null` when there is none; its objects' keys sorted.
    pub fn value(&mut self, key: &'static str, value: Option<&Value>) {
        match value {
            Some(value) => write_value(self.key(key), value),
            None => self.key(key).extend_from_slice(b"null"),
        }
    }

    /// A field of plain data, encoded as [`MetadataBuilder::insert`] encodes it.
    pub fn serialize(&mut self, key: &'static str, value: &(impl Serialize + ?Sized)) {
        #[expect(
            clippy::expect_used,
            reason = "audit-critical: an unencodable field fails the operation, never the record"
        )]
        serde_json::to_writer(&mut *self.key(key), value)
            .expect("receipt metadata encodes as JSON");
    }

    /// An array of strings.
    pub fn strs<'s>(&mut self, key: &'static str, items: impl IntoIterator<Item = &'s str>) {
        write_array(self.key(key), items, write_str);
    }

    /// An object field, its fields written by `fields`.
    pub fn object(&mut self, key: &'static str, fields: impl FnOnce(&mut ObjectWriter<'_>)) {
        ObjectWriter::write(self.key(key), fields);
    }

    /// An array of objects, each item's fields written by `fields`.
    pub fn objects<T>(
        &mut self,
        key: &'static str,
        items: impl IntoIterator<Item = T>,
        fields: impl Fn(&mut ObjectWriter<'_>, T),
    ) {
        write_array(self.key(key), items, |out, item| {
            ObjectWriter::write(out, |object| fields(object, item));
        });
    }
}

/// Appends `value` as canonical JSON: compact, object keys sorted, strings and numbers written
/// exactly as serde_json writes them. Faster than serde_json's serializer on the short
/// strings that make up most of a call's arguments, which need no escaping.
pub(super) fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        // Encoding a number into a Vec cannot fail.
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_str(out, s),
        Value::Array(items) => write_array(out, items, write_value),
        Value::Object(map) => write_object(out, map),
    }
}

/// Appends a JSON array of `items`, each written by `write`.
fn write_array<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut write: impl FnMut(&mut Vec<u8>, T),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// Appends `map` as a canonical JSON object (see [`write_value`]).
fn write_object(out: &mut Vec<u8>, map: &Map<String, Value>) {
    fn entry(out: &mut Vec<u8>, first: bool, key: &str, value: &Value) {
        if !first {
            out.push(b',');
        }
        write_str(out, key);
        out.push(b':');
        write_value(out, value);
    }
    out.push(b'{');
    if map.keys().is_sorted() {
        for (i, (k, v)) in map.iter().enumerate() {
            entry(out, i == 0, k, v);
        }
    } else {
        // Sorted on the stack when small, as a call's arguments and results are: this runs
        // for every map of every call wherever maps keep insertion order.
        static NULL: Value = Value::Null;
        let mut small = [("", &NULL); 16];
        let mut large = Vec::new();
        let entries: &mut [(&str, &Value)] = if map.len() <= small.len() {
            for (slot, (k, v)) in small.iter_mut().zip(map) {
                *slot = (k, v);
            }
            &mut small[..map.len()]
        } else {
            large.extend(map.iter().map(|(k, v)| (k.as_str(), v)));
            &mut large
        };
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        for (i, (k, v)) in entries.iter().enumerate() {
            entry(out, i == 0, k, v);
        }
    }
    out.push(b'}');
}

/// Appends `s` as a JSON string, exactly as serde_json would. Hashes, ids and keys, which make
/// up most of a receipt's strings, need no escaping and are copied without serde_json's
/// byte-by-byte escape loop.
pub(super) fn write_str(out: &mut Vec<u8>, s: &str) {
    if !needs_escape(s.as_bytes()) {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Encoding a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Whether any byte of `bytes` must be escaped in a JSON string. Checked 16 bytes at a time
/// without an early exit inside a block, which compiles to a few vector instructions per
/// block; the last block is the string's last 16 bytes, overlapping the one before, read in
/// place. (Copying the tail into a padded stack buffer made every call wait on the CPU's store
/// forwarding, which a vector load of freshly stored bytes defeats: most of this function's
/// time went there.) Strings shorter than a block, most keys, are read as two overlapping
/// words.
fn needs_escape(bytes: &[u8]) -> bool {
    fn block_escapes(block: &[u8; 16]) -> bool {
        block.iter().fold(false, |acc, &b| {
            acc | (b < 0x20) | (b == b'"') | (b == b'\\')
        })
    }
    if let Some(last) = bytes.last_chunk::<16>() {
        return bytes.as_chunks::<16>().0.iter().any(block_escapes) || block_escapes(last);
    }
    // Read in place with fixed-size loads; the spaces padding a 4-byte read never escape.
    let word = |at: usize| {
        bytes[at..]
            .first_chunk::<8>()
            .map_or(0, |w| u64::from_le_bytes(*w))
    };
    let half = |at: usize| {
        let w = bytes[at..]
            .first_chunk::<4>()
            .map_or(0, |w| u32::from_le_bytes(*w));
        u64::from(w) | 0x2020_2020_0000_0000
    };
    match bytes.len() {
        8.. => word_escapes(word(0)) || word_escapes(word(bytes.len() - 8)),
        4.. => word_escapes(half(0)) || word_escapes(half(bytes.len() - 4)),
        _ => bytes
            .iter()
            .any(|&b| (b < 0x20) | (b == b'"') | (b == b'\\')),
    }
}

/// Whether any of the 8 bytes of `w` is below 0x20, a quote or a backslash: the classic
/// "has a byte less than n" bit trick, which is exact for whether one exists.
fn word_escapes(w: u64) -> bool {
    const ONES: u64 = u64::MAX / 255;
    const HIGH: u64 = ONES * 0x80;
    let below = |x: u64, n: u64| x.wrapping_sub(ONES * n) & !x & HIGH;
    below(w, 0x20)
        | below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1)
        != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Receipts, chain heads and the catalog hash are canonical because serde_json's maps
    /// are sorted by key. A dependency that turned on `serde_json/preserve_order` would
    /// change every hash; this test fails first.
    #[test]
    fn canonical_json_sorts_keys_whatever_order_they_came_in() {
        let v: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"d": 2, "c": [{"f": 1, "e": 2}]}}"#).unwrap();
        assert_eq!(v.to_string(), r#"{"a":{"c":[{"e":2,"f":1}],"d":2},"b":1}"#);
        let mut b = MetadataBuilder::new();
        b.insert("z", &1);
        b.insert_struct("y", &v);
        assert_eq!(
            b.finish().as_str(),
            r#"{"y":{"a":{"c":[{"e":2,"f":1}],"d":2},"b":1},"z":1}"#
        );
    }

    #[test]
    #[should_panic(expected = "receipt metadata encodes as JSON")]
    fn an_unencodable_field_fails_the_operation_rather_than_recording_null() {
        let bad: std::collections::BTreeMap<(u8, u8), u8> = [((1, 2), 3)].into();
        MetadataBuilder::new().insert("bad", &bad);
    }

    #[test]
    fn the_builder_writes_what_a_sorted_value_would() {
        let mut b = MetadataBuilder::new();
        b.insert("tool", "query");
        b.insert(
            "arguments",
            &json!({"z": 1, "a": {"y": [1, "two"], "b": null}}),
        );
        b.insert("elapsed_ms", &12u64);
        b.insert_struct("when", &std::collections::BTreeMap::from([("k", "v")]));
        b.insert_strs("events", ["started", "a \"quoted\" one"]);
        let want = json!({
            "events": ["started", "a \"quoted\" one"],
            "tool": "query",
            "arguments": {"z": 1, "a": {"y": [1, "two"], "b": null}},
            "elapsed_ms": 12,
            "when": {"k": "v"},
        });
        let got = b.finish();
        assert_eq!(got.as_str(), want.to_string());
        assert_eq!(got, Metadata::from(want));
    }

    proptest::proptest! {
        #[test]
        fn strings_are_written_as_serde_json_writes_them(s in "\\PC*|[\\x00-\\x7f]*") {
            let mut out = Vec::new();
            write_str(&mut out, &s);
            proptest::prop_assert_eq!(out, serde_json::to_vec(&s).unwrap());
        }
    }

    /// One byte that needs escaping, at every position of strings around the word and block
    /// sizes, among bytes that do not (ASCII, multi-byte, the highest printable ASCII).
    #[test]
    fn an_escape_anywhere_in_a_string_is_found() {
        for (len, fill) in (0..50).flat_map(|n| [(n, 'a'), (n, '\u{ff}'), (n, '~')]) {
            for at in 0..len {
                for bad in ['"', '\\', '\n', '\u{1f}', '\0'] {
                    let mut s: Vec<char> = std::iter::repeat_n(fill, len).collect();
                    s[at] = bad;
                    let s: String = s.into_iter().collect();
                    let mut out = Vec::new();
                    write_str(&mut out, &s);
                    assert_eq!(out, serde_json::to_vec(&s).unwrap(), "{s:?}");
                }
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn values_are_written_as_serde_json_writes_sorted_maps(
            v in crate::receipts::verify::tests::json_value()
        ) {
            let mut out = Vec::new();
            write_value(&mut out, &v);
            proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), v.to_string());
        }
    }

    proptest::proptest! {
        /// Keys sharing long prefixes, empty, with NUL or non-ASCII bytes, repeated: the
        /// object is the sorted map with each key's last value.
        #[test]
        fn fields_come_out_sorted_with_the_last_value_of_each_key(
            fields in proptest::collection::vec(
                ("(action|action_id|actions_|a\\x00|a|é|)[a-z_]{0,3}", 0u32..9),
                0..24,
            )
        ) {
            let mut b = MetadataBuilder::new();
            let mut want = std::collections::BTreeMap::new();
            for (key, value) in fields {
                b.insert(key.clone(), &value);
                want.insert(key, value);
            }
            let got = b.finish();
            proptest::prop_assert_eq!(got.as_str(), serde_json::to_string(&want).unwrap());
        }
    }

    #[test]
    fn keys_are_sorted_whatever_order_a_map_keeps() {
        let mut m = Map::new();
        for k in ["b", "a", "c"] {
            m.insert(k.to_owned(), json!({"z": 1, "y": [2]}));
        }
        let mut out = Vec::new();
        write_object(&mut out, &m);
        let want = r#"{"a":{"y":[2],"z":1},"b":{"y":[2],"z":1},"c":{"y":[2],"z":1}}"#;
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }

    #[test]
    fn a_repeated_key_keeps_its_last_value() {
        let mut b = MetadataBuilder::new();
        b.insert("message", "first");
        b.insert("gate", "iam");
        b.insert("message", "second");
        assert_eq!(b.finish().as_str(), r#"{"gate":"iam","message":"second"}"#);
    }

    #[test]
    fn an_object_is_written_as_its_sorted_value() {
        let mut b = MetadataBuilder::new();
        let v = json!({"y": [1, "t\"wo"], "x": null});
        b.insert_object("o", |o| {
            o.str("a", "é\n");
            o.objects("b", [1, 2], |item, n| item.serialize("n", &n));
            o.object("c", |c| c.strs("d", ["e", "f"]));
            o.value("g", Some(&v));
            o.value("h", None);
        });
        let want = json!({"o": {
            "a": "é\n", "b": [{"n": 1}, {"n": 2}], "c": {"d": ["e", "f"]}, "g": v, "h": null,
        }});
        assert_eq!(b.finish().as_str(), want.to_string());
    }

    #[test]
    #[should_panic(expected = "written out of order")]
    fn an_object_written_out_of_key_order_is_caught() {
        MetadataBuilder::new().insert_object("o", |o| {
            o.str("b", "1");
            o.str("a", "2");
        });
    }

    #[test]
    fn keys_needing_escapes_are_escaped() {
        let mut b = MetadataBuilder::new();
        b.insert(String::from("a\"b"), &1);
        let m = b.finish();
        assert_eq!(m.get("a\"b"), Some(json!(1)));
    }

    #[test]
    fn metadata_round_trips_through_json_unchanged() {
        let m = Metadata::from(json!({"b": 1.5, "a": "x"}));
        let text = serde_json::to_string(&m).unwrap();
        assert_eq!(text, r#"{"a":"x","b":1.5}"#);
        let back: Metadata = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        let via_value: Metadata = serde_json::from_value(json!({"a": "x", "b": 1.5})).unwrap();
        assert_eq!(via_value, m);
    }
}
