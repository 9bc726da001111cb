//! Operational metrics in CloudWatch embedded metric format (EMF): the `metrics` facade here,
//! recorded where things happen; `metrics_cloudwatch_embedded` writes one JSON line per set of
//! dimensions to stdout after each invocation, which CloudWatch turns into metrics.
//!
//! Every name, unit and dimension is defined in this module, so that the template's alarms and
//! dashboard (docs/operations.md) can rely on them. Dimensions take values from small fixed
//! sets (an interface name, an error type, an HTTP status): never a customer, endpoint, token
//! or anything else that identifies a person or grows without bound.

use std::sync::OnceLock;

use metrics::{Unit, counter, describe_counter};
use metrics_cloudwatch_embedded::Collector;

/// `METRICS_NAMESPACE` (default `AlexaSmartHome`): the CloudWatch namespace. The template sets
/// one per stack, so that two deployments in one account do not add up.
pub const DEFAULT_NAMESPACE: &str = "AlexaSmartHome";

pub const DIRECTIVES: &str = "Directives";
pub const DIRECTIVE_INTERNAL_ERRORS: &str = "DirectiveInternalErrors";
pub const DISCOVERED_ENDPOINTS: &str = "DiscoveredEndpoints";
pub const DISCOVERY_DROPPED: &str = "DiscoveryDroppedDevices";
pub const GATEWAY_EVENTS: &str = "GatewayEvents";
pub const GATEWAY_RESPONSES: &str = "GatewayResponses";
pub const GATEWAY_RESENDS: &str = "GatewayResends";
pub const LWA_REFRESHES: &str = "LwaRefreshes";
pub const BATCH_ITEM_FAILURES: &str = "StreamBatchItemFailures";
pub const RECONCILIATIONS: &str = "Reconciliations";
pub const RECONCILED_ENDPOINTS: &str = "ReconciledEndpoints";
pub const DEAD_LETTER_BATCHES: &str = "DeadLetterBatches";
pub const IDENTITY_PROVIDER_UNAVAILABLE: &str = "IdentityProviderUnavailable";
pub const KEY_SET_FETCHES: &str = "KeySetFetches";
pub const PINS_REFUSED: &str = "PinsRefused";

