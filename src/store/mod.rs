//! Storage: the port, one trait per table ([`TokenStore`], [`DeviceStore`], [`GrantStore`],
//! [`ViewStore`]; [`Store`] is the four), and its adapters.
//!
//! - [`dynamo`]: the DynamoDB tables (the product). An in-memory adapter for tests, fuzzing
//!   and benchmarks is in the local crate (`alexa_smart_home_local::memory`), never deployed.
//! - [`seed`]: example accounts from a JSON file.
//! - [`tables`]: creating the tables, for local runs and tests (in AWS, `template.yaml` does it).

pub mod dynamo;
pub mod seed;
pub mod tables;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::alexa::event::CauseType;
use crate::alexa::{BearerToken, Secret};
use crate::device::pending::PendingCommand;
use crate::device::{Connectivity, Device, DeviceDefinition, DeviceState, Field};
use crate::gateway::GatewayRegion;
use crate::ids::{EndpointId, UserId};

/// What a read of many devices returns of each item: the whole [`Device`], or only its
/// [`DeviceDefinition`] (discovery: a 300-device Query answer smaller to send and cheaper to
/// parse).
pub trait DeviceRead: DeserializeOwned + Send + Sync + Sized + 'static {
    /// The attributes read: `None` for the whole item.
    fn projection() -> Option<&'static [&'static str]>;
    /// What it is of a whole device (an in-memory store holds whole devices).
    fn of(device: &Device) -> Self;
    fn definition(&self) -> &DeviceDefinition;
}

impl DeviceRead for Device {
    fn projection() -> Option<&'static [&'static str]> {
        None
    }

    fn of(device: &Device) -> Self {
        device.clone()
    }

    fn definition(&self) -> &DeviceDefinition {
        &self.definition
    }
}

impl DeviceRead for DeviceDefinition {
    fn projection() -> Option<&'static [&'static str]> {
        Some(DeviceDefinition::attributes())
    }

    fn of(device: &Device) -> Self {
        device.definition.clone()
    }

    fn definition(&self) -> &DeviceDefinition {
        self
    }
}

/// Everything the Lambdas keep: one trait per table, so that each part of the product names
/// the tables it uses (a handler that only reads devices cannot write a grant). Implemented
/// for whatever implements the four.
pub trait Store: TokenStore + DeviceStore + GrantStore + ViewStore {}

impl<T: TokenStore + DeviceStore + GrantStore + ViewStore> Store for T {}

/// The account-linking tokens the device cloud issued (the tokens table).
pub trait TokenStore: Send + Sync {
    /// The account-linking token with this hash, if the device cloud issued it.
    fn token(
        &self,
        hash: &TokenHash,
    ) -> impl Future<Output = Result<Option<TokenRecord>, StoreError>> + Send;
}

/// The customers' devices, their state and pending commands (the devices table, written by
/// the device cloud too).
pub trait DeviceStore: Send + Sync {
    /// A page of the customer's devices in endpoint id order, after the endpoint id `after`:
    /// at most `limit` items are read (fewer when the store's pages are smaller). Items that
    /// cannot be decoded are logged and left out: one broken item must not hide a whole
    /// account.
    fn devices_page<T: DeviceRead>(
        &self,
        user_id: &UserId,
        after: Option<&EndpointId>,
        limit: usize,
    ) -> impl Future<Output = Result<DevicePage<T>, StoreError>> + Send;

    /// How many device items the customer has after the endpoint id `after`, without reading
    /// them: at most [`COUNT_PAGES`] pages of them are counted.
    fn count_devices(
        &self,
        user_id: &UserId,
        after: &EndpointId,
    ) -> impl Future<Output = Result<Counted, StoreError>> + Send;

    /// Every readable device of the customer, page by page: for tools. The Lambdas read only
    /// what they can use ([`crate::endpoints::read`]).
    fn devices<T: DeviceRead>(
        &self,
        user_id: &UserId,
    ) -> impl Future<Output = Result<Vec<T>, StoreError>> + Send {
        async move {
            let mut devices = Vec::new();
            let mut after: Option<EndpointId> = None;
            loop {
                let page = self
                    .devices_page::<T>(user_id, after.as_ref(), usize::MAX)
                    .await?;
                devices.extend(page.devices);
                match page.next {
                    Some(next) => after = Some(next),
                    None => return Ok(devices),
                }
            }
        }
    }

