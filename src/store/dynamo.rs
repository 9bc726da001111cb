//! The DynamoDB adapter: the devices table and the tokens table, the grants and the Alexa view (docs/tables.md).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, ReturnValue, Select, WriteRequest};
use futures_util::StreamExt;
use tracing::{debug, warn};

use super::{
    COUNT_PAGES, Counted, Definition, DevicePage, DeviceRead, DeviceStore, Grant, GrantStore,
    Known, NewGrant, Pass, Segment, SegmentProgress, Since, StateOutcome, StateWrite, StoreError,
    Swap, TokenHash, TokenRecord, TokenStore, Told, ViewStore,
};
use crate::alexa::BearerToken;
use crate::config::Config;
use crate::device::pending::PendingCommand;
use crate::device::{Device, Field};
use crate::http::ClientError;
use crate::ids::{EndpointId, UserId};

/// Attribute names of the keys, shared with `tables` and `template.yaml`.
pub const USER_ID: &str = "userId";
pub const ENDPOINT_ID: &str = "endpointId";
pub const TOKEN_HASH: &str = "tokenHash";
/// The grants table's optimistic-locking attribute.
pub const VERSION: &str = "version";
/// Of a device item: the id of the last state write, so that a write whose answer was lost
/// (the SDK resends it after a timeout, and the resend's condition then fails) is known as
/// applied rather than taken for a concurrent change and applied again.
pub const LAST_WRITE: &str = "lastWriteId";
/// The device item's attribute of when a directive's answer last told its state.
const ANSWERED_AT: &str = "answeredAt";
/// Of a device item: the IoT thing it is, and the index that finds it by it (sparse: only
/// devices routed through IoT carry the attribute).
pub const THING_NAME: &str = "thingName";
pub const THING_INDEX: &str = "thingName";
/// Of a device item: the shadow version of the last reported state written.
pub const SHADOW_VERSION: &str = "shadowVersion";
/// Of a device item: commands awaiting the device's confirmation.
pub const PENDING: &str = "pending";
/// Of a device item: the version of its `pending` list.
pub const PENDING_VERSION: &str = "pendingVersion";
/// Written with the device's other attributes' names by serde (`Device::pin_attempts`).
pub const PIN_ATTEMPTS: &str = "pinAttempts";
/// Of a grant: since when a reconciliation of the customer is asked for.
pub const RECONCILE_AFTER: &str = "reconcileAfter";
/// The Alexa view table's partition of the reconciler's own items (the scheduled pass and its
/// segments' progress): not a customer, since customer ids are the device cloud's user ids.
pub const MARKERS_PARTITION: &str = "#reconciler";
/// The scheduled reconciliation's pass item, and its segments' items, in that partition.
const PASS_ITEM: &str = "pass";
const SEGMENT_ITEM_PREFIX: &str = "segment-";
/// Definition records written at once (one UpdateItem each).
const VIEW_WRITE_CONCURRENCY: usize = 8;
/// BatchWriteItem's limit of requests per call.
const BATCH_WRITE_LIMIT: usize = 25;
/// The tokens table's TTL attribute: DynamoDB removes a token some time after this instant.
pub const TTL: &str = "ttl";
/// Expired tokens are kept this long before the TTL removes them, so that Alexa is told
/// "expired" (and refreshes) rather than "unknown" (and unlinks the account).
pub const EXPIRED_TOKEN_GRACE_SECS: i64 = 30 * 24 * 3600;

type Item = HashMap<String, AttributeValue>;

/// Builds the DynamoDB client once, at cold start. Against a local server (an endpoint is
/// configured) credentials are fixed, so nothing is looked up on the network.
/// DynamoDB answers within milliseconds in its region; a connection that takes longer is
/// retried rather than waited for.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// One attempt of an AWS call.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// An AWS call with its retries.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

pub async fn client(config: &Config) -> Result<Client, ClientError> {
    Ok(Client::new(&sdk_config(config).await?))
}

/// The AWS SDK configuration every client of the process is built from: the process's HTTP
/// client, timeouts, the home region (a region stack's tables and IoT things are there), and
/// for a local server its endpoint and dummy credentials.
pub async fn sdk_config(config: &Config) -> Result<aws_config::SdkConfig, ClientError> {
    // Alexa waits 8 s for an answer: every AWS call, retries included, must end well before.
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(timeouts)
        .http_client(crate::http::sdk::client(CONNECT_TIMEOUT)?)
        .region(Region::new(config.home_region.clone()));
    if let Some(endpoint) = &config.dynamodb_endpoint {
        loader = loader
            .endpoint_url(endpoint)
            .credentials_provider(Credentials::new("local", "local", None, None, "local"));
    }
    Ok(loader.load().await)
}

/// The DynamoDB-backed store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    devices_table: String,
    tokens_table: String,
    grants_table: String,
    view_table: String,
    page_size: Option<i32>,
}