/// Every metric, with its unit and meaning (docs/operations.md lists the same).
const METRICS: [(&str, &str); 15] = [
    (
        DIRECTIVE_INTERNAL_ERRORS,
        "directives answered INTERNAL_ERROR (storage, LWA or device cloud failures), for alarms",
    ),
    (
        DIRECTIVES,
        "directives answered, by Namespace, Name and Outcome (SUCCESS or the Alexa error type)",
    ),
    (DISCOVERED_ENDPOINTS, "endpoints answered to Discover"),
    (
        DISCOVERY_DROPPED,
        "devices left out of discovery because Alexa would reject them",
    ),
    (
        GATEWAY_EVENTS,
        "events sent to the event gateway, by Event and Status (HTTP status, or `none`)",
    ),
    (
        GATEWAY_RESPONSES,
        "gateway answers by Class (2xx, 4xx, 5xx, none), for alarms",
    ),
    (
        GATEWAY_RESENDS,
        "events resent after throttling or a server error",
    ),
    (
        LWA_REFRESHES,
        "Login with Amazon refreshes by Outcome (fresh, revoked, failed)",
    ),
    (
        BATCH_ITEM_FAILURES,
        "stream batches answered with a batch item failure (retried by Lambda)",
    ),
    (
        RECONCILIATIONS,
        "customer reconciliations by Outcome (sent, in_sync, no_grant, failed)",
    ),
    (
        RECONCILED_ENDPOINTS,
        "differences sent by reconciliation, by Change (upsert, state, delete)",
    ),
    (
        DEAD_LETTER_BATCHES,
        "dead-lettered stream batches by Outcome (recovered, expired, failed)",
    ),
    (
        IDENTITY_PROVIDER_UNAVAILABLE,
        "directives whose token could not be checked because the identity provider did not \
         answer usefully, by Mode (jwt, userinfo) and Reason (timeout, unreachable, status_5xx, \
         status_other, unparsable, out_of_time, recently_failed)",
    ),
    (
        KEY_SET_FETCHES,
        "fetches of the JWT issuer's key set by Outcome (fetched, failed)",
    ),
    (
        PINS_REFUSED,
        "alarm panels' Disarms refused for their PIN, by Reason (Wrong, LockedOut, Missing)",
    ),
];

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the EMF recorder for the process, once, at cold start. Without it (unit tests,
/// benchmarks, local tools) the metrics calls cost next to nothing and record nothing.
pub fn init(namespace: &str) {
    if COLLECTOR.get().is_some() {
        return;
    }
    let built = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(namespace.to_owned())
        .init();
    match built {
        Ok(collector) => {
            // With Lambda's JSON log format and an application log level above INFO, Lambda
            // drops lines without a `level` (it takes them for INFO), and the alarms on these
            // metrics would never see them: the lines carry INFO, or the configured
            // level where that is above it.
            let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
                .ok()
                .map(|l| l.trim().to_ascii_uppercase())
                .filter(|l| matches!(l.as_str(), "WARN" | "ERROR" | "FATAL"))
                .unwrap_or_else(|| "INFO".to_owned());
            collector.set_property("level", level);
            let _ = COLLECTOR.set(collector);
            for (name, description) in METRICS {
                describe_counter!(name, Unit::Count, description);
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics recorder not installed"),
    }
}

/// Writes what was recorded since the last flush to stdout: called after each invocation, so
/// that the figures are in the log before Lambda freezes the process.
pub fn flush() {
    if let Some(collector) = COLLECTOR.get()
        && let Err(e) = collector.flush(std::io::stdout().lock())
    {
        tracing::warn!(error = %e, "metrics not written");
    }
}

/// A directive answered: `outcome` is `SUCCESS` or the Alexa error type of the answer.
pub fn directive(namespace: &str, name: &str, outcome: &str) {
    counter!(
        DIRECTIVES,
        "Namespace" => bounded(namespace),
        "Name" => bounded(name),
        "Outcome" => bounded(outcome),
    )
    .increment(1);
    if outcome == "INTERNAL_ERROR" {
        counter!(DIRECTIVE_INTERNAL_ERRORS).increment(1);
    }
}

pub fn discovery(endpoints: usize, dropped: usize) {
    counter!(DISCOVERED_ENDPOINTS).increment(endpoints as u64);
    counter!(DISCOVERY_DROPPED).increment(dropped as u64);
}

/// One send of an event and the gateway's answer (`None`: no HTTP answer at all).
pub fn gateway_event(event: &'static str, status: Option<u16>) {
    let (status, class) = match status {
        Some(s) => (s.to_string(), format!("{}xx", s / 100)),
        None => ("none".to_owned(), "none".to_owned()),
    };
    counter!(GATEWAY_EVENTS, "Event" => event, "Status" => status).increment(1);
    counter!(GATEWAY_RESPONSES, "Class" => class).increment(1);
}

pub fn gateway_resend() {
    counter!(GATEWAY_RESENDS).increment(1);
}

/// `outcome`: `fresh`, `revoked` or `failed`.
pub fn lwa_refresh(outcome: &'static str) {
    counter!(LWA_REFRESHES, "Outcome" => outcome).increment(1);
}

pub fn batch_item_failure() {
    counter!(BATCH_ITEM_FAILURES).increment(1);
}

/// `outcome`: `sent`, `in_sync`, `no_grant` or `failed`.
pub fn reconciliation(outcome: &'static str, upserts: usize, states: usize, deletes: usize) {
    counter!(RECONCILIATIONS, "Outcome" => outcome).increment(1);
    if upserts > 0 {
        counter!(RECONCILED_ENDPOINTS, "Change" => "upsert").increment(upserts as u64);
    }
    if states > 0 {
        counter!(RECONCILED_ENDPOINTS, "Change" => "state").increment(states as u64);
    }
    if deletes > 0 {
        counter!(RECONCILED_ENDPOINTS, "Change" => "delete").increment(deletes as u64);
    }
}

/// `outcome`: `recovered`, `expired` or `failed`.
pub fn dead_letter_batch(outcome: &'static str) {
    counter!(DEAD_LETTER_BATCHES, "Outcome" => outcome).increment(1);
}

/// A token that could not be checked: `mode` and `reason` come from fixed sets
/// (`linking::Mode::name`, `linking::ProviderError::reason`).
pub fn identity_provider_unavailable(mode: &'static str, reason: &'static str) {
    counter!(IDENTITY_PROVIDER_UNAVAILABLE, "Mode" => mode, "Reason" => reason).increment(1);
}

/// An alarm panel's Disarm refused for its PIN; `reason`: `Wrong`, `LockedOut` (too many
/// wrong PINs: refused unchecked) or `Missing`.
pub fn pin_refused(reason: &'static str) {
    counter!(PINS_REFUSED, "Reason" => reason).increment(1);
}

/// `outcome`: `fetched` or `failed`.
pub fn key_set_fetch(outcome: &'static str) {
    counter!(KEY_SET_FETCHES, "Outcome" => outcome).increment(1);
}

/// A dimension value from a message: Alexa's names are short identifiers; anything else (a
/// malformed directive's namespace) is not passed on, so that input cannot mint dimensions.
fn bounded(value: &str) -> String {
    let known_shape = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
    if known_shape {
        value.to_owned()
    } else {
        "other".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_identifier_shaped_values_become_dimensions() {
        assert_eq!(bounded("Alexa.PowerController"), "Alexa.PowerController");
        assert_eq!(bounded("INVALID_DIRECTIVE"), "INVALID_DIRECTIVE");
        assert_eq!(bounded(""), "other");
        assert_eq!(bounded("a b"), "other");
        assert_eq!(bounded(&"x".repeat(65)), "other");
        assert_eq!(bounded("Atzr|secret"), "other");
    }
}