    /// One device of the customer (`None`: no such device in their account).
    fn device(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> impl Future<Output = Result<Option<Device>, StoreError>> + Send;

    /// Writes a change of a device's state with one conditional update.
    fn update_state(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        write: &StateWrite,
    ) -> impl Future<Output = Result<StateOutcome, StoreError>> + Send;

    /// Replaces the device's pending commands with `new` only if they are still those of
    /// `version` (the [`Device::pending_version`] read), and counts the version up.
    fn replace_pending(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        version: u64,
        new: &[PendingCommand],
    ) -> impl Future<Output = Result<Swap, StoreError>> + Send;

    /// Replaces the device's record of PINs tried ([`Device::pin_attempts`]) with `new` only if
    /// it is still `expected`: each attempt is recorded once, however many arrive at once.
    fn replace_pin_attempts(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        expected: &[i64],
        new: &[i64],
    ) -> impl Future<Output = Result<Swap, StoreError>> + Send;

    /// The customer and endpoint of the device whose IoT thing this is (the table's
    /// `thingName` index).
    fn device_for_thing(
        &self,
        thing_name: &str,
    ) -> impl Future<Output = Result<Option<(UserId, EndpointId)>, StoreError>> + Send;
}

/// Login with Amazon grants, and the reconciliation requests kept with them (the grants
/// table).
pub trait GrantStore: Send + Sync {
    /// The customer's Login with Amazon grant, if they enabled the skill with events.
    fn grant(
        &self,
        user_id: &UserId,
    ) -> impl Future<Output = Result<Option<Grant>, StoreError>> + Send;

    /// Stores the grant of an AcceptGrant, replacing any earlier one, with the next version.
    fn put_grant(&self, grant: NewGrant) -> impl Future<Output = Result<Grant, StoreError>> + Send;

    /// Replaces the stored grant with `grant` (whose version is one more) only if the stored
    /// one is still at `grant.version - 1`. `Ok(false)`: another writer got there first.
    fn replace_grant(&self, grant: &Grant)
    -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the grant only if it is still at `version`. `Ok(false)`: it changed or is gone.
    fn delete_grant(
        &self,
        user_id: &UserId,
        version: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Asks for the customer's reconciliation, stamped `at_ms`, unless it is asked for already
    /// (a request that is pending keeps its time, so that a failing reconciliation does not
    /// write, and trigger itself, again). `Ok(false)`: no grant, or already asked.
    fn request_reconciliation(
        &self,
        user_id: &UserId,
        at_ms: i64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Clears the customer's reconciliation request, only if it is still the one stamped
    /// `at_ms` (a newer request stays).
    fn clear_reconciliation(
        &self,
        user_id: &UserId,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A page of the customers of `segment` who have a grant, in no particular order, from
    /// `after` (the cursor a previous page of the segment returned). The cursor is `None`
    /// after the segment's last page. The segments of one count hold every customer once.
    fn customers(
        &self,
        segment: Segment,
        after: Option<&str>,
        limit: usize,
    ) -> impl Future<Output = Result<(Vec<UserId>, Option<String>), StoreError>> + Send;
}

/// One of the parallel Scan segments a pass over the grants table is split into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Segment {
    pub index: u32,
    pub of: u32,
}

impl Segment {
    /// The whole table, as one segment.
    pub const ALL: Self = Self { index: 0, of: 1 };
}

/// A scheduled reconciliation pass, as the reconcile invocations share it (an item of the
/// Alexa view table's reconciler partition).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pass {
    /// Passes are numbered from 1; a segment's progress belongs to one of them.
    pub number: u64,
    pub started_at: i64,
    /// How many segments this pass has (the configuration at its start).
    pub segments: u32,
    /// Bumped by every write, which expects the one before: see [`ViewStore::replace_pass`].
    pub version: u64,
}

/// How far one segment of a pass has got, and who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentProgress {
    pub index: u32,
    /// The pass this progress belongs to; progress of an earlier pass counts as not started.
    pub pass: u64,
    /// Where the segment's next page starts; `None` before its first page.
    pub cursor: Option<String>,
    pub done: bool,
    /// Unix ms until which an invocation holds the segment (0: nobody).
    pub lease_until: i64,
    /// The invocation holding (or last holding) it, for the log.
    pub owner: String,
    pub version: u64,
}

/// What Alexa was told and accepted, and the reconciler's markers (the Alexa view table).
pub trait ViewStore: Send + Sync {
    /// What Alexa accepted last of the customer's endpoints: endpoint id → [`Told`].
    fn told(
        &self,
        user_id: &UserId,
    ) -> impl Future<Output = Result<BTreeMap<EndpointId, Told>, StoreError>> + Send;

