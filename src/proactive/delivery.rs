//! Sending one customer's reports to the gateway, handling each answer as the gateway's error
//! codes say (`shared/alexa/NOTES.md`).

use std::collections::VecDeque;
use std::time::Duration;

use tracing::{debug, error, info, warn};

use super::Observer;
use super::reports::{Report, ReportKind, earliest};
use crate::chain::Chain;
use crate::clock::Clock;
use crate::deadline::Deadline;
use crate::gateway::{Gateway, GatewayError};
use crate::grants::{self, Refreshed};
use crate::http::REQUEST_TIMEOUT;
use crate::lwa::Lwa;
use crate::metrics;
use crate::store::{Grant, GrantStore};

/// How throttling and server errors are retried. Amazon: resend up to 3 times, at least 1 s apart.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub resends: u32,
    /// The least time between two sends of one report.
    pub min_delay: Duration,
    /// Up to this much is added at random, so that throttled senders do not resend in step.
    pub jitter: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            resends: 3,
            min_delay: Duration::from_secs(1),
            jitter: Duration::from_millis(500),
        }
    }
}

/// What became of one report.
enum Outcome {
    /// Accepted (202): Alexa has it.
    Accepted(Report),
    /// Dropped because no resend could ever succeed (logged). What Alexa was told does not
    /// change, so a reconciliation sends it again, under today's rules.
    Dropped,
    /// 413: send the halves instead.
    Split(Report, Report),
    /// Nothing more can be sent for this customer, and nothing needs retrying: they disabled
    /// the skill (grant deleted), or the gateway refuses them for good (logged).
    Stop,
    /// Not delivered now, but it may be later: the records must be retried.
    Failed(Report),
}

/// What became of a customer's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// Each accepted, or dropped because no resend could ever succeed.
    All,
    /// The gateway refuses the customer for now or for good (skill disabled, another stage):
    /// the rest was not sent, and resending the records cannot help.
    Stopped,
    /// Not all delivered: the earliest tag of what was not.
    Undelivered(Option<usize>),
}

/// Sends reports for one customer.
pub struct Sender<'a, S, O> {
    /// Where the customer's grant is kept (refreshed when LWA says it expired).
    pub store: &'a S,
    pub lwa: &'a Lwa,
    pub gateway: &'a Gateway,
    pub policy: &'a RetryPolicy,
    /// When the invocation must have answered: every request ends before it.
    pub deadline: Deadline,
    /// Told what is sent and what is accepted.
    pub observer: &'a O,
    /// Where a refreshed grant's expiry is reckoned from.
    pub clock: &'a Clock,
}

/// Time kept back from the deadline for answering Lambda, and for what an accepted report
/// leads to (recording it in the Alexa view).
const DEADLINE_MARGIN: Duration = Duration::from_millis(500);

