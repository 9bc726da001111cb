//! The Alexa view: what the gateway accepted of each endpoint, recorded after each 202 (the
//! proactive layer's [`Observer`]) by every sender (the stream, reconciliation, a ghost's
//! DeleteReport), and read back by reconciliation (`crate::reconcile`) to tell what Alexa
//! lacks.

use std::collections::BTreeMap;

use sha2::{Digest as _, Sha256};
use tracing::warn;

use crate::alexa::endpoint::Endpoint;
use crate::alexa::event::PropertyState;
use crate::chain::Chain;
use crate::clock::Clock;
use crate::ids::{EndpointId, UserId};
use crate::proactive::Observer;
use crate::proactive::reports::{Report, ReportKind};
use crate::store::{Definition, Known, ViewStore};

/// A digest of an endpoint's definition as sent to Alexa: 128 bits of SHA-256 over its JSON,
/// hex. Any change Alexa would see (a name, a capability, a cookie) changes it; a new build
/// whose mapping declares more changes it too, and the next reconciliation then sends the new
/// definitions, which is what Alexa needs.
pub fn digest(endpoint: &Endpoint) -> String {
    // Plain structs with string keys always serialize.
    let json = serde_json::to_vec(endpoint).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..16])
}

/// A digest of a state as told to Alexa: every property's interface, instance, name and value
/// (not when it was sampled), in a fixed order.
pub fn state_digest<'a>(properties: impl IntoIterator<Item = &'a PropertyState>) -> String {
    let mut values: Vec<(&str, Option<&str>, &str, String)> = properties
        .into_iter()
        .map(|p| {
            (
                p.namespace,
                p.instance.as_deref(),
                p.name,
                p.value.to_string(),
            )
        })
        .collect();
    values.sort();
    let json = serde_json::to_vec(&values).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..16])
}

/// Records in the Alexa view what a sender sends and the gateway accepts.
#[derive(Debug)]
pub struct AlexaView<'a, S> {
    store: &'a S,
    /// When a definition is recorded (a row's `updatedAt`).
    clock: &'a Clock,
    /// Endpoint id → [`state_digest`] of the device's state as of the reports, for the
    /// endpoints an AddOrUpdateReport adds: recorded with the definition, as what Alexa learns
    /// by ReportState.
    states: BTreeMap<EndpointId, String>,
}

impl<'a, S> AlexaView<'a, S> {
    pub fn new(store: &'a S, clock: &'a Clock) -> Self {
        Self {
            store,
            clock,
            states: BTreeMap::new(),
        }
    }

    /// The same view, told the states of the endpoints the reports add.
    pub fn with_states(mut self, states: BTreeMap<EndpointId, String>) -> Self {
        self.states = states;
        self
    }
}

impl<S: ViewStore> Observer for AlexaView<'_, S> {
    async fn sending(&self, user_id: &UserId, endpoints: &[Endpoint]) {
        let unconfirmed: Vec<Definition> = endpoints
            .iter()
            .map(|e| Definition {
                endpoint_id: e.endpoint_id.clone(),
                known: Known::Unconfirmed,
                state: None,
            })
            .collect();
        if let Err(e) = self
            .store
            .record_definitions(user_id, &unconfirmed, self.clock.now_ms())
            .await
        {
            warn!(error = %Chain(&e), "cannot record the endpoints about to be sent");
        }
    }

    /// A failed write is only logged: the next reconciliation sends those endpoints again,
    /// which Alexa takes as a no-op.
    async fn accepted(&self, user_id: &UserId, report: &Report) {
        let result = match &report.kind {
            ReportKind::AddOrUpdate(endpoints) => {
                let definitions: Vec<Definition> = endpoints
                    .iter()
                    .map(|e| Definition {
                        endpoint_id: e.endpoint_id.clone(),
                        known: Known::Accepted(digest(e)),
                        state: self.states.get(&e.endpoint_id).cloned(),
                    })
                    .collect();
                self.store
                    .record_definitions(user_id, &definitions, self.clock.now_ms())
                    .await
            }
            ReportKind::Delete(ids) => self.store.forget(user_id, ids).await,
            ReportKind::Change(c) => {
                let digest = state_digest(c.changed.iter().chain(&c.unchanged));
                self.store
                    .record_state(user_id, &c.endpoint_id, &digest, self.clock.now_ms())
                    .await
            }
            ReportKind::Response(r) => {
                let digest = state_digest(&r.properties);
                self.store
                    .record_state(user_id, &r.endpoint_id, &digest, self.clock.now_ms())
                    .await
            }
            // What keeps a redelivered batch from ringing again: a failed write here is the one
            // way a press can ring twice.
            ReportKind::DoorbellPress(p) => {
                self.store
                    .record_press(user_id, &p.endpoint_id, p.at_ms)
                    .await
            }
        };
        if let Err(e) = result {
            warn!(error = %Chain(&e), "cannot record what Alexa accepted; reconciliation will resend it");
        }
    }
}
