//! Example accounts from a JSON file, for `make run` and tests.

use serde::Deserialize;

use super::StoreError;
use super::TokenRecord;
use super::dynamo::DynamoStore;
use crate::alexa::BearerToken;
use crate::device::Device;
use crate::ids::UserId;

/// A seed file: account-linking tokens to issue and devices to write.
#[derive(Debug, Clone, Deserialize)]
pub struct Seed {
    #[serde(default)]
    pub tokens: Vec<SeedToken>,
    #[serde(default)]
    pub devices: Vec<Device>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeedToken {
    pub token: BearerToken,
    pub user_id: UserId,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

impl Seed {
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Writes every token and device; items that exist are replaced, so seeding is repeatable.
    pub async fn apply(&self, store: &DynamoStore) -> Result<(), StoreError> {
        for t in &self.tokens {
            let record = TokenRecord {
                user_id: t.user_id.clone(),
                expires_at: t.expires_at,
            };
            store.put_token(&t.token, &record).await?;
        }
        for device in &self.devices {
            store.put_device(device).await?;
        }
        Ok(())
    }
}
