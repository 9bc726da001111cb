//! The integration tests, one binary: each file of this folder is a module, and they share
//! `support` (the local servers, the fakes, the official schema). One binary links the AWS
//! SDKs once, where a binary per file linked them 20 times (the book's testing page has the
//! figures). Run a part by its module's name: `cargo test --test it soak::`.

mod support;

mod accept_grant;
mod account_linking;
mod camera;
mod certify;
mod change_report;
mod control;
mod cost_model;
mod device_cloud;
mod discovery;
mod docs;
mod doorbell;
mod events;
mod generic_controllers;
mod lambda_binaries;
mod layout;
mod load;
mod malformed_directives;
mod metrics;
mod no_secrets_in_logs;
mod proactive;
mod properties;
mod reconcile;
mod reconcile_pass;
mod regions;
mod reliability;
mod schema_controls;
mod security;
mod security_panel;
mod soak;
mod thermostat;
