//! From DynamoDB stream records to what changed: per customer, per endpoint, in stream order,
//! with several records of one endpoint coalesced into one change.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use serde::Deserialize;
use serde_dynamo::Item;
use tracing::{error, warn};

use crate::device::{Device, mapping};

/// One batch, decoded and grouped.
#[derive(Debug, Default)]
pub struct Batch {
    /// Customers in the order of their first record.
    pub users: Vec<UserChanges>,
    /// Each record's sequence number, by record index.
    pub sequence_numbers: Vec<Option<String>>,
}

/// The changes of one customer.
#[derive(Debug)]
pub struct UserChanges {
    pub user_id: String,
    /// Endpoints in the order of their first record.
    pub endpoints: Vec<EndpointChange>,
}

/// Everything a batch did to one endpoint.
#[derive(Debug)]
pub struct EndpointChange {
    pub endpoint_id: String,
    /// The device as it was before the batch's first record of it.
    pub before: Image,
    /// The device after the batch's last record of it.
    pub after: Image,
    /// The indexes of the records that make up this change, ascending.
    pub records: Vec<usize>,
}

/// A device image of a stream record.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    /// No item: before an INSERT, after a REMOVE.
    Absent,
    Device(Box<Device>),
    /// An image that is there but cannot be decoded (logged where it is found).
    Unreadable,
}

/// What Alexa must be told about one endpoint.
#[derive(Debug, PartialEq)]
pub enum Action<'a> {
    /// Send its (new) definition.
    AddOrUpdate(&'a Device),
    /// Tell Alexa it is gone.
    Delete,
    /// Nothing Alexa sees in discovery changed (a state change, or a change undone).
    Nothing,
}

impl EndpointChange {
    pub fn action(&self) -> Action<'_> {
        match (&self.before, &self.after) {
            (_, Image::Absent) => Action::Delete,
            // Alexa keeps the definition it has; the broken image was logged when decoded.
            (_, Image::Unreadable) => Action::Nothing,
            (Image::Device(before), Image::Device(after))
                if mapping::endpoint(before) == mapping::endpoint(after) =>
            {
                Action::Nothing
            }
            (_, Image::Device(after)) => Action::AddOrUpdate(after),
        }
    }

    /// The earliest record of this change.
    pub fn first_record(&self) -> usize {
        self.records.first().copied().unwrap_or(usize::MAX)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keys {
    user_id: String,
    endpoint_id: String,
}

/// Decodes and groups a batch. Never fails: a record that cannot be read is logged and skipped,
/// since no retry could make it readable.
pub fn decode(event: &Event) -> Batch {
    let mut batch = Batch::default();
    // Where each customer, and each of their endpoints, already is in `batch`.
    let mut user_index: HashMap<String, usize> = HashMap::new();
    let mut endpoint_index: HashMap<(usize, String), usize> = HashMap::new();
    for (index, record) in event.records.iter().enumerate() {
        batch.sequence_numbers.push(record.change.sequence_number.clone());
        let Some((keys, before, after)) = decode_record(record) else {
            continue;
        };
        let u = *user_index.entry(keys.user_id.clone()).or_insert_with(|| {
            batch.users.push(UserChanges {
                user_id: keys.user_id.clone(),
                endpoints: Vec::new(),
            });
            batch.users.len() - 1
        });
        let user = &mut batch.users[u];
        match endpoint_index.get(&(u, keys.endpoint_id.clone())) {
            // The last image wins; the first "before" is what Alexa was last told about.
            Some(&e) => {
                let change = &mut user.endpoints[e];
                change.after = after;
                change.records.push(index);
            }
            None => {
                endpoint_index.insert((u, keys.endpoint_id.clone()), user.endpoints.len());
                user.endpoints.push(EndpointChange {
                    endpoint_id: keys.endpoint_id,
                    before,
                    after,
                    records: vec![index],
                });
            }
        }
    }
    batch
}

fn decode_record(record: &EventRecord) -> Option<(Keys, Image, Image)> {
    let sequence_number = record.change.sequence_number.as_deref().unwrap_or("<none>");
    let keys: Keys = match serde_dynamo::from_item(record.change.keys.clone()) {
        Ok(keys) => keys,
        Err(error) => {
            error!(sequence_number, %error, "stream record without device keys; skipped");
            return None;
        }
    };
    let image = |item: &Item, which: &str| -> Image {
        if item.is_empty() {
            return Image::Absent;
        }
        match serde_dynamo::from_item::<_, Device>(item.clone()) {
            Ok(device) if device.user_id == keys.user_id && device.endpoint_id == keys.endpoint_id => {
                Image::Device(Box::new(device))
            }
            Ok(_) => {
                error!(sequence_number, endpoint_id = %keys.endpoint_id, which, "image does not match its keys");
                Image::Unreadable
            }
            Err(error) => {
                error!(sequence_number, endpoint_id = %keys.endpoint_id, which, %error, "device image cannot be decoded");
                Image::Unreadable
            }
        }
    };
    let (before, after) = match record.event_name.as_str() {
        "INSERT" => (Image::Absent, image(&record.change.new_image, "new")),
        "MODIFY" => (image(&record.change.old_image, "old"), image(&record.change.new_image, "new")),
        "REMOVE" => (image(&record.change.old_image, "old"), Image::Absent),
        other => {
            warn!(sequence_number, event_name = other, "unknown stream event; skipped");
            return None;
        }
    };
    if matches!(record.event_name.as_str(), "INSERT" | "MODIFY") && after == Image::Absent {
        error!(
            sequence_number,
            endpoint_id = %keys.endpoint_id,
            "record has no new image: the stream must be NEW_AND_OLD_IMAGES"
        );
        return Some((keys, before, Image::Unreadable));
    }
    Some((keys, before, after))
}
