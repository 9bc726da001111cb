//! Alexa smart home skill backend.
//!
//! # Layout
//! - [`alexa`]: the Smart Home API v3 message model: directives in, events out, the
//!   endpoint object and the limits Alexa enforces on it.
//! - [`ids`]: [`ids::UserId`] and [`ids::EndpointId`], the ids everything is keyed by.
//! - [`device`]: the device cloud's own model of a device (what the devices table holds)
//!   and its one mapping to an Alexa endpoint.
//! - [`cloud`]: the device-cloud port: how a command reaches the device (the devices table,
//!   AWS IoT Core device shadows, or the maker's HTTPS API) and what came back.
//! - [`bridge`]: the shadow bridge Lambda's core: a device's reported shadow state into the
//!   devices table.
//! - [`store`]: the storage port, one trait per table ([`store::TokenStore`],
//!   [`store::DeviceStore`], [`store::GrantStore`], [`store::ViewStore`]), with its DynamoDB
//!   adapter.
//! - [`handlers`]: one module per directive; each turns a typed directive into a reply.
//! - [`skill`]: the skill Lambda's core: parse the raw directive, dispatch, map errors.
//! - [`stream`]: the stream Lambda's core: device changes → proactive events to Alexa.
//! - [`proactive`]: building proactive events within Alexa's limits and delivering them.
//! - [`endpoints`]: the endpoints Alexa may know of a customer (what Discover answers, and
//!   what reconciliation compares).
//! - [`view`]: what Alexa was told and accepted (the Alexa view), as the proactive layer's
//!   observer records it, and the digests it is compared by.
//! - [`reconcile`]: what Alexa was last told against the devices table (anti-entropy).
//! - [`gateway`], [`lwa`], [`grants`]: the event gateway, Login with Amazon, and keeping a
//!   customer's grant fresh.
//! - [`linking`]: account linking, which customer a bearer token belongs to (the tokens
//!   table, a JWT verified against the issuer's keys, or the provider's userinfo endpoint).
//! - [`error`]: the one error enum and its mapping to Alexa error types; [`chain`] writes an
//!   error with its causes for the logs.
//! - [`config`] and [`runtime`]: what the binaries read and set up once at cold start.
//! - [`deadline`]: when an invocation's work must be done, and what each call may spend;
//!   [`clock`]: the time of day, which a test sets.
//!
//! The binaries in `src/bin/` only wire these together. Local stand-ins (fakes, the local
//! stream reader, the in-memory store, `devicectl`) live in the `alexa-smart-home-local` crate
//! (`local/`), which is never deployed.

pub mod alexa;
pub mod bridge;
pub mod chain;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod deadline;
pub mod device;
pub mod endpoints;
pub mod error;
pub mod gateway;
pub mod grants;
pub mod handlers;
pub mod http;
pub mod ids;
pub mod linking;
pub mod lwa;
pub mod metrics;
pub mod proactive;
pub mod reconcile;
pub mod runtime;
pub mod skill;
pub mod store;
pub mod stream;
pub mod view;
