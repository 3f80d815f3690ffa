//! Values every store holds faithfully. JSON has no NaN or infinity (serde_json
//! writes them as `null`, which then no longer reads back as a float), and
//! PostgreSQL's `jsonb` and `text` cannot hold the NUL character, while SQLite
//! and Redis can: errand refuses both everywhere, before anything is written.

use std::fmt::{self, Display};

use serde::Serialize;
use serde::ser::{self, Impossible};

use crate::{Error, Result};

/// Serializes `value` for the store, refusing what JSON or a store cannot hold
/// faithfully: a NaN or infinite float (serde_json would write `null`), a NUL
/// character. The error names `field` and where in it the value sits.
pub fn to_stored<T: Serialize + ?Sized>(field: &str, value: &T) -> Result<serde_json::Value> {
    value.serialize(Finite).map_err(|mut e| {
        e.path.reverse();
        Error::invalid(path_of(field, &e.path), e.value, e.reason)
    })?;
    let json = serde_json::to_value(value)
        .map_err(|e| Error::invalid(field, "(not shown)", format!("does not serialize: {e}")))?;
    check_stored(field, &json)?;
    Ok(json)
}

/// Deepest nesting of arrays and objects a stored value may have: every
/// store reads values back with serde_json, which refuses more than 128.
pub const MAX_DEPTH: usize = 100;

/// Checks a JSON value for NUL characters in its strings and keys, and for
/// nesting deeper than [`MAX_DEPTH`].
pub fn check_stored(field: &str, value: &serde_json::Value) -> Result<()> {
    match find_unstorable(value, 0) {
        None => Ok(()),
        Some((mut path, Unstorable::Nul)) => {
            path.reverse();
            Err(Error::invalid(
                path_of(field, &path),
                "(contains U+0000)",
                "must not contain the NUL character (U+0000): PostgreSQL cannot store it",
            ))
        }
        Some((mut path, Unstorable::Deep)) => {
            path.reverse();
            Err(Error::invalid(
                path_of(field, &path),
                format!("(nested more than {MAX_DEPTH} levels)"),
                format!(
                    "must be nested at most {MAX_DEPTH} levels deep: stores read values back with serde_json, which stops at 128"
                ),
            ))
        }
    }
}

/// Checks a plain string (a meta value, a unique key) for NUL characters.
pub fn check_text(field: &str, value: &str) -> Result<()> {
    if value.contains('\0') {
        return Err(Error::invalid(
            field,
            value.replace('\0', "\\0"),
            "must not contain the NUL character (U+0000): PostgreSQL cannot store it",
        ));
    }
    Ok(())
}

/// `text` with every NUL character replaced by U+FFFD, for messages errand
/// writes itself (an attempt's error text).
pub fn without_nul(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\0') {
        text.replace('\0', "\u{FFFD}").into()
    } else {
        text.into()
    }
}

/// What a store cannot hold.
enum Unstorable {
    Nul,
    Deep,
}

/// The path to the first NUL or too deep a nesting under `value`, innermost
/// part first; nothing is allocated unless one is found.
fn find_unstorable(value: &serde_json::Value, depth: usize) -> Option<(Vec<String>, Unstorable)> {
    let nested = |depth: usize| (depth >= MAX_DEPTH).then(|| (Vec::new(), Unstorable::Deep));
    match value {
        serde_json::Value::String(s) => s.contains('\0').then(|| (Vec::new(), Unstorable::Nul)),
        serde_json::Value::Array(items) => nested(depth).or_else(|| {
            items.iter().enumerate().find_map(|(i, item)| {
                let (mut path, why) = find_unstorable(item, depth + 1)?;
                path.push(format!("[{i}]"));
                Some((path, why))
            })
        }),
        serde_json::Value::Object(map) => nested(depth).or_else(|| {
            map.iter().find_map(|(key, item)| {
                let (mut path, why) = if key.contains('\0') {
                    (Vec::new(), Unstorable::Nul)
                } else {
                    find_unstorable(item, depth + 1)?
                };
                path.push(format!(".{}", key.replace('\0', "\\0")));
                Some((path, why))
            })
        }),
        _ => None,
    }
}

fn path_of(field: &str, path: &[String]) -> String {
    let mut out = field.to_owned();
    for part in path {
        out.push_str(part);
    }
    out
}

/// A serializer that only walks the value and stops at the first
/// non-finite float; the path to it is gathered on the way back out, so a
/// value without one costs no allocation.
struct Finite;

#[derive(Debug)]
struct NotFinite {
    /// Innermost part first.
    path: Vec<String>,
    value: String,
    reason: String,
}

impl Display for NotFinite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.value, self.reason)
    }
}

