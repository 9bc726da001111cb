//! Directives: the JSON that Alexa sends to the skill, parsed into typed values.
//!
//! Parsing happens in two steps so that a bad directive can still be answered well: the
//! envelope is split into raw `header`, `endpoint` and `payload` first; once the header is
//! known, every later failure is answered with the directive's correlation token echoed.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

pub use super::MAX_DIRECTIVE_BYTES;
use super::control::Command;
use super::interface::Interface;
pub use super::parse_error::ParseError;
use super::parse_error::from_part;
use super::{BearerToken, PAYLOAD_VERSION, Scope, Secret, validate};
use crate::ids::EndpointId;

/// Account-linking tokens longer than this are rejected before they are hashed or looked up.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The directive header.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub namespace: String,
    pub name: String,
    pub payload_version: String,
    pub message_id: String,
    #[serde(default)]
    pub correlation_token: Option<String>,
    /// The generic controller instance a directive is for.
    #[serde(default)]
    pub instance: Option<String>,
}

/// The endpoint a control or state directive is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectiveEndpoint {
    pub endpoint_id: EndpointId,
    #[serde(default)]
    pub scope: Option<Scope>,
    #[serde(default)]
    pub cookie: BTreeMap<String, String>,
}

/// The directives the skill handles, one variant each, with their payloads typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `Alexa.Discovery` / `Discover`: list every endpoint of the customer.
    Discover { scope: Scope },
    /// `Alexa.Authorization` / `AcceptGrant`: the customer enabled the skill; exchange the
    /// grant code for Login with Amazon tokens so the skill can send events for them.
    AcceptGrant { code: Secret, grantee: Scope },
    /// `Alexa` / `ReportState`: every reportable property of one endpoint.
    ReportState {
        endpoint_id: EndpointId,
        token: BearerToken,
    },
    /// A control directive (`Alexa.PowerController` / `TurnOn`, …) for one endpoint.
    Control {
        endpoint_id: EndpointId,
        token: BearerToken,
        command: Command,
    },
}

/// A directive that parsed: its header, its endpoint (if it names one) and the typed request.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    pub header: Header,
    pub endpoint: Option<DirectiveEndpoint>,
    pub request: Request,
}

/// What an answer must echo from the directive it answers, as far as the directive could be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplyTo {
    pub correlation_token: Option<String>,
    /// Only set when the directive's endpoint id is itself valid, so that echoing it cannot
    /// make the answer invalid.
    pub endpoint_id: Option<EndpointId>,
    /// `Alexa.Authorization` directives are answered with that namespace's own ErrorResponse.
    pub authorization: bool,
}

impl ReplyTo {
    /// What the answer to a directive that parsed echoes.
    pub fn of(directive: &Directive) -> Self {
        Self::from_parts(&directive.header, directive.endpoint.as_ref())
    }

    fn from_parts(header: &Header, endpoint: Option<&DirectiveEndpoint>) -> Self {
        Self {
            correlation_token: header.correlation_token.clone().filter(|t| !t.is_empty()),
            endpoint_id: endpoint
                .map(|e| e.endpoint_id.clone())
                .filter(|id| validate::endpoint_id(id).is_ok()),
            authorization: header.namespace == Interface::Authorization.namespace(),
        }
    }
}

/// A directive that could not be parsed, with what its answer can still echo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub reply_to: ReplyTo,
    pub error: ParseError,
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(borrow)]
    directive: RawDirective<'a>,
}

#[derive(Deserialize)]
struct RawDirective<'a> {
    #[serde(borrow)]
    header: &'a RawValue,
    #[serde(borrow, default)]
    endpoint: Option<&'a RawValue>,
    #[serde(borrow, default)]
    payload: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct DiscoverPayload {
    scope: Scope,
}

#[derive(Deserialize)]
struct AcceptGrantPayload {
    grant: Grant,
    grantee: Scope,
}

#[derive(Deserialize)]
struct Grant {
    #[serde(rename = "type")]
    kind: GrantType,
    code: Secret,
}

#[derive(Deserialize)]
enum GrantType {
    #[serde(rename = "OAuth2.AuthorizationCode")]
    AuthorizationCode,
}

impl Directive {
    /// Parses a raw directive. Never panics, whatever the input.
    pub fn parse(raw: &str) -> Result<Self, Rejected> {
        let reject = |reply_to: &ReplyTo, error| Rejected {
            reply_to: reply_to.clone(),
            error,
        };
        let unknown = ReplyTo::default();
        if raw.len() > MAX_DIRECTIVE_BYTES {
            return Err(reject(&unknown, ParseError::TooLarge(raw.len())));
        }
        let envelope: RawEnvelope<'_> =
            from_part("envelope", raw).map_err(|e| reject(&unknown, e))?;
        let raw = envelope.directive;
        let header: Header =
            from_part("header", raw.header.get()).map_err(|e| reject(&unknown, e))?;
        let header_only = ReplyTo::from_parts(&header, None);
        let endpoint: Option<DirectiveEndpoint> = raw
            .endpoint
            .map(|e| from_part("endpoint", e.get()))
            .transpose()
            .map_err(|e| reject(&header_only, e))?;
        let reply_to = ReplyTo::from_parts(&header, endpoint.as_ref());

        if header.payload_version != PAYLOAD_VERSION {
            return Err(reject(&reply_to, ParseError::PayloadVersion));
        }
        if let Some(endpoint) = &endpoint {
            validate::endpoint_id(&endpoint.endpoint_id)
                .map_err(|e| reject(&reply_to, ParseError::EndpointId(e)))?;
        }
        let payload = raw.payload.map_or("{}", RawValue::get);
        let request =
            parse_request(&header, endpoint.as_ref(), payload).map_err(|e| reject(&reply_to, e))?;
        Ok(Self {
            header,
            endpoint,
            request,
        })
    }
}

