//! `Alexa.Discovery` / `Discover`: every endpoint of the customer.

use tracing::{info, warn};

use super::{Services, in_time};
use crate::alexa::endpoint::Endpoint;
use crate::alexa::event::{self, DiscoverPayload, Message};
use crate::alexa::{Scope, validate};
use crate::deadline::Deadline;
use crate::device::{DeviceDefinition, mapping};
use crate::error::SkillError;
use crate::ids::EndpointId;
use crate::ids::UserId;
use crate::metrics;
use crate::store::{DeviceRead, DeviceStore, StoreError, TokenStore};

pub async fn discover<S: TokenStore + DeviceStore>(
    services: &Services<S>,
    scope: &Scope,
    deadline: &Deadline,
) -> Result<Message<DiscoverPayload>, SkillError> {
    let user_id = services.customer(&scope.token, deadline).await?;
    let store = &services.store;
    let mut found = in_time(deadline, read::<_, DeviceDefinition>(store, &user_id)).await?;
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

/// What discovery answers for one customer, and the devices it is made of.
#[derive(Debug)]
pub struct Discovered<T> {
    /// The devices of `endpoints`, in the same order.
    pub devices: Vec<T>,
    /// The first [`validate::MAX_ENDPOINTS`] endpoints Alexa accepts, in endpoint id order.
    pub endpoints: Vec<Endpoint>,
    /// Devices not discovered: invalid ones (each logged), and those past the limit.
    pub left_out: usize,
    /// The endpoint ids of items that cannot be decoded: not discovered, but not gone either.
    pub unreadable: Vec<EndpointId>,
    /// Where the items past the endpoints sent start, if there may be any (not read).
    pub more_after: Option<EndpointId>,
}

/// Reads what discovery answers for `user_id`: page by page, in endpoint id order, stopping
/// once [`validate::MAX_ENDPOINTS`] valid endpoints are found (a device that breaks one of
/// Alexa's limits is logged and left out). The devices past them are not read: an account of
/// 100,000 items costs 300 devices of memory (Discover counts the rest, for its log line).
pub async fn read<S: DeviceStore, T: DeviceRead>(
    store: &S,
    user_id: &UserId,
) -> Result<Discovered<T>, StoreError> {
    let mut found = Discovered {
        devices: Vec::new(),
        endpoints: Vec::new(),
        left_out: 0,
        unreadable: Vec::new(),
        more_after: None,
    };
    let mut after: Option<EndpointId> = None;
    loop {
        // One more than still wanted: an account of exactly what is wanted then ends on this
        // page, with nothing left to count.
        let want = validate::MAX_ENDPOINTS - found.endpoints.len() + 1;
        let page = store
            .devices_page::<T>(user_id, after.as_ref(), want)
            .await?;
        found.left_out += page.unreadable.len();
        found.unreadable.extend(page.unreadable);
        // The page's devices are kept where they are (most accounts are one page): no second
        // vector of 300 devices, no copies.
        let mut devices = page.devices;
        let room = validate::MAX_ENDPOINTS - found.endpoints.len();
        found.endpoints.reserve(devices.len().min(room));
        devices.retain(|device| {
            if found.endpoints.len() >= validate::MAX_ENDPOINTS {
                found.left_out += 1;
                return false;
            }
            match mapping::checked_endpoint(device.definition()) {
                Some(endpoint) => {
                    found.endpoints.push(endpoint);
                    true
                }
                None => {
                    found.left_out += 1;
                    false
                }
            }
        });
        if found.devices.is_empty() {
            found.devices = devices;
        } else {
            found.devices.append(&mut devices);
        }
        let Some(next) = page.next else {
            break;
        };
        if found.endpoints.len() < validate::MAX_ENDPOINTS {
            after = Some(next);
            continue;
        }
        found.more_after = Some(next);
        break;
    }
    Ok(found)
}
