//! Settling the commands devices were asked to confirm.
//!
//! A record whose device holds pending commands may answer some: the device reported what a
//! command asked for (an asynchronous `Alexa.Response`), reported a jammed lock (the response
//! tells the lock state as it is), or Alexa stopped waiting (dropped with a log line). Answered
//! and dropped commands are then removed from the item, so that later records do not answer
//! them again.

use tracing::{info, warn};

use super::changes::UserChanges;
use crate::device::pending::Settlement;
use crate::device::properties::reportable;
use crate::ids::{EndpointId, UserId};
use crate::proactive::reports::{AsyncResponse, Report, ReportKind};
use crate::store::{DeviceStore, StoreError, Swap};

/// What one customer's changes settle.
#[derive(Debug, Default)]
pub struct Settlements {
    /// Asynchronous responses, to be sent before any other report of the customer.
    pub responses: Vec<Report>,
    /// The commands to remove from each device item once the responses are delivered.
    pub settled: Vec<(EndpointId, Vec<String>)>,
}

/// Whether the customer's changes settle any pending command.
pub fn any_settled(user: &UserChanges) -> bool {
    user.endpoints.iter().any(|c| !c.settled.is_empty())
}

/// The pending commands the customer's changes settle, each judged against the image of the
/// record that settles it ([`super::changes::EndpointChange::settled`]).
pub async fn settlements<S: DeviceStore>(
    store: &S,
    user: &UserChanges,
    now_ms: i64,
) -> Result<Settlements, StoreError> {
    let mut out = Settlements::default();
    for change in &user.endpoints {
        if change.settled.is_empty() {
            continue;
        }
        // A redelivered batch holds commands settled (and answered) the first time round: only
        // those the item still holds are answered now.
        let Some(current) = store.device(&user.user_id, &change.endpoint_id).await? else {
            continue;
        };
        let mut ids = Vec::new();
        for found in &change.settled {
            let pending = &found.command;
            if !current
                .pending
                .iter()
                .any(|c| c.command_id == pending.command_id)
            {
                continue;
            }
            match found.settlement {
                Settlement::Confirmed | Settlement::Jammed => {
                    info!(endpoint_id = %change.endpoint_id, settlement = ?found.settlement, "the device answered a deferred command");
                    out.responses.push(Report {
                        kind: ReportKind::Response(Box::new(AsyncResponse {
                            endpoint_id: change.endpoint_id.clone(),
                            correlation_token: pending.correlation_token.clone(),
                            properties: reportable(&found.device, now_ms),
                        })),
                        tag: change.first_record(),
                    });
                }
                Settlement::Expired => info!(
                    endpoint_id = %change.endpoint_id,
                    "the device did not confirm a deferred command in time; dropped, nothing claimed"
                ),
                Settlement::Waiting => {}
            }
            ids.push(pending.command_id.clone());
        }
        if !ids.is_empty() {
            out.settled.push((change.endpoint_id.clone(), ids));
        }
    }
    Ok(out)
}

/// Removes settled commands from the device items, leaving any added meanwhile. Each list is
/// replaced on its version; another writer's change in between is read again, up to
/// `REMOVE_ATTEMPTS` times, and a list still not written is said so (its commands are
/// answered again by the device's next record, which Alexa ignores for a directive it has
/// its answer to).
pub async fn remove<S: DeviceStore>(
    store: &S,
    user_id: &UserId,
    settled: &[(EndpointId, Vec<String>)],
) -> Result<(), StoreError> {
    for (endpoint_id, ids) in settled {
        let mut written = false;
        for _ in 0..REMOVE_ATTEMPTS {
            let Some(device) = store.device(user_id, endpoint_id).await? else {
                written = true;
                break;
            };
            let remaining: Vec<_> = device
                .pending
                .iter()
                .filter(|p| !ids.contains(&p.command_id))
                .cloned()
                .collect();
            if remaining.len() == device.pending.len() {
                written = true;
                break;
            }
            match store
                .replace_pending(user_id, endpoint_id, device.pending_version, &remaining)
                .await?
            {
                Swap::Done | Swap::Missing => {
                    written = true;
                    break;
                }
                Swap::Conflict => {}
            }
        }
        if !written {
            warn!(
                %endpoint_id,
                attempts = REMOVE_ATTEMPTS,
                "settled commands not removed: the list kept changing"
            );
        }
    }
    Ok(())
}

/// How often a settled command's removal is tried against concurrent writers.
const REMOVE_ATTEMPTS: u32 = 10;
