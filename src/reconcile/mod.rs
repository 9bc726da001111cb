//! Reconciliation: what Alexa was last told against what the devices table holds.
//!
//! An event-driven sync drifts once one event is lost: records that outlive Lambda's retries,
//! a stream down for longer than its 24 h retention, changes made while a customer had no
//! grant. The remedy is anti-entropy: keep, per customer, the endpoint ids Alexa accepted and a
//! digest of each one's definition, compare them with the customer's devices, and send the
//! difference (an `AddOrUpdateReport` for what differs or is missing, a `DeleteReport` for
//! what Alexa has and the account lost).
//!
//! State is kept the same way: a digest of the properties Alexa was last told by an event
//! (ChangeReport, asynchronous Response). An endpoint whose state differs from it, or that
//! has none recorded, gets a `ChangeReport` with every property, cause `PERIODIC_POLL`: once
//! told, the next run finds it in sync. (A directive's answer tells Alexa a state too, but is
//! not recorded, to keep a write off the directive's path: at worst it makes one redundant
//! ChangeReport.)
//!
//! - this module: the comparison;
//! - [`run`]: reconciling customers (one, a list, or all of them in pages), through the same
//!   chunking and sender as the stream's reports;
//! - [`trigger`]: what starts it (AcceptGrant and failing grants through the grants table's
//!   stream, the stream's dead-letter queue, the schedule, an operator);
//! - [`dead_letter`]: the customers of a batch the stream Lambda gave up on, re-read from the
//!   devices table's stream.

pub mod dead_letter;
pub mod pass;
pub mod run;
pub mod trigger;

use crate::view::{digest, state_digest};

use std::collections::BTreeMap;

use crate::alexa::endpoint::Endpoint;
use crate::alexa::event::CauseType;
use crate::device::Device;
use crate::device::mapping::discoverable;
use crate::device::properties::reportable;
use crate::ids::EndpointId;
use crate::proactive::reports::StateChange;
use crate::store::{Known, Told};

/// What Alexa must be told for its view to match the devices table.
#[derive(Debug, Default, PartialEq)]
pub struct Difference {
    /// Endpoints Alexa lacks, or has with another definition, in endpoint id order.
    pub upserts: Vec<Endpoint>,
    /// ChangeReports of endpoints whose state Alexa was told differently, in id order.
    pub states: Vec<StateChange>,
    /// Endpoint ids Alexa has that the customer's account no longer does (or that Alexa would
    /// now reject), in id order.
    pub deletes: Vec<EndpointId>,
}

impl Difference {
    pub fn is_empty(&self) -> bool {
        self.upserts.is_empty() && self.states.is_empty() && self.deletes.is_empty()
    }
}