impl<S: GrantStore, O: Observer> Sender<'_, S, O> {
    /// Sends `reports` in order; what became of them.
    pub async fn deliver(&self, mut grant: Grant, reports: Vec<Report>) -> Delivered {
        let mut queue: VecDeque<Report> = reports.into();
        while let Some(report) = queue.pop_front() {
            if let ReportKind::AddOrUpdate(endpoints) = &report.kind {
                self.observer.sending(&grant.user_id, endpoints).await;
            }
            match self.send(&mut grant, report).await {
                Outcome::Accepted(report) => self.observer.accepted(&grant.user_id, &report).await,
                Outcome::Dropped => {}
                Outcome::Split(a, b) => {
                    queue.push_front(b);
                    queue.push_front(a);
                }
                Outcome::Stop => return Delivered::Stopped,
                // Later reports are not sent: Lambda redelivers from the failed record anyway,
                // and a throttled or failing gateway is not helped by more requests.
                Outcome::Failed(report) => {
                    let later = queue.iter().map(|r| r.tag);
                    return Delivered::Undelivered(later.fold(report.tag, earliest));
                }
            }
        }
        Delivered::All
    }

    async fn send(&self, grant: &mut Grant, report: Report) -> Outcome {
        let mut resends = 0;
        let mut refreshed = false;
        loop {
            let Some(timeout) = self.request_timeout(Duration::ZERO) else {
                warn!(
                    endpoints = report.len(),
                    "no time left in this invocation; will be retried"
                );
                return Outcome::Failed(report);
            };
            let sent = self
                .gateway
                .send(
                    grant.region,
                    &grant.access_token,
                    report.body(&grant.access_token),
                    timeout,
                )
                .await;
            metrics::gateway_event(
                report.kind.event_name(),
                sent.as_ref()
                    .map_or_else(GatewayError::status, |()| Some(202)),
            );
            let error = match sent {
                Ok(()) => {
                    debug!(endpoints = report.len(), "report accepted");
                    return Outcome::Accepted(report);
                }
                Err(error) => error,
            };
            match error {
                GatewayError::InvalidAccessToken { .. } if !refreshed => {
                    refreshed = true;
                    info!("access token refused (401); refreshing once");
                    match self.refresh(grant).await {
                        Some(true) => continue,
                        Some(false) => return Outcome::Stop,
                        None => return Outcome::Failed(report),
                    }
                }
                // Refused again with a token LWA has just issued: a gateway fault or LWA lagging
                // behind itself, not a reason to lose the change. Lambda retries the records
                // (and after its retry limit, sends them to the dead-letter queue).
                GatewayError::InvalidAccessToken { .. } => {
                    warn!("fresh access token refused (401); will be retried");
                    return Outcome::Failed(report);
                }
                GatewayError::SkillDisabled { .. } => {
                    // The wrong region gives the same answer as a disabled skill: only LWA's
                    // invalid_grant proves the customer disabled it.
                    match self.refresh(grant).await {
                        Some(false) => {}
                        Some(true) => error!(
                            region = %grant.region,
                            %error,
                            "gateway says the skill is disabled, but the grant still refreshes: \
                             is the customer's event region right? Their changes are not sent"
                        ),
                        None => return Outcome::Failed(report),
                    }
                    return Outcome::Stop;
                }
                GatewayError::TooLarge { .. } => {
                    if report.len() < 2 {
                        error!(endpoint_ids = ?report.endpoint_ids(), %error, "a single endpoint is too large; not sent");
                        return Outcome::Dropped;
                    }
                    warn!("report too large (413); sending it in halves");
                    return match report.split() {
                        Some((a, b)) => Outcome::Split(a, b),
                        None => Outcome::Dropped,
                    };
                }
                e if e.is_retryable() => {
                    resends += 1;
                    let delay = self.policy.min_delay + self.policy.jitter.mul_f64(fastrand::f64());
                    if resends > self.policy.resends || self.request_timeout(delay).is_none() {
                        warn!(error = %Chain(&e), resends = resends - 1, "not delivered; will be retried");
                        return Outcome::Failed(report);
                    }
                    debug!(error = %Chain(&e), ?delay, "resending");
                    metrics::gateway_resend();
                    tokio::time::sleep(delay).await;
                }
                GatewayError::InvalidRequest { .. } => {
                    error!(%error, endpoint_ids = ?report.endpoint_ids(), "gateway rejected the report; not resent unchanged");
                    return Outcome::Dropped;
                }
                GatewayError::InsufficientPermission { .. } => {
                    error!(%error, "the skill may not send events: enable the \"Send Alexa Events\" permission");
                    return Outcome::Failed(report);
                }
                GatewayError::SkillNotFound { .. } => {
                    warn!(%error, "the grant belongs to another stage of the skill; the customer must re-enable it");
                    return Outcome::Stop;
                }
                e => {
                    error!(error = %Chain(&e), endpoint_ids = ?report.endpoint_ids(), "unexpected gateway answer; not resent");
                    return Outcome::Dropped;
                }
            }
        }
    }

    /// Refreshes the grant in place. `Some(true)`: refreshed; `Some(false)`: revoked (the
    /// customer disabled the skill); `None`: the refresh failed and may work later.
    async fn refresh(&self, grant: &mut Grant) -> Option<bool> {
        match grants::refresh(
            self.store,
            self.lwa,
            grant.clone(),
            self.clock,
            &self.deadline,
        )
        .await
        {
            Ok(Refreshed::Fresh(fresh)) => {
                *grant = fresh;
                Some(true)
            }
            Ok(Refreshed::Revoked) => Some(false),
            Err(e) => {
                error!(error = %Chain(&e), "refreshing the grant failed");
                None
            }
        }
    }

    /// The timeout of a request sent after `delay`: what the deadline leaves of
    /// [`REQUEST_TIMEOUT`]; `None` if too little.
    fn request_timeout(&self, delay: Duration) -> Option<Duration> {
        self.deadline
            .timeout_for(REQUEST_TIMEOUT, delay + DEADLINE_MARGIN)
            .ok()
    }
}
