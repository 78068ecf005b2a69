//! Every field the configuration file accepts, by path (`instances[].garp.count`), read
//! from the parser's own types: the book's configuration reference
//! (docs/src/reference/configuration.md) and vipd.yaml(5) are checked against it
//! (tests/reference_pages.rs), so a field cannot be added without being documented, nor
//! documented without existing.

use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde::forward_to_deserialize_any;

use super::check_raw::{RawCheck, RawProcess};
use super::raw::{
    RawAuth, RawConfig, RawGarp, RawGroup, RawInstance, RawMetrics, RawNotify, RawPeer,
};

/// The field paths the parser accepts, each mapping's fields after its prefix.
pub fn field_paths() -> Vec<String> {
    let mut out = Vec::new();
    let mappings: [(&str, &[&str]); 13] = [
        ("", fields_of::<RawConfig>()),
        ("metrics.", fields_of::<RawMetrics>()),
        ("checks.NAME.", fields_of::<RawCheck>()),
        ("checks.NAME.process.", fields_of::<RawProcess>()),
        ("instances[].", fields_of::<RawInstance>()),
        ("instances[].garp.", fields_of::<RawGarp>()),
        ("instances[].auth.", fields_of::<RawAuth>()),
        ("instances[].notify.", fields_of::<RawNotify>()),
        ("groups[].", fields_of::<RawGroup>()),
        ("groups[].notify.", fields_of::<RawNotify>()),
        ("cluster_peers[].", fields_of::<RawPeer>()),
        ("announce[].", fields_of::<super::announce::RawAnnounce>()),
        (
            "announce[].notify.",
            fields_of::<super::announce::RawAnnounceNotify>(),
        ),
    ];
    for (prefix, fields) in mappings {
        out.extend(fields.iter().map(|f| format!("{prefix}{f}")));
    }
    out
}

/// The field names serde's derive gives `T` (it hands them to `deserialize_struct`).
fn fields_of<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut seen = None;
    // Always an error: the recorder only looks.
    let _ = T::deserialize(Recorder(&mut seen));
    seen.unwrap_or(&[])
}

struct Recorder<'a>(&'a mut Option<&'static [&'static str]>);

impl<'de> Deserializer<'de> for Recorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only structs are looked at"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = Some(fields);
        Err(de::Error::custom("recorded"))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_nested_fields() {
        let f = field_paths();
        for expected in [
            "control_socket",
            "instances[].vrid",
            "instances[].garp.refresh",
        ] {
            assert!(
                f.iter().any(|x| x == expected),
                "{expected} missing from {f:?}"
            );
        }
    }
}
