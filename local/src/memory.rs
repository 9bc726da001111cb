//! An in-memory [`Store`](alexa_smart_home::store::Store), for tests, fuzzing and benchmarks
//! of handler logic: it re-implements DynamoDB's conditional writes, so it lives here, with
//! the other stand-ins, and not in what is deployed. The DynamoDB adapter itself is tested
//! against real DynamoDB-compatible servers.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::device::pending::PendingCommand;
use alexa_smart_home::device::{Device, Field};
use alexa_smart_home::ids::{EndpointId, UserId};
use alexa_smart_home::store::{
    Counted, Definition, DevicePage, DeviceRead, DeviceStore, Grant, GrantStore, NewGrant, Pass,
    Segment, SegmentProgress, Since, StateOutcome, StateWrite, StoreError, Swap, TokenHash,
    TokenRecord, TokenStore, Told, ViewStore,
};

#[derive(Debug, Default)]
pub struct MemoryStore {
    tokens: RwLock<HashMap<TokenHash, TokenRecord>>,
    /// Keyed like the table: (user id, endpoint id), so iteration order is the Query order.
    devices: RwLock<BTreeMap<(UserId, EndpointId), Device>>,
    grants: RwLock<HashMap<UserId, Grant>>,
    told: RwLock<BTreeMap<(UserId, EndpointId), Told>>,
    /// The scheduled reconciliation's pass and its segments' progress by index.
    passes: RwLock<(
        Option<Pass>,
        std::collections::BTreeMap<u32, SegmentProgress>,
    )>,
    /// When set, every call fails, as an unreachable DynamoDB would.
    failing: RwLock<bool>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_token(&self, token: &BearerToken, record: TokenRecord) {
        write(&self.tokens).insert(TokenHash::of(token), record);
    }

    pub fn put_device(&self, device: Device) {
        let key = (
            device.definition.user_id.clone(),
            device.definition.endpoint_id.clone(),
        );
        write(&self.devices).insert(key, device);
    }

    pub fn set_failing(&self, failing: bool) {
        *write(&self.failing) = failing;
    }

    fn check(&self) -> Result<(), StoreError> {
        if *read(&self.failing) {
            Err(StoreError::Unavailable("memory store set to fail".into()))
        } else {
            Ok(())
        }
    }
}

// A poisoned lock only means another test thread panicked; the data is still usable.
fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

impl TokenStore for MemoryStore {
    async fn token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.check()?;
        Ok(read(&self.tokens).get(hash).cloned())
    }
}

impl DeviceStore for MemoryStore {
    async fn devices_page<T: DeviceRead>(
        &self,
        user_id: &UserId,
        after: Option<&EndpointId>,
        limit: usize,
    ) -> Result<DevicePage<T>, StoreError> {
        self.check()?;
        let devices = read(&self.devices);
        let mut page: Vec<T> = devices
            .iter()
            .filter(|((user, id), _)| user == user_id && after.is_none_or(|a| id > a))
            .take(limit.max(1).saturating_add(1))
            .map(|(_, d)| T::of(d))
            .collect();
        let more = page.len() > limit.max(1);
        page.truncate(limit.max(1));
        let next = more
            .then(|| page.last().map(|d| d.definition().endpoint_id.clone()))
            .flatten();
        Ok(DevicePage {
            devices: page,
            unreadable: Vec::new(),
            next,
        })
    }

    async fn count_devices(
        &self,
        user_id: &UserId,
        after: &EndpointId,
    ) -> Result<Counted, StoreError> {
        self.check()?;
        let items = read(&self.devices)
            .keys()
            .filter(|(user, id)| user == user_id && id > after)
            .count();
        Ok(Counted { items, more: false })
    }