impl std::error::Error for NotFinite {}

impl ser::Error for NotFinite {
    fn custom<T: Display>(msg: T) -> Self {
        NotFinite {
            path: Vec::new(),
            value: "(not shown)".into(),
            reason: format!("does not serialize: {msg}"),
        }
    }
}

impl NotFinite {
    fn within(mut self, part: String) -> Self {
        self.path.push(part);
        self
    }
}

fn float(v: f64) -> Result<(), NotFinite> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(NotFinite {
            path: Vec::new(),
            value: v.to_string(),
            reason:
                "must be a finite number: JSON has no NaN or infinity (it would be stored as null)"
                    .into(),
        })
    }
}

/// A compound being walked: the variant it belongs to and the index of its
/// next element.
struct Compound {
    variant: Option<&'static str>,
    next: usize,
}

impl Compound {
    fn new(variant: Option<&'static str>) -> Self {
        Compound { variant, next: 0 }
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotFinite> {
        let i = self.next;
        self.next += 1;
        value
            .serialize(Finite)
            .map_err(|e| self.inside(e.within(format!("[{i}]"))))
    }

    fn field<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<(), NotFinite> {
        value
            .serialize(Finite)
            .map_err(|e| self.inside(e.within(format!(".{key}"))))
    }

    fn inside(&self, e: NotFinite) -> NotFinite {
        match self.variant {
            Some(variant) => e.within(format!(".{variant}")),
            None => e,
        }
    }
}

macro_rules! fine {
    ($($method:ident($($ty:ty),*);)*) => {
        $(fn $method(self, $(_: $ty),*) -> Result<(), NotFinite> { Ok(()) })*
    };
}

impl ser::Serializer for Finite {
    type Ok = ();
    type Error = NotFinite;
    type SerializeSeq = Compound;
    type SerializeTuple = Compound;
    type SerializeTupleStruct = Compound;
    type SerializeTupleVariant = Compound;
    type SerializeMap = Compound;
    type SerializeStruct = Compound;
    type SerializeStructVariant = Compound;

    fine! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_char(char);
        serialize_str(&str); serialize_bytes(&[u8]); serialize_none(); serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
    }

