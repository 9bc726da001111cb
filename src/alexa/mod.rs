//! The Alexa Smart Home API v3 message model.
//!
//! Directives arrive as JSON and are parsed into typed values ([`directive`]); every message
//! the skill sends is built from typed structs ([`event`], [`endpoint`]) so that serialization
//! is one derive away and no `serde_json::Value` tree is copied on the hot path.

pub mod camera;
pub mod control;
pub mod directive;
pub mod endpoint;
pub mod event;
pub mod interface;
pub mod media;
pub mod parse_error;
pub mod security;
pub mod validate;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every v3 message carries this payload version.
pub const PAYLOAD_VERSION: &str = "3";

/// Directives larger than this are rejected unread. Alexa's largest directives are a few
/// kilobytes; the bound keeps a hostile or broken caller from making the skill parse megabytes.
pub const MAX_DIRECTIVE_BYTES: usize = 64 * 1024;

/// A secret string: a bearer token (account-linking or Login with Amazon), a grant code, a
/// client secret. Its `Debug` output is redacted so that a secret can never reach the logs
/// through a `{:?}`; the raw value is only available through [`Secret::expose`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

/// The bearer tokens of `scope` objects.
pub type BearerToken = Secret;

impl Secret {
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The raw value, for hashing or for the one place it must be sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes redacted>)", self.0.len())
    }
}

/// The `scope` object: how Alexa tells the skill who the customer is, and how the skill
/// authenticates the events it sends to the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(rename = "type")]
    pub kind: ScopeType,
    pub token: BearerToken,
}

impl Scope {
    pub fn bearer(token: BearerToken) -> Self {
        Self {
            kind: ScopeType::BearerToken,
            token,
        }
    }
}

/// Alexa sends `BearerTokenWithPartition` for some directives (with extra fields that the
/// skill does not need); both carry the customer's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeType {
    BearerToken,
    BearerTokenWithPartition,
}