    async fn device(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> Result<Option<Device>, StoreError> {
        self.check()?;
        Ok(read(&self.devices)
            .get(&(user_id.to_owned(), endpoint_id.to_owned()))
            .cloned())
    }

    async fn update_state(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        change: &StateWrite,
    ) -> Result<StateOutcome, StoreError> {
        self.check()?;
        let mut devices = write(&self.devices);
        let Some(device) = devices.get_mut(&(user_id.to_owned(), endpoint_id.to_owned())) else {
            return Ok(StateOutcome::Missing);
        };
        let patch = &change.patch;
        let fields = patch.fields();
        if let Some(version) = change.shadow_version
            && device.shadow_version.is_some_and(|v| v >= version)
        {
            return Ok(StateOutcome::Conflict);
        }
        if let Some(expected) = &change.expected
            && fields.iter().any(|f| !expected.same(&device.state, f))
        {
            return Ok(StateOutcome::Conflict);
        }
        let reported = match &change.unless_reported {
            None => false,
            Some(Since::Read { state, sampled_at }) => fields.iter().any(|f| {
                !state.same(&device.state, f) || sampled_at.get(f) != device.sampled_at.get(f)
            }),
            Some(Since::ShadowVersion(sent)) => device.shadow_version.is_some_and(|v| v > *sent),
        };
        if reported {
            return Ok(StateOutcome::Conflict);
        }
        if let Some(version) = change.shadow_version {
            device.shadow_version = Some(version);
        }
        for field in fields {
            device.state.take(patch, &field);
            device.sampled_at.insert(field, change.at_ms);
        }
        if let Some(connectivity) = change.connectivity {
            device.connectivity = connectivity;
            device.sampled_at.insert(Field::Connectivity, change.at_ms);
        }
        device.changed_by = Some(change.cause);
        if change.answered {
            device.answered_at = Some(change.at_ms);
        }
        Ok(StateOutcome::Written(Box::new(device.clone())))
    }

    async fn replace_pending(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        version: u64,
        new: &[PendingCommand],
    ) -> Result<Swap, StoreError> {
        self.check()?;
        let mut devices = write(&self.devices);
        let Some(device) = devices.get_mut(&(user_id.to_owned(), endpoint_id.to_owned())) else {
            return Ok(Swap::Missing);
        };
        if device.pending_version != version {
            return Ok(Swap::Conflict);
        }
        device.pending = new.to_vec();
        device.pending_version = version + 1;
        Ok(Swap::Done)
    }

    async fn replace_pin_attempts(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        expected: &[i64],
        new: &[i64],
    ) -> Result<Swap, StoreError> {
        self.check()?;
        let mut devices = write(&self.devices);
        let Some(device) = devices.get_mut(&(user_id.to_owned(), endpoint_id.to_owned())) else {
            return Ok(Swap::Missing);
        };
        if device.pin_attempts != expected {
            return Ok(Swap::Conflict);
        }
        device.pin_attempts = new.to_vec();
        Ok(Swap::Done)
    }

    async fn device_for_thing(
        &self,
        thing_name: &str,
    ) -> Result<Option<(UserId, EndpointId)>, StoreError> {
        self.check()?;
        Ok(read(&self.devices)
            .values()
            .find(|d| d.thing_name.as_deref() == Some(thing_name))
            .map(|d| {
                (
                    d.definition.user_id.clone(),
                    d.definition.endpoint_id.clone(),
                )
            }))
    }
}

impl GrantStore for MemoryStore {
    async fn grant(&self, user_id: &UserId) -> Result<Option<Grant>, StoreError> {
        self.check()?;
        Ok(read(&self.grants).get(user_id).cloned())
    }

    async fn put_grant(&self, new: NewGrant) -> Result<Grant, StoreError> {
        self.check()?;
        let mut grants = write(&self.grants);
        let version = grants.get(&new.user_id).map_or(0, |g| g.version) + 1;
        let grant = Grant {
            user_id: new.user_id,
            access_token: new.access_token,
            refresh_token: new.refresh_token,
            expires_at: new.expires_at,
            region: new.region,
            version,
            granted_at: new.granted_at,
            reconcile_after: Some(new.granted_at),
        };
        grants.insert(grant.user_id.clone(), grant.clone());
        Ok(grant)
    }

