//! Reconciling customers: read what Alexa was told and the devices table, send the
//! difference through the stream's own sender (which records what the gateway accepts).

use std::time::Duration;

use futures_util::StreamExt;
use tokio::time::Instant;
use tracing::{Instrument, debug, error, info, info_span, warn};

use std::collections::BTreeMap;

use super::{difference, state_digest};
use crate::clock::Clock;
use crate::config::Config;
use crate::deadline::Deadline;
use crate::device::Device;
use crate::device::properties::reportable;
use crate::endpoints;
use crate::error::Chain;
use crate::gateway::Gateway;
use crate::grants::{self, GrantError};
use crate::ids::{EndpointId, UserId};
use crate::lwa::Lwa;
use crate::metrics;
use crate::proactive::delivery::{Delivered, RetryPolicy, Sender};
use crate::proactive::reports;
use crate::store::{Store, StoreError};
use crate::view::AlexaView;

/// Deletes sent for one customer in one run: an account that lost thousands of endpoints is
/// cleared over several runs rather than holding one invocation (its request stays until done).
pub const MAX_DELETES_PER_RUN: usize = 1000;
/// A customer is not started with less time than this left: a 300-endpoint account is a few
/// reports, each with up to 3 resends a second or more apart.
pub const TIME_PER_CUSTOMER: Duration = Duration::from_secs(20);

/// What a reconciliation of one customer did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// They have no usable grant: nothing can be sent (they get everything on AcceptGrant).
    NoGrant,
    /// Alexa has what the table holds.
    InSync,
    /// The difference was sent and accepted (or dropped as the gateway's answers say).
    Sent {
        upserts: usize,
        states: usize,
        deletes: usize,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("the customer's grant is unusable now")]
    Grant(#[from] GrantError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the gateway did not accept every report")]
    Undelivered,
    #[error("the gateway refuses the customer's events")]
    Refused,
}

/// What a run over several customers did, for the log and the operator.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub customers: usize,
    pub in_sync: usize,
    pub without_grant: usize,
    pub upserts: usize,
    pub states: usize,
    pub deletes: usize,
    /// Customers whose reconciliation failed (their request stays for the next trigger).
    pub failed: Vec<UserId>,
    /// Customers not reached before the deadline.
    pub not_reached: Vec<UserId>,
}

impl Summary {
    fn add(&mut self, user_id: UserId, result: Result<Reconciled, ReconcileError>) {
        self.customers += 1;
        match result {
            Ok(Reconciled::NoGrant) => self.without_grant += 1,
            Ok(Reconciled::InSync) => self.in_sync += 1,
            Ok(Reconciled::Sent {
                upserts,
                states,
                deletes,
            }) => {
                self.upserts += upserts;
                self.states += states;
                self.deletes += deletes;
            }
            Err(_) => self.failed.push(user_id),
        }
    }

    /// Every customer reached and reconciled.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.not_reached.is_empty()
    }

    /// Adds up the summary of another run (a page, a segment).
    pub fn merge(&mut self, other: Summary) {
        self.customers += other.customers;
        self.in_sync += other.in_sync;
        self.without_grant += other.without_grant;
        self.upserts += other.upserts;
        self.states += other.states;
        self.deletes += other.deletes;
        self.failed.extend(other.failed);
        self.not_reached.extend(other.not_reached);
    }
}

/// The reconciler, holding what is built once at cold start.
#[derive(Debug)]
pub struct Reconciler<S> {
    store: S,
    lwa: Lwa,
    gateway: Gateway,
    policy: RetryPolicy,
    concurrency: usize,
    page_size: usize,
    segments: u32,
    interval: Duration,
    clock: Clock,
}

impl<S: Store> Reconciler<S> {
    pub fn new(store: S, lwa: Lwa, gateway: Gateway, policy: RetryPolicy, config: &Config) -> Self {
        Self {
            store,
            lwa,
            gateway,
            policy,
            concurrency: config.stream_concurrency.max(1),
            page_size: config.reconcile_page_size.max(1),
            segments: config.reconcile_segments.max(1),
            interval: config.reconcile_interval,
            clock: Clock::system(),
        }
    }

    /// The same reconciler reading the time from `clock` (a test's, set where it wants).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn from_config(store: S, config: &Config, http: crate::http::Http) -> Self {
        let lwa = Lwa::from_config(http.clone(), config);
        let gateway = Gateway::new(http, config.event_gateway_url.clone())
            .with_regional_urls(config.regional_gateway_urls.clone());
        Self::new(store, lwa, gateway, RetryPolicy::default(), config)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// Customers read per page of the grants table.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// Segments a new scheduled pass is split into.
    pub fn segments(&self) -> u32 {
        self.segments
    }

