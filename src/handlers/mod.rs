//! Directive handlers: one module per directive, each from a typed request to a typed answer.

pub mod accept_grant;
pub mod auth;
pub mod discovery;