    /// Records definitions the gateway has just accepted, at `at_ms`. A state recorded for an
    /// endpoint stays; one without gets the definition's `state`, if given.
    fn record_definitions(
        &self,
        user_id: &UserId,
        definitions: &[Definition],
        at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records the state the gateway has just accepted for an endpoint (a digest of every
    /// property it was told), at `at_ms`.
    fn record_state(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        digest: &str,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records that the gateway accepted a doorbell's press of `at_ms`, unless a later one is
    /// recorded already.
    fn record_press(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        at_ms: i64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Forgets endpoints the gateway has just accepted a DeleteReport for.
    fn forget(
        &self,
        user_id: &UserId,
        endpoint_ids: &[EndpointId],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The scheduled reconciliation's pass in progress (or last finished), and its segments'
    /// progress, read consistently.
    fn pass_progress(
        &self,
    ) -> impl Future<Output = Result<(Option<Pass>, Vec<SegmentProgress>), StoreError>> + Send;

    /// Writes `pass` only if the stored one is still at `pass.version - 1` (absent for 1):
    /// `false` when another invocation wrote first.
    fn replace_pass(&self, pass: &Pass) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Writes `progress` only if the stored one is still at `progress.version - 1` (absent
    /// for 1): `false` when another invocation wrote first, e.g. took over an expired lease.
    fn replace_segment(
        &self,
        progress: &SegmentProgress,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// One page of a customer's devices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DevicePage<T> {
    pub devices: Vec<T>,
    /// The endpoint ids of items that are there but cannot be decoded (each logged): the
    /// account still has them, so nothing may tell Alexa they are gone.
    pub unreadable: Vec<EndpointId>,
    /// The endpoint id the next page starts after; `None` after the last page.
    pub next: Option<EndpointId>,
}

/// The most pages (each up to 1 MB of items) [`DeviceStore::count_devices`] reads: the count is for
/// a log line and a metric, and an account bigger than that is told as "at least".
pub const COUNT_PAGES: usize = 4;

/// What [`DeviceStore::count_devices`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub items: usize,
    /// Whether there may be more than `items` (counting stopped after [`COUNT_PAGES`]).
    pub more: bool,
}

/// What Alexa was told of an endpoint's definition, as the Alexa view records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known {
    /// Sent in an AddOrUpdateReport whose 202 has not come (or was lost): Alexa may have it or
    /// not, and reconciliation sends it again.
    Unconfirmed,
    /// Accepted by the gateway: the definition's digest (`reconcile::view::digest`).
    Accepted(String),
}

impl Known {
    /// The view table's `digest` attribute: the digest, or `unconfirmed`, which no digest is.
    pub fn attribute(&self) -> &str {
        match self {
            Self::Unconfirmed => "unconfirmed",
            Self::Accepted(digest) => digest,
        }
    }

    pub fn from_attribute(value: String) -> Self {
        if value == Self::Unconfirmed.attribute() {
            Self::Unconfirmed
        } else {
            Self::Accepted(value)
        }
    }

    pub fn is_accepted(&self) -> bool {
        matches!(self, Self::Accepted(_))
    }
}

/// An endpoint's definition as sent to Alexa, for the Alexa view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub endpoint_id: EndpointId,
    pub known: Known,
    /// `reconcile::view::state_digest` of the device's state when it was sent: what Alexa
    /// learns by asking ReportState about a new endpoint.
    pub state: Option<String>,
}

/// What the gateway accepted of one endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Told {
    /// The definition told last (`None`: only a state was, e.g. a ChangeReport that crossed a
    /// DeleteReport).
    pub definition: Option<Known>,
    /// Unix milliseconds when that definition was recorded.
    pub told_at: i64,
    /// `reconcile::view::state_digest` of the state accepted last (`None`: Alexa was never
    /// told a state by an event, and asks with ReportState).
    pub state_digest: Option<String>,
    /// Unix milliseconds when `state_digest` was recorded (0: before this was recorded).
    pub state_at: i64,
    /// A doorbell's last press the gateway accepted (its time, Unix ms; 0: none): a press at or
    /// before it has rung.
    pub pressed_at: i64,
}

/// A customer's Login with Amazon tokens: what the skill needs to send events on their behalf.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Grant {
    pub user_id: UserId,
    pub access_token: Secret,
    pub refresh_token: Secret,
    /// Unix seconds when the access token expires.
    pub expires_at: i64,
    /// The event gateway of the customer's region.
    pub region: GatewayRegion,
    /// Incremented by every write of its tokens, so that concurrent refreshes cannot overwrite
    /// a newer grant.
    pub version: u64,
    /// Unix milliseconds of the AcceptGrant that made it. What Alexa was told before then is
    /// unknown (a customer who disabled the skill lost their endpoints at Alexa), so the first
    /// reconciliation sends everything.
    #[serde(default)]
    pub granted_at: i64,
    /// Unix milliseconds since when a reconciliation of the customer is asked for (on
    /// AcceptGrant, and while their grant fails); absent when none is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reconcile_after: Option<i64>,
}

impl std::fmt::Debug for Grant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Grant")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .field("region", &self.region)
            .field("version", &self.version)
            .field("granted_at", &self.granted_at)
            .field("reconcile_after", &self.reconcile_after)
            .finish_non_exhaustive()
    }
}

/// A change of a device's state: new values, when and by what they were set.
#[derive(Debug, Clone)]
pub struct StateWrite {
    /// The new values; fields left `None` are not touched.
    pub patch: DeviceState,
    /// A new connectivity, if it changes.
    pub connectivity: Option<Connectivity>,
    /// When set, the write happens only if every patched field still holds the value it has
    /// here (absent included): the compare-and-set that makes adjustments atomic.
    pub expected: Option<DeviceState>,
    /// Recorded as the device's `changedBy`: the cause of the ChangeReport this change makes.
    pub cause: CauseType,
    /// Recorded in `sampledAt` for each field written, Unix milliseconds.
    pub at_ms: i64,
    /// IoT: the shadow version of a reported state. Written only if newer than the device's
    /// `shadowVersion` (else [`StateOutcome::Conflict`]): shadow documents can arrive late or
    /// twice.
    pub shadow_version: Option<u64>,
    /// When set, the write happens only if the device has not reported since (else
    /// [`StateOutcome::Conflict`]): what a device cloud said of a command it took is recorded
    /// unless the device's own report, newer, is there already.
    pub unless_reported: Option<Since>,
    /// A directive's answer tells Alexa the state this write makes: recorded as the device's
    /// `answeredAt` (`at_ms`), so that reconciliation knows Alexa heard a state that no event
    /// it recorded carried.
    pub answered: bool,
}

/// Since when a device's report overtakes a write ([`StateWrite::unless_reported`]). Neither
/// compares clocks: a device cloud's clock may be off from the skill's.
#[derive(Debug, Clone, PartialEq)]
pub enum Since {
    /// The device as it was read before the command was sent: the write happens only if each
    /// patched field still has the value and the sample time it had then (anyone's write of
    /// the field since, the device's report above all, changes one or the other).
    Read {
        state: Box<DeviceState>,
        sampled_at: BTreeMap<Field, i64>,
    },
    /// IoT: a shadow version above this one (the version the command's desired state made).
    ShadowVersion(u64),
}

impl StateWrite {
    /// What the device (or its cloud) reports: `patch`, sampled `at_ms`, made by `cause`.
    pub fn report(patch: DeviceState, cause: CauseType, at_ms: i64) -> Self {
        Self {
            patch,
            connectivity: None,
            expected: None,
            cause,
            at_ms,
            shadow_version: None,
            unless_reported: None,
            answered: false,
        }
    }
}

/// What became of a [`StateWrite`].
#[derive(Debug, Clone, PartialEq)]
pub enum StateOutcome {
    /// Written; the device as it is now.
    Written(Box<Device>),
    /// `expected` no longer held: someone else changed the state first.
    Conflict,
    /// The device does not exist (any more).
    Missing,
}

/// What became of a compare-and-set write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    Done,
    /// The value was no longer the one expected.
    Conflict,
    /// The device does not exist (any more).
    Missing,
}