    async fn replace_grant(&self, grant: &Grant) -> Result<bool, StoreError> {
        self.check()?;
        let mut grants = write(&self.grants);
        match grants.get(&grant.user_id) {
            Some(stored) if stored.version + 1 == grant.version => {
                // Only the tokens, as the DynamoDB adapter writes them.
                let kept = Grant {
                    granted_at: stored.granted_at,
                    reconcile_after: stored.reconcile_after,
                    ..grant.clone()
                };
                grants.insert(grant.user_id.clone(), kept);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_grant(&self, user_id: &UserId, version: u64) -> Result<bool, StoreError> {
        self.check()?;
        let mut grants = write(&self.grants);
        if grants.get(user_id).is_some_and(|g| g.version == version) {
            grants.remove(user_id);
            Ok(true)
        } else {
            Ok(false)
        }
    }

    async fn request_reconciliation(
        &self,
        user_id: &UserId,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        self.check()?;
        Ok(match write(&self.grants).get_mut(user_id) {
            Some(grant) if grant.reconcile_after.is_none() => {
                grant.reconcile_after = Some(at_ms);
                true
            }
            _ => false,
        })
    }

    async fn clear_reconciliation(&self, user_id: &UserId, at_ms: i64) -> Result<(), StoreError> {
        self.check()?;
        if let Some(grant) = write(&self.grants).get_mut(user_id)
            && grant.reconcile_after == Some(at_ms)
        {
            grant.reconcile_after = None;
        }
        Ok(())
    }

    async fn customers(
        &self,
        segment: Segment,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<String>), StoreError> {
        self.check()?;
        // DynamoDB segments by a hash of the partition key; any stable hash shows the same.
        let in_segment = |u: &UserId| {
            let h = u
                .as_str()
                .bytes()
                .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
            h % segment.of.max(1) == segment.index
        };
        let mut users: Vec<UserId> = read(&self.grants)
            .keys()
            .filter(|u| in_segment(u))
            .cloned()
            .collect();
        users.sort();
        let page: Vec<UserId> = users
            .into_iter()
            .filter(|u| after.is_none_or(|a| u.as_str() > a))
            .take(limit.max(1) + 1)
            .collect();
        let more = page.len() > limit.max(1);
        let page: Vec<UserId> = page.into_iter().take(limit.max(1)).collect();
        let cursor = more.then(|| page.last().map(|u| u.to_string())).flatten();
        Ok((page, cursor))
    }
}

impl ViewStore for MemoryStore {
    async fn told(&self, user_id: &UserId) -> Result<BTreeMap<EndpointId, Told>, StoreError> {
        self.check()?;
        Ok(read(&self.told)
            .iter()
            .filter(|((u, _), _)| u == user_id)
            .map(|((_, e), t)| (e.clone(), t.clone()))
            .collect())
    }

    async fn record_definitions(
        &self,
        user_id: &UserId,
        definitions: &[Definition],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut told = write(&self.told);
        for d in definitions {
            let row = told
                .entry((user_id.to_owned(), d.endpoint_id.clone()))
                .or_default();
            row.definition = Some(d.known.clone());
            row.told_at = at_ms;
            if d.state.is_some() {
                if row.state_digest.is_none() {
                    row.state_digest = d.state.clone();
                }
                if row.state_at == 0 {
                    row.state_at = at_ms;
                }
            }
        }
        Ok(())
    }

    async fn record_state(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        digest: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut told = write(&self.told);
        let row = told
            .entry((user_id.to_owned(), endpoint_id.to_owned()))
            .or_default();
        row.state_digest = Some(digest.to_owned());
        row.state_at = at_ms;
        Ok(())
    }

    async fn record_press(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut told = write(&self.told);
        let row = told
            .entry((user_id.to_owned(), endpoint_id.to_owned()))
            .or_default();
        row.pressed_at = row.pressed_at.max(at_ms);
        Ok(())
    }

    async fn forget(
        &self,
        user_id: &UserId,
        endpoint_ids: &[EndpointId],
    ) -> Result<(), StoreError> {
        self.check()?;
        let mut told = write(&self.told);
        for id in endpoint_ids {
            told.remove(&(user_id.to_owned(), id.clone()));
        }
        Ok(())
    }

    async fn pass_progress(&self) -> Result<(Option<Pass>, Vec<SegmentProgress>), StoreError> {
        self.check()?;
        let passes = read(&self.passes);
        Ok((passes.0.clone(), passes.1.values().cloned().collect()))
    }

    async fn replace_pass(&self, pass: &Pass) -> Result<bool, StoreError> {
        self.check()?;
        let mut passes = write(&self.passes);
        let stored = passes.0.as_ref().map_or(0, |p| p.version);
        if stored + 1 != pass.version {
            return Ok(false);
        }
        passes.0 = Some(pass.clone());
        Ok(true)
    }

    async fn replace_segment(&self, progress: &SegmentProgress) -> Result<bool, StoreError> {
        self.check()?;
        let mut passes = write(&self.passes);
        let stored = passes.1.get(&progress.index).map_or(0, |s| s.version);
        if stored + 1 != progress.version {
            return Ok(false);
        }
        passes.1.insert(progress.index, progress.clone());
        Ok(true)
    }
}
