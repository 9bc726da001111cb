//! Why a directive is refused as malformed or unsupported: a module of its own, so that the
//! envelope's parser (`directive`) and the control payloads' (`control`) share it without
//! importing each other.

use serde::Deserialize;

use super::{MAX_DIRECTIVE_BYTES, PAYLOAD_VERSION, validate};

/// Why a directive was rejected. Messages never quote values from the directive, which may
/// carry tokens.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("directive of {0} bytes is larger than the {MAX_DIRECTIVE_BYTES} bytes accepted")]
    TooLarge(usize),
    #[error("malformed {part}: {reason}")]
    Malformed { part: &'static str, reason: String },
    #[error("unsupported payloadVersion (expected \"{PAYLOAD_VERSION}\")")]
    PayloadVersion,
    #[error("unsupported directive {namespace}.{name}")]
    Unsupported { namespace: String, name: String },
    #[error("missing endpoint")]
    MissingEndpoint,
    #[error("invalid endpointId: {0}")]
    EndpointId(validate::InvalidEndpoint),
    #[error("invalid bearer token: {0}")]
    Token(&'static str),
    #[error("invalid grant code: {0}")]
    GrantCode(&'static str),
}

/// A part of a directive (`envelope`, `header`, `endpoint`, `payload`) as `T`, or why not.
pub(crate) fn from_part<'a, T: Deserialize<'a>>(
    part: &'static str,
    json: &'a str,
) -> Result<T, ParseError> {
    serde_json::from_str(json).map_err(|e| ParseError::Malformed {
        part,
        reason: redact_quoted(&e.to_string()),
    })
}

/// serde_json quotes offending values in its messages (`invalid type: string "…"`, ``unknown
/// variant `…` ``); such a value may be a token, so it is cut out before the message is logged
/// or answered. Field names (``missing field `token` ``) are the skill's own and are kept.
fn redact_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    // The open quote character, and whether its content is kept.
    let mut open: Option<(char, bool)> = None;
    for c in message.chars() {
        match open {
            None if c == '"' || c == '`' => {
                let keep = c == '`' && out.ends_with("field ");
                out.push(c);
                if !keep {
                    out.push('…');
                }
                open = Some((c, keep));
            }
            Some((q, _)) if c == q => {
                out.push(c);
                open = None;
            }
            None | Some((_, true)) => out.push(c),
            Some((_, false)) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_values_are_cut_out_and_field_names_kept() {
        assert_eq!(
            redact_quoted("unknown variant `tok`, expected `A`"),
            "unknown variant `…`, expected `…`"
        );
        assert_eq!(
            redact_quoted("missing field `token` at line 1"),
            "missing field `token` at line 1"
        );
    }
}
