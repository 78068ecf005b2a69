//! A request line as the control socket reads it: JSON, the protocol version first.

use vipd_api::{Request, PROTOCOL_VERSION};

/// Parses a request line, checking the protocol version first so an old or new client
/// gets a clear answer instead of a field error.
pub fn parse(line: &str) -> Result<Request, String> {
    let v: serde_json::Value =
        serde_json::from_str(line.trim()).map_err(|e| format!("request is not JSON: {e}"))?;
    match v.get("v").and_then(|v| v.as_u64()) {
        Some(n) if n == u64::from(PROTOCOL_VERSION) => {}
        Some(n) => {
            return Err(format!(
                "unsupported protocol version {n}; this vipd speaks {PROTOCOL_VERSION}"
            ))
        }
        None => return Err("request has no protocol version field \"v\"".into()),
    }
    serde_json::from_value(v).map_err(|e| format!("bad request: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_version_first() {
        assert!(parse(r#"{"v":1,"command":"status"}"#).is_ok());
        let e = parse(r#"{"v":9,"command":"status"}"#).expect_err("version 9");
        assert!(e.contains("unsupported protocol version 9"), "{e}");
        assert!(parse("nonsense")
            .expect_err("not json")
            .contains("not JSON"));
        assert!(parse(r#"{"v":1,"command":"explode"}"#)
            .expect_err("unknown command")
            .starts_with("bad request"));
    }
}
