//! The stream Lambda's core: DynamoDB stream records of the devices table in, proactive
//! discovery events out, and the records that could not be delivered reported back so that
//! Lambda retries them.
//!
//! - [`changes`]: records → per-customer, per-endpoint changes (the last image wins).
//! - then [`crate::proactive`]: changes → reports within Alexa's limits → the gateway.

pub mod changes;
pub mod pending;

use std::collections::BTreeMap;

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::{Instrument, debug, error, info, info_span, warn};

use self::changes::{Action, EndpointChange, StreamEvent, UserChanges};
use crate::clock::Clock;
use crate::config::Config;
use crate::deadline::Deadline;
use crate::device::mapping;
use crate::device::properties::reportable;
use crate::error::Chain;
use crate::gateway::Gateway;
use crate::grants;
use crate::ids::EndpointId;
use crate::lwa::Lwa;
use crate::proactive::delivery::{Delivered, RetryPolicy, Sender};
use crate::proactive::reports::{self, Press, Report, ReportKind};
use crate::store::{Known, Store};
use crate::view::{AlexaView, state_digest};

/// The stream Lambda, holding what is built once at cold start.
#[derive(Debug)]
pub struct StreamProcessor<S> {
    store: S,
    lwa: Lwa,
    gateway: Gateway,
    concurrency: usize,
    policy: RetryPolicy,
    clock: Clock,
}

impl<S: Store> StreamProcessor<S> {
    pub fn new(
        store: S,
        lwa: Lwa,
        gateway: Gateway,
        concurrency: usize,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            store,
            lwa,
            gateway,
            concurrency: concurrency.max(1),
            policy,
            clock: Clock::system(),
        }
    }

    /// The same processor reading the time from `clock` (a test's, set where it wants).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn from_config(store: S, config: &Config, http: crate::http::Http) -> Self {
        let lwa = Lwa::from_config(http.clone(), config);
        let gateway = Gateway::new(http, config.event_gateway_url.clone())
            .with_regional_urls(config.regional_gateway_urls.clone());
        Self::new(
            store,
            lwa,
            gateway,
            config.stream_concurrency,
            RetryPolicy::default(),
        )
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Handles one batch. Customers are served concurrently, each customer's reports in order.
    /// What could not be delivered is answered as a batch item failure naming the earliest
    /// undelivered record, from which Lambda retries: nothing is lost and nothing later skipped
    /// (what was delivered after it is sent again, which Alexa takes as a no-op).
    pub async fn process(
        &self,
        event: impl Into<StreamEvent>,
        deadline: Instant,
    ) -> DynamoDbEventResponse {
        let event = event.into();
        let records = event.records.len();
        let batch = changes::group(event.records);
        let users = batch.users.len();
        let earliest = futures_util::stream::iter(batch.users)
            .map(|user| {
                let span = info_span!("customer", user_id = %user.user_id);
                self.process_user(user, deadline).instrument(span)
            })
            .buffer_unordered(self.concurrency)
            .filter_map(|failed| async move { failed })
            .fold(None, |earliest: Option<usize>, record| async move {
                Some(earliest.map_or(record, |e| e.min(record)))
            })
            .await;
        let mut response = DynamoDbEventResponse::default();
        if let Some(index) = earliest {
            let sequence_number = batch.sequence_numbers.get(index).cloned().flatten();
            info!(
                records,
                users,
                retry_from = sequence_number.as_deref().unwrap_or("<none>"),
                "batch partly undelivered"
            );
            crate::metrics::batch_item_failure();
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence_number;
            response.batch_item_failures.push(failure);
        } else {
            debug!(records, users, "batch done");
        }
        response
    }

    /// Sends one customer's changes; the earliest undelivered record, if any.
    async fn process_user(&self, user: UserChanges, deadline: Instant) -> Option<usize> {
        let deadline = Deadline::at(deadline);
        let now = self.clock.now_ms();
        let mut reports = reports_for(&user, now, |_| true);
        if reports.is_empty() && !pending::any_settled(&user) {
            return None;
        }
        // The earliest record that must be retried if nothing can be sent.
        let earliest = user
            .endpoints
            .iter()
            .filter_map(|c| c.first_record())
            .min()?;
        let grant = match grants::usable(
            &self.store,
            &self.lwa,
            &user.user_id,
            &self.clock,
            &deadline,
        )
        .await
        {
            Ok(Some(grant)) => grant,
            Ok(None) => {
                debug!("no grant: the customer has not enabled the skill with events");
                return None;
            }
            Err(e) => {
                error!(error = %Chain(&e), "cannot get the customer's grant; will be retried");
                return Some(earliest);
            }
        };
        if reports
            .iter()
            .any(|r| matches!(r.kind, ReportKind::Change(_) | ReportKind::DoorbellPress(_)))
        {
            // A ChangeReport is only for an endpoint Alexa knows: one whose add was lost (a
            // batch past Lambda's retries, a change made before the grant) is added first.
            match self.store.told(&user.user_id).await {
                Ok(told) => {
                    reports = reports_for(&user, now, |id| {
                        told.get(id)
                            .and_then(|t| t.definition.as_ref())
                            .is_some_and(Known::is_accepted)
                    });
                    // A press the gateway accepted already (a redelivered batch) rings once.
                    reports.retain(|r| match &r.kind {
                        ReportKind::DoorbellPress(p) => told
                            .get(&p.endpoint_id)
                            .is_none_or(|t| p.at_ms > t.pressed_at),
                        _ => true,
                    });
                }
                Err(e) => {
                    warn!(error = %Chain(&e), "cannot read what Alexa was told; ChangeReports sent as they are");
                }
            }
        }
        let settlements = match pending::settlements(&self.store, &user, now).await {
            Ok(settlements) => settlements,
            Err(e) => {
                error!(error = %Chain(&e), "cannot read pending commands; will be retried");
                return Some(earliest);
            }
        };
        // Alexa waits for the asynchronous responses; the ChangeReports follow them.
        let mut all = settlements.responses;
        all.extend(reports);
        info!(reports = all.len(), "sending changes");
        let view = AlexaView::new(&self.store, &self.clock).with_states(added_states(&user, now));
        let sender = Sender {
            store: &self.store,
            lwa: &self.lwa,
            gateway: &self.gateway,
            policy: &self.policy,
            deadline,
            observer: &view,
            clock: &self.clock,
        };
        let failed = if all.is_empty() {
            None
        } else {
            match sender.deliver(grant, all).await {
                Delivered::All | Delivered::Stopped => None,
                // Every report of the stream's is tagged with its earliest record.
                Delivered::Undelivered(record) => Some(record.unwrap_or(earliest)),
            }
        };
        if failed.is_none()
            && let Err(e) = pending::remove(&self.store, &user.user_id, &settlements.settled).await
        {
            // Answered, but still recorded: a later record of the device answers them again,
            // which Alexa ignores for a directive it has its answer to.
            error!(error = %Chain(&e), "cannot remove settled commands");
        }
        failed
    }
}

