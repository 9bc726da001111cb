//! `Alexa.Discovery` / `Discover`: every endpoint of the customer.

use tracing::{info, warn};

use super::auth;
use crate::alexa::endpoint::Endpoint;
use crate::alexa::event::{self, DiscoverPayload, Message};
use crate::alexa::{Scope, validate};
use crate::device::{Device, mapping};
use crate::error::SkillError;
use crate::metrics;
use crate::store::{Fields, Store};

pub async fn discover<S: Store>(
    store: &S,
    scope: &Scope,
) -> Result<Message<DiscoverPayload>, SkillError> {
    let user_id = auth::user_for(store, &scope.token).await?;
    let devices = store.devices(&user_id, Fields::Definition).await?;
    let endpoints = discoverable(&devices);
    metrics::discovery(
        endpoints.len(),
        devices.len().saturating_sub(endpoints.len()),
    );
    info!(
        devices = devices.len(),
        endpoints = endpoints.len(),
        "discovery answered"
    );
    Ok(event::discover_response(endpoints))
}

/// The endpoints Alexa can accept for these devices, in the order given (the table's
/// endpoint id order, so the same 300 are chosen every time when there are more).
/// A device that breaks one of Alexa's limits is logged with the reason and left out.
pub fn discoverable(devices: &[Device]) -> Vec<Endpoint> {
    let mut endpoints: Vec<Endpoint> = devices
        .iter()
        .filter_map(mapping::checked_endpoint)
        .collect();
    if endpoints.len() > validate::MAX_ENDPOINTS {
        warn!(
            endpoints = endpoints.len(),
            sent = validate::MAX_ENDPOINTS,
            "account has more valid endpoints than Alexa accepts; the rest are not discovered"
        );
        endpoints.truncate(validate::MAX_ENDPOINTS);
    }
    endpoints
}
