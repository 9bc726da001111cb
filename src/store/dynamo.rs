//! The DynamoDB adapter: the devices table and the tokens table (layout in the README).

use std::collections::HashMap;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use tracing::{debug, warn};

use super::{Store, StoreError, TokenHash, TokenRecord};
use crate::alexa::BearerToken;
use crate::config::Config;
use crate::device::Device;

/// Attribute names of the keys, shared with `tables` and `template.yaml`.
pub const USER_ID: &str = "userId";
pub const ENDPOINT_ID: &str = "endpointId";
pub const TOKEN_HASH: &str = "tokenHash";
/// The tokens table's TTL attribute: DynamoDB removes a token some time after this instant.
pub const TTL: &str = "ttl";
/// Expired tokens are kept this long before the TTL removes them, so that Alexa is told
/// "expired" (and refreshes) rather than "unknown" (and unlinks the account).
pub const EXPIRED_TOKEN_GRACE_SECS: i64 = 30 * 24 * 3600;

type Item = HashMap<String, AttributeValue>;

/// Builds the DynamoDB client once, at cold start. Against a local server (an endpoint is
/// configured) region and credentials are fixed, so nothing is looked up on the network.
pub async fn client(config: &Config) -> Client {
    // Alexa waits 8 s for an answer: every DynamoDB call, retries included, must end well before.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(Duration::from_secs(5))
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts);
    if let Some(endpoint) = &config.dynamodb_endpoint {
        loader = loader
            .endpoint_url(endpoint)
            .region(Region::new(config.local_region.clone()))
            .credentials_provider(Credentials::new("local", "local", None, None, "local"));
    }
    Client::new(&loader.load().await)
}

/// The DynamoDB-backed store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    devices_table: String,
    tokens_table: String,
    page_size: Option<i32>,
}

impl DynamoStore {
    pub fn new(client: Client, config: &Config) -> Self {
        Self {
            client,
            devices_table: config.devices_table.clone(),
            tokens_table: config.tokens_table.clone(),
            page_size: config.devices_page_size,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Writes (creates or replaces) a device item, as the device cloud does.
    pub async fn put_device(&self, device: &Device) -> Result<(), StoreError> {
        let item: Item = serde_dynamo::to_item(device).map_err(StoreError::Encode)?;
        self.client
            .put_item()
            .table_name(&self.devices_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| dynamo("PutItem", &self.devices_table, e))?;
        Ok(())
    }

    /// Deletes a device item; deleting a device that does not exist is not an error.
    pub async fn delete_device(&self, user_id: &str, endpoint_id: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.devices_table)
            .key(USER_ID, AttributeValue::S(user_id.to_owned()))
            .key(ENDPOINT_ID, AttributeValue::S(endpoint_id.to_owned()))
            .send()
            .await
            .map_err(|e| dynamo("DeleteItem", &self.devices_table, e))?;
        Ok(())
    }

    /// Records an account-linking token the device cloud issued (by its hash only).
    pub async fn put_token(
        &self,
        token: &BearerToken,
        record: &TokenRecord,
    ) -> Result<(), StoreError> {
        let mut item: Item = serde_dynamo::to_item(record).map_err(StoreError::Encode)?;
        item.insert(
            TOKEN_HASH.into(),
            AttributeValue::S(TokenHash::of(token).as_str().to_owned()),
        );
        if let Some(expires_at) = record.expires_at {
            let ttl = expires_at.saturating_add(EXPIRED_TOKEN_GRACE_SECS);
            item.insert(TTL.into(), AttributeValue::N(ttl.to_string()));
        }
        self.client
            .put_item()
            .table_name(&self.tokens_table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| dynamo("PutItem", &self.tokens_table, e))?;
        Ok(())
    }
}

impl Store for DynamoStore {
    async fn token(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens_table)
            .key(TOKEN_HASH, AttributeValue::S(hash.as_str().to_owned()))
            // A token issued a moment ago (account linking, then at once AcceptGrant and
            // Discover) must be found.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo("GetItem", &self.tokens_table, e))?;
        out.item
            .map(|item| {
                serde_dynamo::from_item(item).map_err(|source| StoreError::Decode {
                    table: self.tokens_table.clone(),
                    source,
                })
            })
            .transpose()
    }

    async fn devices(&self, user_id: &str) -> Result<Vec<Device>, StoreError> {
        let mut devices = Vec::new();
        let mut start_key: Option<Item> = None;
        let mut pages = 0u32;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.devices_table)
                .key_condition_expression("#u = :u")
                .expression_attribute_names("#u", USER_ID)
                .expression_attribute_values(":u", AttributeValue::S(user_id.to_owned()))
                .set_limit(self.page_size)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| dynamo("Query", &self.devices_table, e))?;
            pages += 1;
            for item in out.items.unwrap_or_default() {
                let endpoint_id = match item.get(ENDPOINT_ID) {
                    Some(AttributeValue::S(id)) => id.clone(),
                    _ => String::from("<none>"),
                };
                match serde_dynamo::from_item::<_, Device>(item) {
                    Ok(device) => devices.push(device),
                    Err(error) => warn!(
                        %endpoint_id,
                        %error,
                        "device item cannot be decoded; left out"
                    ),
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        debug!(pages, devices = devices.len(), "devices read");
        Ok(devices)
    }
}

fn dynamo<E>(operation: &'static str, table: &str, error: E) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
{
    StoreError::Dynamo {
        operation,
        table: table.to_owned(),
        source: Box::new(error),
    }
}
