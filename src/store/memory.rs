//! An in-memory [`Store`], for unit tests, fuzzing and benchmarks of handler logic. The
//! DynamoDB adapter itself is tested against a real DynamoDB-compatible server.

use std::collections::{BTreeMap, HashMap};
use std::sync::RwLock;

use super::{Store, StoreError, TokenHash, TokenRecord};
use crate::alexa::BearerToken;
use crate::device::Device;

#[derive(Debug, Default)]
pub struct MemoryStore {
    tokens: RwLock<HashMap<TokenHash, TokenRecord>>,
    /// Keyed like the table: (user id, endpoint id), so iteration order is the Query order.
    devices: RwLock<BTreeMap<(String, String), Device>>,
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
        let key = (device.user_id.clone(), device.endpoint_id.clone());
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

impl Store for MemoryStore {
    async fn token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        self.check()?;
        Ok(read(&self.tokens).get(hash).cloned())
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        self.check()?;
        Ok(read(&self.devices)
            .iter()
            .filter(|((user, _), _)| user == user_id)
            .map(|(_, d)| d.clone())
            .collect())
    }
}