    /// The least time between the starts of two scheduled passes.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reconciles one customer. A failure leaves (or makes) a request for their
    /// reconciliation on their grant, which the next trigger or scheduled run serves.
    pub async fn customer(
        &self,
        user_id: &UserId,
        deadline: Instant,
    ) -> Result<Reconciled, ReconcileError> {
        let result = self.try_customer(user_id, deadline).await;
        match &result {
            Ok(Reconciled::Sent {
                upserts,
                states,
                deletes,
            }) => {
                info!(upserts, states, deletes, "reconciled: differences sent");
                metrics::reconciliation("sent", *upserts, *states, *deletes);
            }
            Ok(Reconciled::InSync) => {
                debug!("reconciled: nothing to send");
                metrics::reconciliation("in_sync", 0, 0, 0);
            }
            Ok(Reconciled::NoGrant) => {
                debug!("no grant: nothing can be sent");
                metrics::reconciliation("no_grant", 0, 0, 0);
            }
            Err(e) => {
                warn!(error = %Chain(e), "reconciliation failed; it stays requested");
                metrics::reconciliation("failed", 0, 0, 0);
                if let Err(e) = self
                    .store
                    .request_reconciliation(user_id, self.clock.now_ms())
                    .await
                {
                    error!(error = %Chain(&e), "cannot request the reconciliation again");
                }
            }
        }
        result
    }

    async fn try_customer(
        &self,
        user_id: &UserId,
        deadline: Instant,
    ) -> Result<Reconciled, ReconcileError> {
        let Some(grant) = grants::usable(
            &self.store,
            &self.lwa,
            user_id,
            &self.clock,
            &Deadline::at(deadline),
        )
        .await?
        else {
            return Ok(Reconciled::NoGrant);
        };
        let requested = grant.reconcile_after;
        // Whole items: their state is compared too.
        let found = endpoints::read::<_, Device>(&self.store, user_id).await?;
        let devices = found.devices;
        let told = self.store.told(user_id).await?;
        let mut diff = difference(&devices, &told, grant.granted_at, self.clock.now_ms());
        // An item this build cannot read (a capability of a newer build, a maker's typo) is
        // still the customer's device: deleting it would take it, and its routines, from Alexa.
        let before = diff.deletes.len();
        diff.deletes.retain(|id| !found.unreadable.contains(id));
        if diff.deletes.len() < before {
            warn!(
                kept = before - diff.deletes.len(),
                "endpoints whose items cannot be read are not deleted from Alexa"
            );
        }
        let capped = diff.deletes.len() > MAX_DELETES_PER_RUN;
        diff.deletes.truncate(MAX_DELETES_PER_RUN);
        let (upserts, states, deletes) =
            (diff.upserts.len(), diff.states.len(), diff.deletes.len());
        let now = self.clock.now_ms();
        let added_states: BTreeMap<EndpointId, String> = devices
            .iter()
            .filter(|d| {
                diff.upserts
                    .iter()
                    .any(|e| e.endpoint_id == d.definition.endpoint_id)
            })
            .map(|d| {
                (
                    d.definition.endpoint_id.clone(),
                    state_digest(&reportable(d, now)),
                )
            })
            .collect();
        if !diff.is_empty() {
            let reports = reports::plan(
                diff.upserts.into_iter().map(|e| (e, None)).collect(),
                diff.states.into_iter().map(|c| (c, None)).collect(),
                diff.deletes.into_iter().map(|id| (id, None)).collect(),
            );
            let view = AlexaView::new(&self.store, &self.clock).with_states(added_states);
            let sender = Sender {
                store: &self.store,
                lwa: &self.lwa,
                gateway: &self.gateway,
                policy: &self.policy,
                deadline: Deadline::at(deadline),
                observer: &view,
                clock: &self.clock,
            };
            match sender.deliver(grant, reports).await {
                Delivered::All => {}
                Delivered::Undelivered(_) => return Err(ReconcileError::Undelivered),
                // The gateway refuses the customer: disabled (their grant is gone), or not yet
                // enabled as far as it knows (AcceptGrant's answer still on its way) or a wrong
                // region. The request stays for the grant's next write (or the schedule).
                Delivered::Stopped => {
                    return match self.store.grant(user_id).await? {
                        None => Ok(Reconciled::NoGrant),
                        Some(_) => Err(ReconcileError::Refused),
                    };
                }
            }
        }
        if let Some(at) = requested
            && !capped
        {
            self.store.clear_reconciliation(user_id, at).await?;
        }
        Ok(if upserts + states + deletes == 0 {
            Reconciled::InSync
        } else {
            Reconciled::Sent {
                upserts,
                states,
                deletes,
            }
        })
    }

    /// Reconciles these customers, several at a time, each at most once, while there is time.
    pub async fn customers(&self, users: Vec<UserId>, deadline: Instant) -> Summary {
        let mut users = users;
        users.sort();
        users.dedup();
        let mut summary = Summary::default();
        let results: Vec<(UserId, Option<Result<Reconciled, ReconcileError>>)> =
            futures_util::stream::iter(users)
                .map(|user_id| async move {
                    if Instant::now() + TIME_PER_CUSTOMER > deadline {
                        return (user_id, None);
                    }
                    let span = info_span!("customer", user_id = %user_id);
                    let result = self.customer(&user_id, deadline).instrument(span).await;
                    (user_id, Some(result))
                })
                .buffer_unordered(self.concurrency)
                .collect()
                .await;
        for (user_id, result) in results {
            match result {
                Some(result) => summary.add(user_id, result),
                None => summary.not_reached.push(user_id),
            }
        }
        summary.failed.sort();
        summary.not_reached.sort();
        summary
    }
}