/// Whether the change has presses to ring: of a doorbell, as it is after the batch (a
/// redefinition may have made it none).
fn rings(change: &EndpointChange) -> bool {
    !change.presses.is_empty() && change.after().is_some_and(|d| d.definition.is_doorbell())
}

/// The state of each device the changes add or update (what Alexa learns of a new endpoint
/// by ReportState), by endpoint id.
fn added_states(user: &UserChanges, now_ms: i64) -> BTreeMap<EndpointId, String> {
    user.endpoints
        .iter()
        .filter_map(|change| match change.action() {
            Action::AddOrUpdate(device) => Some((
                change.endpoint_id.clone(),
                state_digest(&reportable(device, now_ms)),
            )),
            _ => None,
        })
        .collect()
}

/// The reports one customer's changes make: discovery changes of endpoints Alexa would accept
/// (an invalid one is logged and left out, not sent to fail), ChangeReports, deletes. A state
/// change of an endpoint that is not `known` to Alexa makes an AddOrUpdateReport of it too.
pub fn reports_for(user: &UserChanges, now_ms: i64, known: impl Fn(&str) -> bool) -> Vec<Report> {
    let mut upserts = Vec::new();
    let mut state_changes = Vec::new();
    let mut deletes = Vec::new();
    for change in &user.endpoints {
        let first = change.first_record();
        match change.action() {
            Action::AddOrUpdate(device) => {
                if let Some(endpoint) = mapping::checked_endpoint(&device.definition) {
                    upserts.push((endpoint, first));
                    state_changes.extend(change.state_change(now_ms).map(|c| (c, first)));
                }
            }
            Action::Delete => deletes.push((change.endpoint_id.clone(), first)),
            Action::Nothing => {
                let state = change.state_change(now_ms);
                // A ChangeReport or a press is only for an endpoint Alexa knows: one whose add
                // was lost (found by the soak, for a press) is added first.
                if (state.is_some() || rings(change)) && change.after_is_discoverable() {
                    if !known(&change.endpoint_id)
                        && let Some(endpoint) = change
                            .after()
                            .and_then(|d| mapping::checked_endpoint(&d.definition))
                    {
                        upserts.push((endpoint, first));
                    }
                    state_changes.extend(state.map(|c| (c, first)));
                }
            }
        }
    }
    let mut reports = reports::plan(upserts, state_changes, deletes);
    // Presses ring after Alexa knows the doorbell (its AddOrUpdateReport) and before deletes.
    let presses = user
        .endpoints
        .iter()
        .filter(|c| rings(c) && c.after_is_discoverable())
        .flat_map(|c| {
            c.presses.iter().map(|&(at_ms, record)| Report {
                kind: ReportKind::DoorbellPress(Box::new(Press {
                    endpoint_id: c.endpoint_id.clone(),
                    at_ms,
                })),
                tag: Some(record),
            })
        });
    let at = reports
        .iter()
        .position(|r| matches!(r.kind, ReportKind::Delete(_)))
        .unwrap_or(reports.len());
    reports.splice(at..at, presses);
    reports
}