impl DynamoStore {
    pub fn new(client: Client, config: &Config) -> Self {
        Self {
            client,
            devices_table: config.devices_table.clone(),
            tokens_table: config.tokens_table.clone(),
            grants_table: config.grants_table.clone(),
            view_table: config.alexa_view_table.clone(),
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
    pub async fn delete_device(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.devices_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
            .key(ENDPOINT_ID, AttributeValue::S(endpoint_id.to_string()))
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

impl TokenStore for DynamoStore {
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
}

impl DeviceStore for DynamoStore {
    async fn devices_page<T: DeviceRead>(
        &self,
        user_id: &UserId,
        after: Option<&EndpointId>,
        limit: usize,
    ) -> Result<DevicePage<T>, StoreError> {
        let limit = i32::try_from(limit.max(1)).unwrap_or(i32::MAX);
        let limit = self.page_size.map_or(limit, |page| page.min(limit));
        let mut query = self
            .query_customer(&self.devices_table, user_id)
            .limit(limit)
            .set_exclusive_start_key(after.map(|after| device_key(user_id, after)));
        if let Some(attributes) = T::projection() {
            // Names, not the attributes themselves, since `name` is a reserved word.
            let mut projection = String::new();
            for (i, attribute) in attributes.iter().enumerate() {
                let placeholder = format!("#p{i}");
                if i > 0 {
                    projection.push(',');
                }
                projection.push_str(&placeholder);
                query = query.expression_attribute_names(placeholder, *attribute);
            }
            query = query.projection_expression(projection);
        }
        let out = query
            .send()
            .await
            .map_err(|e| dynamo("Query", &self.devices_table, e))?;
        let (mut devices, mut unreadable) = (Vec::new(), Vec::new());
        for item in out.items.unwrap_or_default() {
            let endpoint_id = match item.get(ENDPOINT_ID) {
                Some(AttributeValue::S(id)) => EndpointId::from(id.as_str()),
                _ => EndpointId::from("<none>"),
            };
            match serde_dynamo::from_item::<_, T>(item) {
                Ok(device) => devices.push(device),
                Err(error) => {
                    warn!(
                        %endpoint_id,
                        %error,
                        "device item cannot be decoded; left out"
                    );
                    unreadable.push(endpoint_id);
                }
            }
        }
        let next = match out
            .last_evaluated_key
            .as_ref()
            .and_then(|k| k.get(ENDPOINT_ID))
        {
            Some(AttributeValue::S(id)) => Some(EndpointId::from(id.as_str())),
            _ => None,
        };
        debug!(
            devices = devices.len(),
            more = next.is_some(),
            "devices read"
        );
        Ok(DevicePage {
            devices,
            unreadable,
            next,
        })
    }

    async fn count_devices(
        &self,
        user_id: &UserId,
        after: &EndpointId,
    ) -> Result<Counted, StoreError> {
        let mut items = 0usize;
        let mut start = Some(device_key(user_id, after));
        for _ in 0..COUNT_PAGES {
            let Some(key) = start.take() else {
                break;
            };
            let out = self
                .query_customer(&self.devices_table, user_id)
                .select(Select::Count)
                .set_exclusive_start_key(Some(key))
                .send()
                .await
                .map_err(|e| dynamo("Query", &self.devices_table, e))?;
            items += usize::try_from(out.count).unwrap_or(0);
            start = out.last_evaluated_key.filter(|k| !k.is_empty());
        }
        Ok(Counted {
            items,
            more: start.is_some(),
        })
    }

    async fn device(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> Result<Option<Device>, StoreError> {
        self.device_item(user_id, endpoint_id)
            .await?
            .map(|item| self.decode_device(item))
            .transpose()
    }

    async fn update_state(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        write: &StateWrite,
    ) -> Result<StateOutcome, StoreError> {
        let write_id = uuid::Uuid::new_v4().simple().to_string();
        let result = match self
            .try_update_state(user_id, endpoint_id, write, &write_id)
            .await
        {
            Err(UpdateError::MissingMaps) => {
                // The item has no `state` or `sampledAt` map yet (a device cloud that does not
                // write them): create them empty, then write.
                if !self.create_state_maps(user_id, endpoint_id).await? {
                    return Ok(StateOutcome::Missing);
                }
                self.try_update_state(user_id, endpoint_id, write, &write_id)
                    .await
            }
            other => other,
        };
        match result {
            Ok(device) => Ok(StateOutcome::Written(Box::new(device))),
            // The device is gone, `expected` no longer holds, or this very write was applied
            // by an attempt whose answer was lost: tell which.
            Err(UpdateError::Condition | UpdateError::MissingMaps) => {
                Ok(match self.device_item(user_id, endpoint_id).await? {
                    None => StateOutcome::Missing,
                    Some(item) => match item.get(LAST_WRITE) {
                        Some(AttributeValue::S(id)) if *id == write_id => {
                            StateOutcome::Written(Box::new(self.decode_device(item)?))
                        }
                        _ => StateOutcome::Conflict,
                    },
                })
            }
            Err(UpdateError::Store(e)) => Err(e),
        }
    }

    async fn replace_pending(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        version: u64,
        new: &[PendingCommand],
    ) -> Result<Swap, StoreError> {
        let mut request = self
            .update_device(user_id, endpoint_id)
            .expression_attribute_names("#endpoint", ENDPOINT_ID)
            .expression_attribute_names("#pending", PENDING)
            .expression_attribute_names("#pv", PENDING_VERSION)
            .expression_attribute_values(":next", AttributeValue::N((version + 1).to_string()));
        // Version 0 is an item whose list was never written with a version (or never written).
        let condition = if version == 0 {
            "attribute_exists(#endpoint) AND attribute_not_exists(#pv)"
        } else {
            request =
                request.expression_attribute_values(":pv", AttributeValue::N(version.to_string()));
            "attribute_exists(#endpoint) AND #pv = :pv"
        };
        // An empty list is stored as no attribute, as the item's encoding leaves it out.
        request = if new.is_empty() {
            request.update_expression("SET #pv = :next REMOVE #pending")
        } else {
            let list = serde_dynamo::to_attribute_value(new).map_err(StoreError::Encode)?;
            request
                .update_expression("SET #pending = :new, #pv = :next")
                .expression_attribute_values(":new", list)
        };
        let sent = request.condition_expression(condition).send().await;
        self.swapped(sent, user_id, endpoint_id).await
    }

    async fn replace_pin_attempts(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        expected: &[i64],
        new: &[i64],
    ) -> Result<Swap, StoreError> {
        let mut request = self
            .update_device(user_id, endpoint_id)
            .expression_attribute_names("#endpoint", ENDPOINT_ID)
            .expression_attribute_names("#attempts", PIN_ATTEMPTS);
        // No attempts are stored as no attribute, as the item's encoding leaves an empty list out.
        let condition = if expected.is_empty() {
            "attribute_exists(#endpoint) AND attribute_not_exists(#attempts)"
        } else {
            let list = serde_dynamo::to_attribute_value(expected).map_err(StoreError::Encode)?;
            request = request.expression_attribute_values(":expected", list);
            "attribute_exists(#endpoint) AND #attempts = :expected"
        };
        request = if new.is_empty() {
            request.update_expression("REMOVE #attempts")
        } else {
            let list = serde_dynamo::to_attribute_value(new).map_err(StoreError::Encode)?;
            request
                .update_expression("SET #attempts = :new")
                .expression_attribute_values(":new", list)
        };
        let sent = request.condition_expression(condition).send().await;
        self.swapped(sent, user_id, endpoint_id).await
    }

    async fn device_for_thing(
        &self,
        thing_name: &str,
    ) -> Result<Option<(UserId, EndpointId)>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.devices_table)
            .index_name(THING_INDEX)
            .key_condition_expression("#thing = :thing")
            .expression_attribute_names("#thing", THING_NAME)
            .expression_attribute_values(":thing", AttributeValue::S(thing_name.to_owned()))
            .limit(2)
            .send()
            .await
            .map_err(|e| dynamo("Query", &self.devices_table, e))?;
        let items = out.items.unwrap_or_default();
        if items.len() > 1 {
            warn!(
                thing_name,
                "more than one device has this thing name; using the first"
            );
        }
        Ok(items.into_iter().next().and_then(|item| {
            match (item.get(USER_ID), item.get(ENDPOINT_ID)) {
                (Some(AttributeValue::S(u)), Some(AttributeValue::S(e))) => {
                    Some((UserId::from(u.as_str()), EndpointId::from(e.as_str())))
                }
                _ => None,
            }
        }))
    }
}

impl GrantStore for DynamoStore {
    async fn grant(&self, user_id: &UserId) -> Result<Option<Grant>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.grants_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
            // A refresh written a moment ago by a concurrent invocation must be seen.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo("GetItem", &self.grants_table, e))?;
        out.item.map(|item| self.decode_grant(item)).transpose()
    }

    async fn put_grant(&self, new: NewGrant) -> Result<Grant, StoreError> {
        let update = self.grant_item(&new.user_id);
        let out = with_tokens(
            update,
            &new.access_token,
            &new.refresh_token,
            new.expires_at,
        )
        .update_expression(
            "SET accessToken = :a, refreshToken = :r, expiresAt = :e, #region = :g, \
                 grantedAt = :now, #reconcile = :now ADD #v :one",
        )
        .expression_attribute_names("#reconcile", RECONCILE_AFTER)
        .expression_attribute_values(":now", AttributeValue::N(new.granted_at.to_string()))
        .expression_attribute_names("#region", "region")
        .expression_attribute_names("#v", VERSION)
        .expression_attribute_values(":g", AttributeValue::S(new.region.to_string()))
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .return_values(ReturnValue::AllNew)
        .send()
        .await
        .map_err(|e| dynamo("UpdateItem", &self.grants_table, e))?;
        self.decode_grant(out.attributes.unwrap_or_default())
    }

    async fn replace_grant(&self, grant: &Grant) -> Result<bool, StoreError> {
        // The tokens only: a reconciliation request written meanwhile (it does not change the
        // version) must survive the refresh.
        let update = self.grant_item(&grant.user_id);
        let result = with_tokens(
            update,
            &grant.access_token,
            &grant.refresh_token,
            grant.expires_at,
        )
        .update_expression("SET accessToken = :a, refreshToken = :r, expiresAt = :e, #v = :v")
        .condition_expression("#v = :expected")
        .expression_attribute_names("#v", VERSION)
        .expression_attribute_values(":v", AttributeValue::N(grant.version.to_string()))
        .expression_attribute_values(
            ":expected",
            AttributeValue::N(grant.version.saturating_sub(1).to_string()),
        )
        .send()
        .await;
        conditional(result, "UpdateItem", &self.grants_table)
    }

    async fn delete_grant(&self, user_id: &UserId, version: u64) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.grants_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
            .condition_expression("#v = :v")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await;
        conditional(result, "DeleteItem", &self.grants_table)
    }

    async fn request_reconciliation(
        &self,
        user_id: &UserId,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .grant_item(user_id)
            .update_expression("SET #r = :t")
            .condition_expression("attribute_exists(#u) AND attribute_not_exists(#r)")
            .expression_attribute_names("#u", USER_ID)
            .expression_attribute_names("#r", RECONCILE_AFTER)
            .expression_attribute_values(":t", AttributeValue::N(at_ms.to_string()))
            .send()
            .await;
        conditional(result, "UpdateItem", &self.grants_table)
    }

    async fn clear_reconciliation(&self, user_id: &UserId, at_ms: i64) -> Result<(), StoreError> {
        let result = self
            .grant_item(user_id)
            .update_expression("REMOVE #r")
            .condition_expression("#r = :t")
            .expression_attribute_names("#r", RECONCILE_AFTER)
            .expression_attribute_values(":t", AttributeValue::N(at_ms.to_string()))
            .send()
            .await;
        // A newer request (another time) stays: not an error.
        conditional(result, "UpdateItem", &self.grants_table).map(|_| ())
    }

    async fn customers(
        &self,
        segment: Segment,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<UserId>, Option<String>), StoreError> {
        let out =
            self.client
                .scan()
                .table_name(&self.grants_table)
                .projection_expression("#u")
                .expression_attribute_names("#u", USER_ID)
                .segment(i32::try_from(segment.index).unwrap_or(i32::MAX))
                .total_segments(i32::try_from(segment.of).unwrap_or(i32::MAX))
                .limit(i32::try_from(limit.max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(after.map(|a| {
                    HashMap::from([(USER_ID.to_owned(), AttributeValue::S(a.to_owned()))])
                }))
                .send()
                .await
                .map_err(|e| dynamo("Scan", &self.grants_table, e))?;
        let users = out
            .items
            .unwrap_or_default()
            .into_iter()
            .filter_map(|item| match item.get(USER_ID) {
                Some(AttributeValue::S(u)) => Some(UserId::from(u.as_str())),
                _ => None,
            })
            .collect();
        let cursor = out
            .last_evaluated_key
            .and_then(|key| match key.get(USER_ID) {
                Some(AttributeValue::S(u)) => Some(u.clone()),
                _ => None,
            });
        Ok((users, cursor))
    }
}

impl ViewStore for DynamoStore {
    async fn told(&self, user_id: &UserId) -> Result<BTreeMap<EndpointId, Told>, StoreError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            endpoint_id: EndpointId,
            digest: Option<String>,
            #[serde(default)]
            told_at: i64,
            state_digest: Option<String>,
            #[serde(default)]
            state_at: i64,
            #[serde(default)]
            pressed_at: i64,
        }
        let mut told = BTreeMap::new();
        let mut start_key: Option<Item> = None;
        loop {
            let out = self
                .query_customer(&self.view_table, user_id)
                .consistent_read(true)
                .set_exclusive_start_key(start_key.take())
                .send()
                .await
                .map_err(|e| dynamo("Query", &self.view_table, e))?;
            for item in out.items.unwrap_or_default() {
                match serde_dynamo::from_item::<_, Row>(item) {
                    Ok(row) => {
                        let row_told = Told {
                            definition: row.digest.map(Known::from_attribute),
                            told_at: row.told_at,
                            state_digest: row.state_digest,
                            state_at: row.state_at,
                            pressed_at: row.pressed_at,
                        };
                        told.insert(row.endpoint_id, row_told);
                    }
                    // Sent again by the next reconciliation, which rewrites it.
                    Err(error) => warn!(%error, "Alexa view item cannot be decoded; left out"),
                }
            }
            match out.last_evaluated_key {
                Some(key) if !key.is_empty() => start_key = Some(key),
                _ => break,
            }
        }
        Ok(told)
    }

    async fn record_definitions(
        &self,
        user_id: &UserId,
        definitions: &[Definition],
        at_ms: i64,
    ) -> Result<(), StoreError> {
        // One UpdateItem each, a few at a time: a BatchWriteItem put would replace the item and
        // lose the state recorded on it.
        let writes: Vec<_> = definitions
            .iter()
            .map(|d| {
                let mut update = self
                    .view_item(user_id, &d.endpoint_id)
                    .expression_attribute_names("#d", "digest")
                    .expression_attribute_names("#t", "toldAt")
                    .expression_attribute_values(
                        ":d",
                        AttributeValue::S(d.known.attribute().to_owned()),
                    )
                    .expression_attribute_values(":t", AttributeValue::N(at_ms.to_string()));
                update = match &d.state {
                    Some(state) => update
                        .update_expression(
                            "SET #d = :d, #t = :t, #s = if_not_exists(#s, :s), \
                             #sa = if_not_exists(#sa, :t)",
                        )
                        .expression_attribute_names("#s", "stateDigest")
                        .expression_attribute_names("#sa", "stateAt")
                        .expression_attribute_values(":s", AttributeValue::S(state.clone())),
                    None => update.update_expression("SET #d = :d, #t = :t"),
                };
                update.send()
            })
            .collect();
        let mut results =
            futures_util::stream::iter(writes).buffer_unordered(VIEW_WRITE_CONCURRENCY);
        while let Some(result) = results.next().await {
            result.map_err(|e| dynamo("UpdateItem", &self.view_table, e))?;
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
        self.view_item(user_id, endpoint_id)
            .update_expression("SET #s = :s, #sa = :sa")
            .expression_attribute_names("#s", "stateDigest")
            .expression_attribute_names("#sa", "stateAt")
            .expression_attribute_values(":s", AttributeValue::S(digest.to_owned()))
            .expression_attribute_values(":sa", AttributeValue::N(at_ms.to_string()))
            .send()
            .await
            .map_err(|e| dynamo("UpdateItem", &self.view_table, e))?;
        Ok(())
    }

    async fn record_press(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        let result = self
            .view_item(user_id, endpoint_id)
            .update_expression("SET #p = :p")
            .condition_expression("attribute_not_exists(#p) OR #p < :p")
            .expression_attribute_names("#p", "pressedAt")
            .expression_attribute_values(":p", AttributeValue::N(at_ms.to_string()))
            .send()
            .await;
        match result {
            // A later press is recorded already: this one had rung before it.
            Err(e) if is_condition_failure(&e) => Ok(()),
            other => other
                .map(|_| ())
                .map_err(|e| dynamo("UpdateItem", &self.view_table, e)),
        }
    }

    async fn forget(
        &self,
        user_id: &UserId,
        endpoint_ids: &[EndpointId],
    ) -> Result<(), StoreError> {
        let mut requests = Vec::with_capacity(endpoint_ids.len());
        for endpoint_id in endpoint_ids {
            let key = HashMap::from([
                (USER_ID.to_owned(), AttributeValue::S(user_id.to_string())),
                (
                    ENDPOINT_ID.to_owned(),
                    AttributeValue::S(endpoint_id.to_string()),
                ),
            ]);
            let delete = DeleteRequest::builder()
                .set_key(Some(key))
                .build()
                .map_err(|e| StoreError::Unavailable(format!("building a request: {e}")))?;
            requests.push(WriteRequest::builder().delete_request(delete).build());
        }
        for chunk in requests.chunks(BATCH_WRITE_LIMIT) {
            self.batch_write(&self.view_table, chunk.to_vec()).await?;
        }
        Ok(())
    }

    async fn pass_progress(&self) -> Result<(Option<Pass>, Vec<SegmentProgress>), StoreError> {
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Row {
            endpoint_id: String,
            #[serde(default)]
            pass: u64,
            #[serde(default)]
            started_at: i64,
            #[serde(default)]
            segments: u32,
            cursor: Option<String>,
            #[serde(default)]
            done: bool,
            #[serde(default)]
            lease_until: i64,
            #[serde(default)]
            owner: String,
            #[serde(default)]
            version: u64,
        }
        let out = self
            .client
            .query()
            .table_name(&self.view_table)
            .key_condition_expression("#u = :u")
            .expression_attribute_names("#u", USER_ID)
            .expression_attribute_values(":u", AttributeValue::S(MARKERS_PARTITION.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo("Query", &self.view_table, e))?;
        let (mut pass, mut segments) = (None, Vec::new());
        for item in out.items.unwrap_or_default() {
            let row = match serde_dynamo::from_item::<_, Row>(item) {
                Ok(row) => row,
                // Rewritten whole by the next claim of the segment or start of a pass.
                Err(error) => {
                    warn!(%error, "reconciler item cannot be decoded; left out");
                    continue;
                }
            };
            if row.endpoint_id == PASS_ITEM {
                pass = Some(Pass {
                    number: row.pass,
                    started_at: row.started_at,
                    segments: row.segments,
                    version: row.version,
                });
            } else if let Some(index) = row
                .endpoint_id
                .strip_prefix(SEGMENT_ITEM_PREFIX)
                .and_then(|i| i.parse().ok())
            {
                segments.push(SegmentProgress {
                    index,
                    pass: row.pass,
                    cursor: row.cursor,
                    done: row.done,
                    lease_until: row.lease_until,
                    owner: row.owner,
                    version: row.version,
                });
            }
        }
        segments.sort_by_key(|s| s.index);
        Ok((pass, segments))
    }

    async fn replace_pass(&self, pass: &Pass) -> Result<bool, StoreError> {
        let update = self
            .versioned_marker(PASS_ITEM.to_owned(), pass.version)
            // Every name through a placeholder: some (PASS, SEGMENTS) are reserved words.
            .update_expression("SET #pass = :p, #started = :s, #segments = :n, #v = :v")
            .expression_attribute_names("#pass", "pass")
            .expression_attribute_names("#started", "startedAt")
            .expression_attribute_names("#segments", "segments")
            .expression_attribute_values(":p", AttributeValue::N(pass.number.to_string()))
            .expression_attribute_values(":s", AttributeValue::N(pass.started_at.to_string()))
            .expression_attribute_values(":n", AttributeValue::N(pass.segments.to_string()));
        conditional(update.send().await, "UpdateItem", &self.view_table)
    }

    async fn replace_segment(&self, progress: &SegmentProgress) -> Result<bool, StoreError> {
        let mut update = self
            .versioned_marker(
                format!("{SEGMENT_ITEM_PREFIX}{:05}", progress.index),
                progress.version,
            )
            .expression_attribute_values(":p", AttributeValue::N(progress.pass.to_string()))
            .expression_attribute_values(":d", AttributeValue::Bool(progress.done))
            .expression_attribute_values(":l", AttributeValue::N(progress.lease_until.to_string()))
            .expression_attribute_values(":o", AttributeValue::S(progress.owner.clone()));
        let set = "SET #pass = :p, #done = :d, #lease = :l, #owner = :o, #v = :v";
        update = update
            .expression_attribute_names("#pass", "pass")
            .expression_attribute_names("#done", "done")
            .expression_attribute_names("#lease", "leaseUntil")
            .expression_attribute_names("#owner", "owner");
        update = match &progress.cursor {
            Some(cursor) => update
                .update_expression(format!("{set}, #cursor = :c"))
                .expression_attribute_names("#cursor", "cursor")
                .expression_attribute_values(":c", AttributeValue::S(cursor.clone())),
            None => update
                .update_expression(format!("{set} REMOVE #cursor"))
                .expression_attribute_names("#cursor", "cursor"),
        };
        conditional(update.send().await, "UpdateItem", &self.view_table)
    }
}

impl DynamoStore {
    /// An UpdateItem of the reconciler partition's item `name` that writes `version` and holds
    /// only if the stored item is at the version before (or absent, for version 1).
    fn versioned_marker(
        &self,
        name: String,
        version: u64,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let update = self
            .client
            .update_item()
            .table_name(&self.view_table)
            .key(USER_ID, AttributeValue::S(MARKERS_PARTITION.into()))
            .key(ENDPOINT_ID, AttributeValue::S(name))
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()));
        if version <= 1 {
            update.condition_expression("attribute_not_exists(#v)")
        } else {
            update
                .condition_expression("#v = :before")
                .expression_attribute_values(
                    ":before",
                    AttributeValue::N((version - 1).to_string()),
                )
        }
    }
}

/// Why one state update was not written.
enum UpdateError {
    /// The condition failed: no such device, or `expected` no longer holds.
    Condition,
    /// The item lacks the `state` or `sampledAt` map the update writes into.
    MissingMaps,
    Store(StoreError),
}

impl DynamoStore {
    /// One device item as stored, read consistently: a directive right after a change (or a
    /// check right after a write) must see it.
    async fn device_item(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.devices_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
            .key(ENDPOINT_ID, AttributeValue::S(endpoint_id.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| dynamo("GetItem", &self.devices_table, e))?;
        Ok(out.item)
    }

    /// One conditional UpdateItem: `SET state.f = :v, sampledAt.f = :at, …, changedBy = :cause`,
    /// only if the device exists (and, for a compare-and-set, each field still has its old value).
    async fn try_update_state(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
        write: &StateWrite,
        write_id: &str,
    ) -> Result<Device, UpdateError> {
        let patch: Item = serde_dynamo::to_item(&write.patch)
            .map_err(|e| UpdateError::Store(StoreError::Encode(e)))?;
        // The values the patched fields must still hold: a compare-and-set's, or those read
        // before a command whose outcome this records.
        let (read_state, read_sampled) = match &write.unless_reported {
            Some(Since::Read { state, sampled_at }) => (Some(&**state), Some(sampled_at)),
            _ => (None, None),
        };
        let expected: Option<Item> = write
            .expected
            .as_ref()
            .or(read_state)
            .map(serde_dynamo::to_item)
            .transpose()
            .map_err(|e| UpdateError::Store(StoreError::Encode(e)))?;
        let at = AttributeValue::N(write.at_ms.to_string());
        let cause = serde_dynamo::to_attribute_value(write.cause)
            .map_err(|e| UpdateError::Store(StoreError::Encode(e)))?;
        let mut request = self
            .update_device(user_id, endpoint_id)
            .expression_attribute_names("#endpoint", ENDPOINT_ID)
            .expression_attribute_names("#wid", LAST_WRITE)
            .expression_attribute_values(":wid", AttributeValue::S(write_id.to_owned()))
            .expression_attribute_values(":cause", cause)
            .return_values(ReturnValue::AllNew);
        // DynamoDB refuses names and values that the expressions do not use.
        if !patch.is_empty() {
            request = request.expression_attribute_names("#state", "state");
        }
        if !patch.is_empty() || write.connectivity.is_some() {
            request = request
                .expression_attribute_names("#sampled", "sampledAt")
                .expression_attribute_values(":at", at);
        }
        let mut set = vec!["changedBy = :cause".to_owned(), "#wid = :wid".to_owned()];
        if write.answered {
            request = request
                .expression_attribute_names("#answered", ANSWERED_AT)
                .expression_attribute_values(
                    ":answered",
                    AttributeValue::N(write.at_ms.to_string()),
                );
            set.push("#answered = :answered".into());
        }
        let mut conditions = vec!["attribute_exists(#endpoint)".to_owned()];
        // Sorted, so that the same write is always the same expression.
        let mut fields: Vec<(&String, &AttributeValue)> = patch.iter().collect();
        fields.sort_by(|a, b| a.0.cmp(b.0));
        for (i, (field, value)) in fields.into_iter().enumerate() {
            request = request
                .expression_attribute_names(format!("#f{i}"), field)
                .expression_attribute_values(format!(":v{i}"), value.clone());
            set.push(format!("#state.#f{i} = :v{i}"));
            set.push(format!("#sampled.#f{i} = :at"));
            if let Some(read_sampled) = read_sampled {
                match read_sampled.get(&Field::parse(field)) {
                    Some(at) => {
                        request = request.expression_attribute_values(
                            format!(":s{i}"),
                            AttributeValue::N(at.to_string()),
                        );
                        conditions.push(format!("#sampled.#f{i} = :s{i}"));
                    }
                    None => conditions.push(format!("attribute_not_exists(#sampled.#f{i})")),
                }
            }
            if let Some(expected) = &expected {
                match expected.get(field) {
                    Some(old) => {
                        request =
                            request.expression_attribute_values(format!(":o{i}"), old.clone());
                        conditions.push(format!("#state.#f{i} = :o{i}"));
                    }
                    None => conditions.push(format!("attribute_not_exists(#state.#f{i})")),
                }
            }
        }
        if let Some(Since::ShadowVersion(sent)) = &write.unless_reported {
            request = request
                .expression_attribute_names("#rsv", SHADOW_VERSION)
                .expression_attribute_values(":rsv", AttributeValue::N(sent.to_string()));
            conditions.push("(attribute_not_exists(#rsv) OR #rsv <= :rsv)".into());
        }
        if let Some(version) = write.shadow_version {
            request = request
                .expression_attribute_names("#sv", SHADOW_VERSION)
                .expression_attribute_values(":sv", AttributeValue::N(version.to_string()));
            set.push("#sv = :sv".into());
            conditions.push("(attribute_not_exists(#sv) OR #sv < :sv)".into());
        }
        if let Some(connectivity) = write.connectivity {
            let value = serde_dynamo::to_attribute_value(connectivity)
                .map_err(|e| UpdateError::Store(StoreError::Encode(e)))?;
            request = request
                .expression_attribute_names("#conn", Field::Connectivity.name())
                .expression_attribute_values(":conn", value);
            set.push("#conn = :conn".into());
            set.push("#sampled.#conn = :at".into());
        }
        let result = request
            .update_expression(format!("SET {}", set.join(", ")))
            .condition_expression(conditions.join(" AND "))
            .send()
            .await;
        match result {
            Ok(out) => self
                .decode_device(out.attributes.unwrap_or_default())
                .map_err(UpdateError::Store),
            Err(e) if is_condition_failure(&e) => Err(UpdateError::Condition),
            Err(e) if is_missing_document_path(&e) => Err(UpdateError::MissingMaps),
            Err(e) => Err(UpdateError::Store(dynamo(
                "UpdateItem",
                &self.devices_table,
                e,
            ))),
        }
    }

    /// Adds empty `state` and `sampledAt` maps to an existing device item that lacks them.
    /// `false`: the device does not exist.
    async fn create_state_maps(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> Result<bool, StoreError> {
        let empty = AttributeValue::M(HashMap::new());
        let result = self
            .update_device(user_id, endpoint_id)
            .update_expression("SET #state = if_not_exists(#state, :empty), #sampled = if_not_exists(#sampled, :empty)")
            .condition_expression("attribute_exists(#endpoint)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#sampled", "sampledAt")
            .expression_attribute_names("#endpoint", ENDPOINT_ID)
            .expression_attribute_values(":empty", empty)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(dynamo("UpdateItem", &self.devices_table, e)),
        }
    }

    /// A Query of one customer's items of `table` (the caller adds the rest).
    fn query_customer(
        &self,
        table: &str,
        user_id: &UserId,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(table)
            .key_condition_expression("#u = :u")
            .expression_attribute_names("#u", USER_ID)
            .expression_attribute_values(":u", AttributeValue::S(user_id.to_string()))
    }

    /// An UpdateItem of one device item (the caller adds the expressions).
    /// A compare-and-set of a device's attribute, as a [`Swap`]: a failed condition is a
    /// conflict, or the device is gone.
    async fn swapped<T, E, R>(
        &self,
        sent: Result<T, SdkError<E, R>>,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> Result<Swap, StoreError>
    where
        E: aws_sdk_dynamodb::error::ProvideErrorMetadata
            + std::error::Error
            + Send
            + Sync
            + 'static,
        R: std::fmt::Debug + Send + Sync + 'static,
    {
        match sent {
            Ok(_) => Ok(Swap::Done),
            Err(e) if is_condition_failure(&e) => {
                Ok(match self.device_item(user_id, endpoint_id).await? {
                    None => Swap::Missing,
                    Some(_) => Swap::Conflict,
                })
            }
            Err(e) => Err(dynamo("UpdateItem", &self.devices_table, e)),
        }
    }

    fn update_device(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.devices_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
            .key(ENDPOINT_ID, AttributeValue::S(endpoint_id.to_string()))
    }

    /// An UpdateItem of the customer's grant.
    fn grant_item(
        &self,
        user_id: &UserId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.grants_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
    }

    /// An UpdateItem of the customer's row of an endpoint in the Alexa view table.
    fn view_item(
        &self,
        user_id: &UserId,
        endpoint_id: &EndpointId,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        self.client
            .update_item()
            .table_name(&self.view_table)
            .key(USER_ID, AttributeValue::S(user_id.to_string()))
            .key(ENDPOINT_ID, AttributeValue::S(endpoint_id.to_string()))
    }

    /// One BatchWriteItem, resending what DynamoDB left unprocessed (it does under
    /// throttling) with a growing pause, a few times.
    async fn batch_write(
        &self,
        table: &str,
        mut requests: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        for attempt in 0..5u32 {
            let out = self
                .client
                .batch_write_item()
                .request_items(table, requests)
                .send()
                .await
                .map_err(|e| dynamo("BatchWriteItem", table, e))?;
            requests = out
                .unprocessed_items
                .and_then(|mut left| left.remove(table))
                .unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
        }
        Err(StoreError::Unavailable(format!(
            "BatchWriteItem on {table}: {} writes still unprocessed",
            requests.len()
        )))
    }

    fn decode_device(&self, item: Item) -> Result<Device, StoreError> {
        serde_dynamo::from_item(item).map_err(|source| StoreError::Decode {
            table: self.devices_table.clone(),
            source,
        })
    }

    fn decode_grant(&self, item: Item) -> Result<Grant, StoreError> {
        serde_dynamo::from_item(item).map_err(|source| StoreError::Decode {
            table: self.grants_table.clone(),
            source,
        })
    }
}

/// DynamoDB's answer to `SET a.b = …` on an item without a map `a`.
/// A device item's key.
fn device_key(user_id: &UserId, endpoint_id: &EndpointId) -> Item {
    HashMap::from([
        (USER_ID.to_owned(), AttributeValue::S(user_id.to_string())),
        (
            ENDPOINT_ID.to_owned(),
            AttributeValue::S(endpoint_id.to_string()),
        ),
    ])
}

fn is_missing_document_path<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().is_some_and(|e| {
        e.code() == Some("ValidationException")
            && e.message().is_some_and(|m| m.contains("document path"))
    })
}

/// The values `:a`, `:r` and `:e` of a grant write: its tokens and their expiry.
fn with_tokens(
    update: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder,
    access: &crate::alexa::Secret,
    refresh: &crate::alexa::Secret,
    expires_at: i64,
) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
    update
        .expression_attribute_values(":a", AttributeValue::S(access.expose().to_owned()))
        .expression_attribute_values(":r", AttributeValue::S(refresh.expose().to_owned()))
        .expression_attribute_values(":e", AttributeValue::N(expires_at.to_string()))
}

/// A conditional write's result: `Ok(false)` when its condition did not hold.
fn conditional<T, E, R>(
    result: Result<T, SdkError<E, R>>,
    operation: &'static str,
    table: &str,
) -> Result<bool, StoreError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(e) if is_condition_failure(&e) => Ok(false),
        Err(e) => Err(dynamo(operation, table, e)),
    }
}

fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
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
