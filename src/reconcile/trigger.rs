//! The reconcile Lambda's core: one function for every trigger, told apart by the event's
//! shape.
//!
//! - The grants table's stream (keys only): a grant written with a reconciliation request,
//!   which AcceptGrant makes (the customer gets everything) and a failing refresh makes (the
//!   next successful refresh, a write, triggers it: the grant recovered).
//! - The stream's dead-letter queue (SQS): the customers of a batch the stream Lambda gave up on.
//! - The schedule (EventBridge): every customer, in pages.
//! - An operator: `{"userIds": ["…"]}`.

use serde::Serialize;
use serde_json::{Value, json};
use tokio::time::Instant;
use tracing::{error, info, warn};

use super::dead_letter::{DeadLetterError, DeadLetters, FailureRecord};
use super::run::{Reconciler, Summary};
use crate::error::Chain;
use crate::ids::UserId;
use crate::metrics;
use crate::store::Store;

/// What started the reconcile Lambda.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// Customers whose grant was written (grants table stream records, keys only).
    Grants(Vec<UserId>),
    /// Failure records from the dead-letter queue: (SQS message id, body).
    DeadLetters(Vec<(String, String)>),
    Schedule,
    Customers(Vec<UserId>),
}

#[derive(Debug, thiserror::Error)]
#[error("not a reconcile trigger: {0}")]
pub struct UnknownTrigger(&'static str);

impl Trigger {
    pub fn parse(event: &Value) -> Result<Self, UnknownTrigger> {
        if let Some(records) = event.get("Records").and_then(Value::as_array) {
            let source = records
                .first()
                .and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")))
                .and_then(Value::as_str);
            return match source {
                Some("aws:sqs") => Ok(Self::DeadLetters(
                    records
                        .iter()
                        .map(|r| {
                            let field = |name| r[name].as_str().unwrap_or_default().to_owned();
                            (field("messageId"), field("body"))
                        })
                        .collect(),
                )),
                Some("aws:dynamodb") => Ok(Self::Grants(
                    records
                        .iter()
                        // A removed grant (the customer disabled the skill) asks for nothing.
                        .filter(|r| r["eventName"] != "REMOVE")
                        .filter_map(|r| r["dynamodb"]["Keys"]["userId"]["S"].as_str())
                        .map(UserId::from)
                        .collect(),
                )),
                _ => Err(UnknownTrigger("records of an unknown source")),
            };
        }
        if event.get("detail-type").and_then(Value::as_str) == Some("Scheduled Event") {
            return Ok(Self::Schedule);
        }
        if let Some(users) = event.get("userIds").and_then(Value::as_array) {
            return Ok(Self::Customers(
                users
                    .iter()
                    .filter_map(Value::as_str)
                    .map(UserId::from)
                    .collect(),
            ));
        }
        Err(UnknownTrigger(
            "expected stream or SQS records, a scheduled event, or {\"userIds\": […]}",
        ))
    }
}

/// The reconcile Lambda, holding what is built once at cold start.
#[derive(Debug)]
pub struct ReconcileFunction<S> {
    reconciler: Reconciler<S>,
    dead_letters: DeadLetters,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ItemFailure {
    item_identifier: String,
}

impl<S: Store> ReconcileFunction<S> {
    pub fn new(reconciler: Reconciler<S>, dead_letters: DeadLetters) -> Self {
        Self {
            reconciler,
            dead_letters,
        }
    }

    pub fn reconciler(&self) -> &Reconciler<S> {
        &self.reconciler
    }

    /// Handles one invocation; the answer is what Lambda expects of the trigger (batch item
    /// failures for SQS, none for the grants stream) or the run's summary.
    pub async fn handle(&self, trigger: Trigger, deadline: Instant) -> Value {
        match trigger {
            Trigger::Grants(users) => {
                let requested = self.requested(users).await;
                let summary = self.reconciler.customers(requested, deadline).await;
                log(&summary, "grants");
                // Failures stay requested on the grants: retrying the stream would only block
                // its shard. The grant's recovery or the schedule serves them.
                json!({"batchItemFailures": []})
            }
            Trigger::DeadLetters(messages) => {
                let mut failures = Vec::new();
                for (message_id, body) in messages {
                    if !self.dead_letter(&body, deadline).await {
                        failures.push(ItemFailure {
                            item_identifier: message_id,
                        });
                    }
                }
                json!({ "batchItemFailures": failures })
            }
            Trigger::Schedule => match super::pass::scheduled(&self.reconciler, deadline).await {
                Ok(summary) => {
                    log(&summary, "schedule");
                    summary_json(&summary)
                }
                Err(e) => {
                    error!(error = %Chain(&e), "scheduled reconciliation could not read the customers");
                    json!({"error": "the customers could not be read"})
                }
            },
            Trigger::Customers(users) => {
                let summary = self.reconciler.customers(users, deadline).await;
                log(&summary, "operator");
                summary_json(&summary)
            }
        }
    }

    /// The customers among `users` whose grant asks for a reconciliation (most grant writes
    /// are refreshes, which ask for nothing).
    async fn requested(&self, users: Vec<UserId>) -> Vec<UserId> {
        let mut requested = Vec::new();
        for user in users {
            match self.reconciler.store().grant(&user).await {
                Ok(Some(grant)) if grant.reconcile_after.is_some() => requested.push(user),
                Ok(_) => {}
                // The request is still on the grant: the schedule serves it.
                Err(e) => warn!(error = %Chain(&e), "cannot read a grant"),
            }
        }
        requested
    }

    /// Handles one failure record; `false` if it must be delivered again.
    async fn dead_letter(&self, body: &str, deadline: Instant) -> bool {
        let record: FailureRecord = match serde_json::from_str(body) {
            Ok(record) => record,
            Err(e) => {
                // Not Lambda's failure record: nothing here can ever read it.
                error!(error = %e, "dead-letter message is not a stream failure record; dropped");
                metrics::dead_letter_batch("failed");
                return true;
            }
        };
        let users = match self.dead_letters.customers(&record.batch).await {
            Ok(users) => users,
            Err(DeadLetterError::Expired(reason)) => {
                warn!(
                    shard = %record.batch.shard_id,
                    %reason,
                    "dead-lettered batch cannot be read back (past the stream's retention?); \
                     the scheduled reconciliation repairs its customers"
                );
                metrics::dead_letter_batch("expired");
                return true;
            }
            Err(e) => {
                warn!(error = %Chain(&e), "cannot read the dead-lettered batch; will be retried");
                metrics::dead_letter_batch("failed");
                return false;
            }
        };
        let summary = self
            .reconciler
            .customers(users.into_iter().collect(), deadline)
            .await;
        log(&summary, "dead letter");
        // Customers that failed have a reconciliation request on their grant; those not
        // reached (time ran out) need this message again.
        if summary.not_reached.is_empty() {
            metrics::dead_letter_batch("recovered");
            true
        } else {
            false
        }
    }
}

fn log(summary: &Summary, trigger: &str) {
    info!(
        trigger,
        customers = summary.customers,
        in_sync = summary.in_sync,
        without_grant = summary.without_grant,
        upserts = summary.upserts,
        states = summary.states,
        deletes = summary.deletes,
        failed = summary.failed.len(),
        not_reached = summary.not_reached.len(),
        "reconciliation done"
    );
}

/// The answer to a scheduled or operator run: counts, and which customers need another look
/// (to the invoker only, never logged).
fn summary_json(summary: &Summary) -> Value {
    json!({
        "customers": summary.customers,
        "inSync": summary.in_sync,
        "withoutGrant": summary.without_grant,
        "upserts": summary.upserts,
        "states": summary.states,
        "deletes": summary.deletes,
        "failed": summary.failed,
        "notReached": summary.not_reached,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_triggers_apart() {
        let sqs = json!({"Records": [{"messageId": "m1", "body": "{}", "eventSource": "aws:sqs"}]});
        assert_eq!(
            Trigger::parse(&sqs).unwrap(),
            Trigger::DeadLetters(vec![("m1".into(), "{}".into())])
        );
        let grants = json!({"Records": [
            {"eventName": "INSERT", "eventSource": "aws:dynamodb", "dynamodb": {"Keys": {"userId": {"S": "u1"}}}},
            {"eventName": "REMOVE", "eventSource": "aws:dynamodb", "dynamodb": {"Keys": {"userId": {"S": "u2"}}}},
        ]});
        assert_eq!(
            Trigger::parse(&grants).unwrap(),
            Trigger::Grants(vec!["u1".into()])
        );
        let schedule =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert_eq!(Trigger::parse(&schedule).unwrap(), Trigger::Schedule);
        let operator = json!({"userIds": ["a", "b"]});
        assert_eq!(
            Trigger::parse(&operator).unwrap(),
            Trigger::Customers(vec!["a".into(), "b".into()])
        );
        assert!(Trigger::parse(&json!({"hello": 1})).is_err());
        assert!(Trigger::parse(&json!({"Records": [{"eventSource": "aws:s3"}]})).is_err());
    }
}
