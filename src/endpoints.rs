//! The endpoints Alexa may know of a customer: what Discover answers, and what reconciliation
//! compares the Alexa view with. A module of its own, below both, so that reconciliation does
//! not import a handler.

use crate::alexa::endpoint::Endpoint;
use crate::alexa::validate;
use crate::device::mapping;
use crate::ids::{EndpointId, UserId};
use crate::store::{DeviceRead, DeviceStore, StoreError};

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