fn parse_request(
    header: &Header,
    endpoint: Option<&DirectiveEndpoint>,
    payload: &str,
) -> Result<Request, ParseError> {
    let interface = Interface::parse(&header.namespace);
    match (interface, header.name.as_str()) {
        (Some(Interface::Discovery), "Discover") => {
            let p: DiscoverPayload = from_part("payload", payload)?;
            check_token(&p.scope.token)?;
            Ok(Request::Discover { scope: p.scope })
        }
        (Some(Interface::Authorization), "AcceptGrant") => {
            let p: AcceptGrantPayload = from_part("payload", payload)?;
            check_token(&p.grantee.token)?;
            let GrantType::AuthorizationCode = p.grant.kind;
            check_secret(&p.grant.code, ParseError::GrantCode)?;
            Ok(Request::AcceptGrant {
                code: p.grant.code,
                grantee: p.grantee,
            })
        }
        (Some(Interface::Alexa), "ReportState") => {
            let (endpoint_id, token) = endpoint_and_token(endpoint)?;
            Ok(Request::ReportState { endpoint_id, token })
        }
        (interface, name) => {
            let command = interface
                .and_then(|i| Command::parse(i, name, header.instance.as_deref(), payload));
            match command {
                Some(command) => {
                    let command = command?;
                    let (endpoint_id, token) = endpoint_and_token(endpoint)?;
                    Ok(Request::Control {
                        endpoint_id,
                        token,
                        command,
                    })
                }
                None => Err(ParseError::Unsupported {
                    namespace: truncate(&header.namespace, 64),
                    name: truncate(name, 64),
                }),
            }
        }
    }
}

/// The endpoint a directive is about and the customer's token from its scope.
fn endpoint_and_token(
    endpoint: Option<&DirectiveEndpoint>,
) -> Result<(EndpointId, BearerToken), ParseError> {
    let endpoint = endpoint.ok_or(ParseError::MissingEndpoint)?;
    let scope = endpoint
        .scope
        .as_ref()
        .ok_or(ParseError::Token("missing endpoint.scope"))?;
    check_token(&scope.token)?;
    Ok((endpoint.endpoint_id.clone(), scope.token.clone()))
}

fn check_token(token: &BearerToken) -> Result<(), ParseError> {
    check_secret(token, ParseError::Token)
}

fn check_secret(secret: &Secret, error: fn(&'static str) -> ParseError) -> Result<(), ParseError> {
    match secret.expose().len() {
        0 => Err(error("empty")),
        n if n > MAX_TOKEN_BYTES => Err(error("too long")),
        _ => Ok(()),
    }
}

/// Unknown namespaces and names are echoed in logs and answers, but never at any length.
fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DISCOVER: &str = r#"{"directive":{"header":{"namespace":"Alexa.Discovery","name":"Discover",
        "payloadVersion":"3","messageId":"m-1"},"payload":{"scope":{"type":"BearerToken","token":"tok"}}}}"#;

    #[test]
    fn parses_discover() {
        let d = Directive::parse(DISCOVER).unwrap();
        assert_eq!(d.header.namespace, "Alexa.Discovery");
        let Request::Discover { scope } = d.request else {
            panic!("not a Discover: {:?}", d.request)
        };
        assert_eq!(scope.token.expose(), "tok");
    }

    #[test]
    fn a_directive_over_the_limit_is_refused_before_it_is_parsed() {
        // A valid Discover padded with whitespace: only the size check can refuse it.
        let at_limit = DISCOVER.to_owned() + &" ".repeat(MAX_DIRECTIVE_BYTES - DISCOVER.len());
        assert!(Directive::parse(&at_limit).is_ok());
        let rejected = Directive::parse(&format!("{at_limit} ")).unwrap_err();
        assert_eq!(
            rejected.error,
            ParseError::TooLarge(MAX_DIRECTIVE_BYTES + 1)
        );
        assert_eq!(rejected.reply_to, ReplyTo::default());
    }

    #[test]
    fn quoted_values_are_redacted_from_reasons() {
        let raw = r#"{"directive":{"header":{"namespace":"Alexa.Discovery","name":"Discover",
            "payloadVersion":"3","messageId":"m"},"payload":{"scope":"secret-token"}}}"#;
        let rejected = Directive::parse(raw).unwrap_err();
        let text = rejected.error.to_string();
        assert!(!text.contains("secret-token"), "{text}");
        assert!(text.contains("payload"), "{text}");
    }

    #[test]
    fn reply_to_keeps_correlation_token_after_header() {
        let raw = r#"{"directive":{"header":{"namespace":"Alexa","name":"Nope","payloadVersion":"3",
            "messageId":"m","correlationToken":"ct"},"endpoint":{"endpointId":"light-1"}}}"#;
        let rejected = Directive::parse(raw).unwrap_err();
        assert_eq!(rejected.reply_to.correlation_token.as_deref(), Some("ct"));
        assert_eq!(rejected.reply_to.endpoint_id.as_deref(), Some("light-1"));
        assert!(matches!(rejected.error, ParseError::Unsupported { .. }));
    }

    #[test]
    fn token_debug_is_redacted() {
        let t = BearerToken::new("Atza|very-secret");
        assert!(!format!("{t:?}").contains("very-secret"));
    }
}