/// The tokens of a fresh AcceptGrant, before they are stored.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub user_id: UserId,
    pub access_token: Secret,
    pub refresh_token: Secret,
    pub expires_at: i64,
    pub region: GatewayRegion,
    /// When the customer gave it, in ms: their first reconciliation is asked for then.
    pub granted_at: i64,
}

/// The SHA-256 of an account-linking token, hex encoded: the key of the tokens table. Raw
/// tokens are never stored, so a leaked table does not leak working credentials.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn of(token: &BearerToken) -> Self {
        Self(hex::encode(Sha256::digest(token.expose().as_bytes())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An issued account-linking token, as the tokens table holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    pub user_id: UserId,
    /// Unix seconds after which the token is refused; absent means it does not expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
}

impl TokenRecord {
    pub fn is_expired(&self, now: SystemTime) -> bool {
        self.expires_at.is_some_and(|at| unix_seconds(now) >= at)
    }
}

pub fn unix_seconds(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A storage failure. The cause is kept for the logs; Alexa only ever hears `INTERNAL_ERROR`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("DynamoDB {operation} on {table} failed")]
    Dynamo {
        operation: &'static str,
        table: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("an item of {table} could not be decoded")]
    Decode {
        table: String,
        #[source]
        source: serde_dynamo::Error,
    },
    #[error("an item could not be encoded")]
    Encode(#[source] serde_dynamo::Error),
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_hash_is_sha256_hex() {
        let h = TokenHash::of(&BearerToken::new("abc"));
        assert_eq!(
            h.as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn expiry() {
        let r = TokenRecord {
            user_id: "u".into(),
            expires_at: Some(100),
        };
        assert!(!r.is_expired(UNIX_EPOCH + std::time::Duration::from_secs(99)));
        assert!(r.is_expired(UNIX_EPOCH + std::time::Duration::from_secs(100)));
        let never = TokenRecord {
            user_id: "u".into(),
            expires_at: None,
        };
        assert!(!never.is_expired(SystemTime::now()));
    }
}