/// The difference between `told` (what Alexa accepted of each endpoint) and the customer's
/// `devices` as discovery would answer them: the same endpoints, the same 300 when there are
/// more, invalid devices left out. What Alexa was told before `granted_at` (the customer's
/// latest AcceptGrant) is not trusted: their endpoints are sent again. `devices` must be whole
/// items (their state is compared); `now_ms` dates the properties sent.
pub fn difference(
    devices: &[Device],
    told: &BTreeMap<EndpointId, Told>,
    granted_at: i64,
    now_ms: i64,
) -> Difference {
    let endpoints = discoverable(devices.iter().map(|d| &d.definition));
    let is_upsert = |e: &Endpoint| {
        told.get(&e.endpoint_id).is_none_or(|t| {
            t.told_at < granted_at || t.definition != Some(Known::Accepted(digest(e)))
        })
    };
    let mut states: Vec<StateChange> = devices
        .iter()
        .filter_map(|d| {
            let endpoint = endpoints
                .iter()
                .find(|e| e.endpoint_id == d.definition.endpoint_id)?;
            let properties = reportable(d, now_ms);
            let current = state_digest(&properties);
            let told = told.get(&d.definition.endpoint_id);
            let stale = match told.and_then(|t| t.state_digest.as_ref().map(|s| (s, t.state_at))) {
                // A directive's answer since the state was recorded told Alexa a state of its
                // own, which the device may have left again (a light that ends elsewhere)
                // while the events that carried it were lost: the table's state is told.
                Some((recorded, state_at)) => {
                    *recorded != current || d.answered_at.is_some_and(|at| at > state_at)
                }
                // Sent with its definition, Alexa asks for its state (ReportState); the
                // record then holds it. Known to Alexa without a state recorded (a view
                // written before states were): told once.
                None => !is_upsert(endpoint),
            };
            stale.then(|| StateChange {
                endpoint_id: d.definition.endpoint_id.clone(),
                cause: CauseType::PeriodicPoll,
                changed: properties,
                unchanged: Vec::new(),
            })
        })
        .collect();
    states.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id));
    let mut deletes: Vec<EndpointId> = told
        .keys()
        .filter(|id| !endpoints.iter().any(|e| &e.endpoint_id == *id))
        .cloned()
        .collect();
    deletes.sort();
    let mut upserts: Vec<Endpoint> = endpoints.into_iter().filter(|e| is_upsert(e)).collect();
    upserts.sort_by(|a, b| a.endpoint_id.cmp(&b.endpoint_id));
    Difference {
        upserts,
        states,
        deletes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::mapping;
    use serde_json::json;

    fn device(id: &str, name: &str) -> Device {
        serde_json::from_value(json!({
            "userId": "u", "endpointId": id, "name": name, "description": "d",
            "manufacturer": "Acme", "category": "LIGHT", "capabilities": [{"type": "power"}],
        }))
        .unwrap()
    }

    const AT: i64 = 1_000;

    fn told(devices: &[Device]) -> BTreeMap<EndpointId, Told> {
        devices
            .iter()
            .map(|d| {
                let told = Told {
                    definition: Some(Known::Accepted(digest(&mapping::endpoint(&d.definition)))),
                    told_at: AT,
                    state_digest: Some(state_digest(&reportable(d, 0))),
                    state_at: AT,
                    pressed_at: 0,
                };
                (d.definition.endpoint_id.clone(), told)
            })
            .collect()
    }

    #[test]
    fn a_new_grant_gets_everything_again() {
        let devices = [device("a", "Lamp"), device("b", "Hall")];
        assert!(difference(&devices, &told(&devices), AT, 0).is_empty());
        let diff = difference(&devices, &told(&devices), AT + 1, 0);
        assert_eq!(diff.upserts.len(), 2);
        // Their states are as recorded: Alexa asks for them (ReportState).
        assert!(diff.states.is_empty());
        assert!(diff.deletes.is_empty());
    }

    #[test]
    fn nothing_to_do_when_alexa_has_what_the_table_holds() {
        let devices = [device("a", "Lamp"), device("b", "Hall")];
        assert!(difference(&devices, &told(&devices), 0, 0).is_empty());
    }

    #[test]
    fn what_differs_is_sent_and_what_is_gone_is_deleted() {
        let before = [
            device("a", "Lamp"),
            device("b", "Hall"),
            device("c", "Porch"),
        ];
        let now = [
            device("a", "Lamp"),
            device("b", "Hallway"),
            device("d", "Desk"),
        ];
        let diff = difference(&now, &told(&before), 0, 0);
        let upserts: Vec<&str> = diff
            .upserts
            .iter()
            .map(|e| e.endpoint_id.as_str())
            .collect();
        assert_eq!(upserts, ["b", "d"]);
        assert_eq!(diff.deletes, ["c"]);
    }

    #[test]
    fn a_state_alexa_was_told_differently_is_reported() {
        let before = [device("a", "Lamp"), device("b", "Hall")];
        let mut now = before.clone();
        now[0].state.power_on = Some(true);
        let diff = difference(&now, &told(&before), 0, 0);
        assert!(diff.upserts.is_empty() && diff.deletes.is_empty());
        assert_eq!(diff.states.len(), 1);
        let change = &diff.states[0];
        assert_eq!(change.endpoint_id, "a");
        assert_eq!(change.cause, CauseType::PeriodicPoll);
        assert!(change.changed.iter().any(|p| p.name == "powerState"));
        // Told again, it is in sync.
        let mut told = told(&before);
        told.get_mut("a").unwrap().state_digest = Some(state_digest(&reportable(&now[0], 5)));
        assert!(difference(&now, &told, 0, 0).is_empty());
    }

    /// A light told ON by a TurnOn's answer that then ended OFF again, as the view recorded
    /// it, with both changes' events lost: the view's digest matches the table, but Alexa was
    /// told otherwise since.
    #[test]
    fn a_state_answered_since_the_view_recorded_one_is_told() {
        let devices = [device("a", "Lamp"), device("b", "Hall")];
        let mut now = devices.clone();
        now[0].answered_at = Some(AT + 1);
        let diff = difference(&now, &told(&devices), 0, 0);
        assert!(diff.upserts.is_empty() && diff.deletes.is_empty());
        let sent: Vec<&str> = diff.states.iter().map(|s| s.endpoint_id.as_str()).collect();
        assert_eq!(sent, ["a"]);
        // An event recorded after the answer: Alexa has what the table holds.
        let mut later = told(&devices);
        later.get_mut("a").unwrap().state_at = AT + 2;
        assert!(difference(&now, &later, 0, 0).is_empty());
        // An answer before the state was recorded: nothing.
        now[0].answered_at = Some(AT - 1);
        assert!(difference(&now, &told(&devices), 0, 0).is_empty());
    }

    #[test]
    fn a_state_never_told_by_an_event_is_told() {
        let devices = [device("a", "Lamp")];
        let mut told = told(&devices);
        told.get_mut("a").unwrap().state_digest = None;
        let diff = difference(&devices, &told, 0, 0);
        assert!(diff.upserts.is_empty());
        assert_eq!(diff.states.len(), 1);
        // A new endpoint: its definition only (Alexa asks for its state).
        let diff = difference(&devices, &BTreeMap::new(), 0, 0);
        assert_eq!((diff.upserts.len(), diff.states.len()), (1, 0));
    }

    #[test]
    fn a_device_alexa_would_now_reject_is_deleted() {
        let before = [device("a", "Lamp")];
        let mut now = before.clone();
        now[0].definition.name = "x".repeat(300);
        let diff = difference(&now, &told(&before), 0, 0);
        assert!(diff.upserts.is_empty());
        assert_eq!(diff.deletes, ["a"]);
    }

    #[test]
    fn digests_are_stable_and_short() {
        let d = device("a", "Lamp");
        let e = mapping::endpoint(&d.definition);
        assert_eq!(digest(&e), digest(&e.clone()));
        assert_eq!(digest(&e).len(), 32);
        assert_ne!(
            digest(&e),
            digest(&mapping::endpoint(&device("a", "Lamp 2").definition))
        );
    }
}
