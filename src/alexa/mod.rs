//! The Alexa Smart Home API v3 message model.
//!
//! Directives arrive as JSON and are parsed into typed values ([`directive`]); every message
//! the skill sends is built from typed structs ([`event`], [`endpoint`]) so that serialization
//! is one derive away and no `serde_json::Value` tree is copied on the hot path.

pub mod directive;
pub mod endpoint;
pub mod event;
pub mod validate;

use std::fmt;

use serde::{Deserialize, Serialize};

/// Every v3 message carries this payload version.
pub const PAYLOAD_VERSION: &str = "3";

/// A bearer token (account-linking or Login with Amazon). Its `Debug` output is redacted so
/// that a token can never reach the logs through a `{:?}`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BearerToken(String);

impl BearerToken {
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }

    /// The raw token, for hashing or for the one place it must be sent.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerToken(<{} bytes redacted>)", self.0.len())
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
