//! `Alexa.Discovery` / `Discover`: every endpoint of the customer.

use tracing::{info, warn};

use super::{Services, in_time};
use crate::alexa::event::{self, DiscoverPayload, Message};
use crate::alexa::{Scope, validate};
use crate::deadline::Deadline;
use crate::device::DeviceDefinition;
use crate::endpoints;
use crate::error::SkillError;
use crate::metrics;
use crate::store::{DeviceStore, TokenStore};

pub async fn discover<S: TokenStore + DeviceStore>(
    services: &Services<S>,
    scope: &Scope,
    deadline: &Deadline,
) -> Result<Message<DiscoverPayload>, SkillError> {
    let user_id = services.customer(&scope.token, deadline).await?;
    let store = &services.store;
    let mut found = in_time(
        deadline,
        endpoints::read::<_, DeviceDefinition>(store, &user_id),
    )
    .await?;
    if let Some(after) = &found.more_after {
        // Only for the log line and the metric: best effort, never the answer's undoing.
        match deadline.bound(store.count_devices(&user_id, after)).await {
            Ok(Ok(rest)) => {
                found.left_out += rest.items;
                if rest.items > 0 {
                    warn!(
                        devices = found.endpoints.len() + found.left_out,
                        at_least = rest.more,
                        sent = validate::MAX_ENDPOINTS,
                        "account has more devices than Alexa accepts; the rest are not discovered"
                    );
                }
            }
            Ok(Err(e)) => {
                warn!(error = %crate::error::Chain(&e), "cannot count the devices past the 300 sent")
            }
            Err(_) => warn!("no time to count the devices past the 300 sent"),
        }
    }
    metrics::discovery(found.endpoints.len(), found.left_out);
    info!(
        endpoints = found.endpoints.len(),
        left_out = found.left_out,
        "discovery answered"
    );
    Ok(event::discover_response(found.endpoints))
}