    fn serialize_f32(self, v: f32) -> Result<(), NotFinite> {
        float(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), NotFinite> {
        float(v)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), NotFinite> {
        value.serialize(self)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), NotFinite> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), NotFinite> {
        value
            .serialize(self)
            .map_err(|e| e.within(format!(".{variant}")))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound, NotFinite> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple(self, _: usize) -> Result<Compound, NotFinite> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Compound, NotFinite> {
        Ok(Compound::new(None))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound, NotFinite> {
        Ok(Compound::new(Some(variant)))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound, NotFinite> {
        Ok(Compound::new(None))
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound, NotFinite> {
        Ok(Compound::new(None))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound, NotFinite> {
        Ok(Compound::new(Some(variant)))
    }
}

/// The compounds whose parts are elements, walked the same way.
macro_rules! walk_elements {
    ($($trait:ident :: $method:ident),*) => {
        $(impl ser::$trait for Compound {
            type Ok = ();
            type Error = NotFinite;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotFinite> {
                self.element(value)
            }
            fn end(self) -> Result<(), NotFinite> {
                Ok(())
            }
        })*
    };
}

walk_elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl ser::SerializeMap for Compound {
    type Ok = ();
    type Error = NotFinite;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NotFinite> {
        // A key is rendered only when its value is refused (serialize_entry).
        let _ = key;
        Ok(())
    }
    fn serialize_entry<K: Serialize + ?Sized, V: Serialize + ?Sized>(
        &mut self,
        key: &K,
        value: &V,
    ) -> Result<(), NotFinite> {
        value.serialize(Finite).map_err(|e| {
            let name = key.serialize(KeyName).unwrap_or_else(|_| "?".into());
            self.inside(e.within(format!(".{name}")))
        })
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NotFinite> {
        value.serialize(Finite).map_err(|e| self.inside(e))
    }
    fn end(self) -> Result<(), NotFinite> {
        Ok(())
    }
}

/// The compounds whose parts are named fields, walked the same way.
macro_rules! walk_fields {
    ($($trait:ident),*) => {
        $(impl ser::$trait for Compound {
            type Ok = ();
            type Error = NotFinite;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), NotFinite> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), NotFinite> {
                Ok(())
            }
        })*
    };
}

walk_fields!(SerializeStruct, SerializeStructVariant);

/// Renders a map key for a path: strings and numbers as they are.
struct KeyName;

macro_rules! key_display {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method(self, v: $ty) -> Result<String, NotFinite> { Ok(v.to_string()) })*
    };
}

impl ser::Serializer for KeyName {
    type Ok = String;
    type Error = NotFinite;
    type SerializeSeq = Impossible<String, NotFinite>;
    type SerializeTuple = Impossible<String, NotFinite>;
    type SerializeTupleStruct = Impossible<String, NotFinite>;
    type SerializeTupleVariant = Impossible<String, NotFinite>;
    type SerializeMap = Impossible<String, NotFinite>;
    type SerializeStruct = Impossible<String, NotFinite>;
    type SerializeStructVariant = Impossible<String, NotFinite>;

    key_display! {
        serialize_bool(bool); serialize_i8(i8); serialize_i16(i16); serialize_i32(i32);
        serialize_i64(i64); serialize_i128(i128); serialize_u8(u8); serialize_u16(u16);
        serialize_u32(u32); serialize_u64(u64); serialize_u128(u128); serialize_char(char);
        serialize_str(&str); serialize_f32(f32); serialize_f64(f64);
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<String, NotFinite> {
        Ok("?".into())
    }
    fn serialize_none(self) -> Result<String, NotFinite> {
        Ok("?".into())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, NotFinite> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, NotFinite> {
        Ok("?".into())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<String, NotFinite> {
        Ok(name.into())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<String, NotFinite> {
        Ok(variant.into())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<String, NotFinite> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<String, NotFinite> {
        Ok(variant.into())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, NotFinite> {
        Err(ser::Error::custom("a key is a sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, NotFinite> {
        Err(ser::Error::custom("a key is a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, NotFinite> {
        Err(ser::Error::custom("a key is a tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NotFinite> {
        Err(ser::Error::custom("a key is a tuple"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, NotFinite> {
        Err(ser::Error::custom("a key is a map"))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, NotFinite> {
        Err(ser::Error::custom("a key is a struct"))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NotFinite> {
        Err(ser::Error::custom("a key is a struct"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Serialize)]
    struct Line {
        sku: String,
        price: f64,
    }

    #[derive(Serialize)]
    struct Order {
        lines: Vec<Line>,
        totals: BTreeMap<String, f32>,
        note: Option<String>,
    }

    fn message(r: Result<serde_json::Value>) -> String {
        r.err().map(|e| e.to_string()).unwrap_or_default()
    }

    #[test]
    fn finite_values_pass_and_serialize_as_serde_json_does() {
        let order = Order {
            lines: vec![Line {
                sku: "a".into(),
                price: 1.5,
            }],
            totals: BTreeMap::from([("eur".into(), 1.5)]),
            note: None,
        };
        let stored = to_stored("input", &order).ok();
        assert_eq!(stored, serde_json::to_value(&order).ok());
    }

    #[test]
    fn non_finite_floats_are_refused_with_their_path() {
        let order = Order {
            lines: vec![
                Line {
                    sku: "a".into(),
                    price: 1.0,
                },
                Line {
                    sku: "b".into(),
                    price: f64::NAN,
                },
            ],
            totals: BTreeMap::new(),
            note: None,
        };
        let m = message(to_stored("input", &order));
        assert!(
            m.contains("input.lines[1].price") && m.contains("NaN"),
            "{m}"
        );
        let order = Order {
            lines: vec![],
            totals: BTreeMap::from([("usd".into(), f32::INFINITY)]),
            note: None,
        };
        let m = message(to_stored("input", &order));
        assert!(m.contains("input.totals.usd") && m.contains("inf"), "{m}");
        assert!(message(to_stored("output", &f64::NEG_INFINITY)).contains("output"));
    }

    #[test]
    fn nul_characters_are_refused_with_their_path() {
        let order = Order {
            lines: vec![],
            totals: BTreeMap::new(),
            note: Some("a\0b".into()),
        };
        let m = message(to_stored("input", &order));
        assert!(m.contains("input.note") && m.contains("NUL"), "{m}");
        let key = serde_json::json!({"ok": [1, {"k\u{0}": 2}]});
        let m = check_stored("input", &key)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(m.contains("input.ok[1].k\\0"), "{m}");
        assert!(check_text("unique_key", "a\0").is_err());
        let mut deep = serde_json::json!(1);
        for _ in 0..MAX_DEPTH {
            deep = serde_json::json!([deep]);
        }
        assert!(
            check_stored("input", &deep).is_ok(),
            "{MAX_DEPTH} levels are fine"
        );
        let deeper = serde_json::json!({ "a": deep });
        let m = check_stored("input", &deeper)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(m.contains("input.a") && m.contains("nested"), "{m}");
        assert_eq!(without_nul("a\0b"), "a\u{FFFD}b");
    }
}
