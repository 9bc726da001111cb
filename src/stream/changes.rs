//! From DynamoDB stream records to what changed: per customer, per endpoint, in stream order,
//! with several records of one endpoint coalesced into one change.

use std::collections::HashMap;

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use serde::Deserialize;
use serde_dynamo::Item;
use tracing::{error, warn};

use crate::alexa::event::CauseType;
use crate::device::catalogue::Property;
use crate::device::pending::{PendingCommand, Settlement};
use crate::device::properties::{property, values};
use crate::device::{Device, mapping};
use crate::ids::{EndpointId, UserId};
use crate::proactive::reports::StateChange;

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
    pub user_id: UserId,
    /// Endpoints in the order of their first record.
    pub endpoints: Vec<EndpointChange>,
}

/// Everything a batch did to one endpoint.
#[derive(Debug)]
pub struct EndpointChange {
    pub endpoint_id: EndpointId,
    /// The device as it was before the batch's first record of it.
    pub before: Image,
    /// The device after the batch's last record of it.
    pub after: Image,
    /// The indexes of the records that make up this change, ascending.
    pub records: Vec<usize>,
    /// The cause recorded by the last record that changed a reportable value: a later write
    /// that only confirms the values (a poll) does not take over the cause.
    pub cause: Option<CauseType>,
    /// The pending commands the records settle, each judged against the image (and the time)
    /// of the first record that settles it: a confirmation in an image a later record
    /// overwrote still counts.
    pub settled: Vec<Settled>,
    /// Whether any one record changed the definition, and the properties any one record
    /// changed, even where the batch as a whole ends where it began. A redelivered batch
    /// starts at the failed record, which can be after records whose changes Alexa was told
    /// in the first delivery: a change undone later in the batch must then still be sent, or
    /// Alexa keeps the undone value (found by tests/soak.rs).
    pub touched: Touched,
    /// A doorbell's presses, each with the record that made it, in stream order: every record
    /// whose image has a new press time is a press, even where a later record overwrote it
    /// (two presses in one batch ring twice).
    pub presses: Vec<(i64, usize)>,
}

/// A pending command a record settles.
#[derive(Debug)]
pub struct Settled {
    pub command: PendingCommand,
    pub settlement: Settlement,
    /// The device as that record's image has it: what the asynchronous response tells.
    pub device: Box<Device>,
}

impl EndpointChange {
    /// Adds the press a record made, once.
    fn press(&mut self, at: Option<i64>, record: usize) {
        if let Some(at) = at
            && !self.presses.iter().any(|(p, _)| *p == at)
        {
            self.presses.push((at, record));
        }
    }

    /// Adds what one record's image settles of the commands it holds.
    fn settle(&mut self, after: &Image, image_at: Option<i64>) {
        let Image::Device(device) = after else {
            return;
        };
        for command in &device.pending {
            if self
                .settled
                .iter()
                .any(|s| s.command.command_id == command.command_id)
            {
                continue;
            }
            let settlement = command.settle(device, image_at);
            if settlement != Settlement::Waiting {
                self.settled.push(Settled {
                    command: command.clone(),
                    settlement,
                    device: device.clone(),
                });
            }
        }
    }
}

/// What the records of one endpoint changed, each against its own old image.
#[derive(Debug, Default, PartialEq)]
pub struct Touched {
    pub definition: bool,
    pub properties: Vec<Property>,
}

impl Touched {
    /// Adds what one record changed; returns the cause it recorded if it changed a value.
    fn record(&mut self, before: &Image, after: &Image) -> Option<CauseType> {
        let (Image::Device(before), Image::Device(after)) = (before, after) else {
            return None;
        };
        self.definition |= before.definition != after.definition;
        let (old, new) = (values(before), values(after));
        // A property the device no longer reports changed too, though nothing is sent for it.
        let mut changed = old.len() != new.len();
        for v in &new {
            if !old.contains(v) {
                changed = true;
                if !self.properties.contains(&v.property) {
                    self.properties.push(v.property.clone());
                }
            }
        }
        changed.then_some(after.changed_by).flatten()
    }
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
                if !self.touched.definition
                    && mapping::endpoint(&before.definition)
                        == mapping::endpoint(&after.definition) =>
            {
                Action::Nothing
            }
            (_, Image::Device(after)) => Action::AddOrUpdate(after),
        }
    }

    /// The ChangeReport this change makes: both images are devices and a reportable property
    /// (connectivity included) differs between them. Changed properties go in the report,
    /// the others in its context.
    ///
    /// A device that Alexa would reject is left out, and so are its state changes: when one
    /// becomes valid again, what Alexa was last told is older than `before`, so every value is
    /// reported as changed.
    ///
    /// An endpoint added in this batch (no `before`) reports only what records after the add
    /// changed: Alexa asks a new endpoint's state with ReportState, but a redelivered batch
    /// can start at the add while Alexa already knows the endpoint.
    pub fn state_change(&self, now_ms: i64) -> Option<StateChange> {
        let Image::Device(after) = &self.after else {
            return None;
        };
        let old = match &self.before {
            Image::Device(before) if discoverable(before) => Some(values(before)),
            // Left out before: what Alexa was told is older than `before`.
            Image::Device(_) => None,
            Image::Absent | Image::Unreadable => Some(Vec::new()),
        };
        let touched = &self.touched.properties;
        let (changed, unchanged): (Vec<_>, Vec<_>) = values(after).into_iter().partition(|new| {
            let Some(old) = &old else {
                return true;
            };
            let differs = matches!(self.before, Image::Device(_)) && !old.contains(new);
            differs || touched.contains(&new.property)
        });
        if changed.is_empty() {
            return None;
        }
        Some(StateChange {
            endpoint_id: self.endpoint_id.clone(),
            // A device cloud that does not record causes: the device itself changed.
            cause: self
                .cause
                .or(after.changed_by)
                .unwrap_or(CauseType::PhysicalInteraction),
            changed: changed
                .into_iter()
                .map(|v| property(after, v, now_ms))
                .collect(),
            unchanged: unchanged
                .into_iter()
                .map(|v| property(after, v, now_ms))
                .collect(),
        })
    }

    /// Whether the device after the change is one Alexa accepts (it was discovered); checked
    /// quietly, since an invalid device was logged when it was left out of discovery.
    pub fn after_is_discoverable(&self) -> bool {
        match &self.after {
            Image::Device(d) => discoverable(d),
            _ => false,
        }
    }

    /// The device after the change, if there is one.
    pub fn after(&self) -> Option<&crate::device::Device> {
        match &self.after {
            Image::Device(d) => Some(d),
            _ => None,
        }
    }

    /// The earliest record of this change (every change has one).
    pub fn first_record(&self) -> Option<usize> {
        self.records.first().copied()
    }
}

/// The press one record makes: a doorbell's press time its old image did not have. (A new item
/// is no press: its time, if any, is from before it was added.)
fn pressed(before: &Image, after: &Image) -> Option<i64> {
    let (Image::Device(before), Image::Device(after)) = (before, after) else {
        return None;
    };
    after.state.doorbell_pressed_at.filter(|at| {
        before.state.doorbell_pressed_at != Some(*at) && after.definition.is_doorbell()
    })
}

/// Whether Alexa accepts the device's endpoint (checked quietly: see `after_is_discoverable`).
fn discoverable(device: &Device) -> bool {
    crate::alexa::validate::endpoint(&mapping::endpoint(&device.definition)).is_ok()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Keys {
    user_id: UserId,
    endpoint_id: EndpointId,
}

/// The stream Lambda's event, each record decoded as it is read from the event's JSON: its
/// images become devices at once, and the generic attribute maps they were read into are
/// dropped record by record. A 1,000-record batch is never held as records and as devices at
/// the same time (what `aws_lambda_events`' `Event` would do).
#[derive(Debug, Default, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<Record>,
}

/// One stream record, decoded.
#[derive(Debug)]
pub struct Record {
    pub sequence_number: Option<String>,
    /// When DynamoDB made the record (`ApproximateCreationDateTime`, whole seconds), Unix ms.
    pub made_at: Option<i64>,
    /// The keys and both images; `None` for a record that cannot be used (logged when decoded).
    decoded: Option<(Keys, Image, Image)>,
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        EventRecord::deserialize(deserializer).map(Record::from)
    }
}

impl From<EventRecord> for Record {
    fn from(mut record: EventRecord) -> Self {
        let sequence_number = record.change.sequence_number.take();
        let made_at = Some(
            record
                .change
                .approximate_creation_date_time
                .timestamp_millis(),
        )
        .filter(|at| *at > 0);
        let decoded = decode_record(record, sequence_number.as_deref().unwrap_or("<none>"));
        Self {
            sequence_number,
            made_at,
            decoded,
        }
    }
}

impl From<Event> for StreamEvent {
    fn from(event: Event) -> Self {
        Self {
            records: event.records.into_iter().map(Record::from).collect(),
        }
    }
}

/// Decodes and groups a batch. Never fails: a record that cannot be read is logged and skipped,
/// since no retry could make it readable. Takes the event by value so that each record's
/// images are moved into devices, not copied.
pub fn decode(event: impl Into<StreamEvent>) -> Batch {
    group(event.into().records)
}

/// Groups decoded records per customer and endpoint, in stream order.
pub fn group(records: Vec<Record>) -> Batch {
    let mut batch = Batch::default();
    // Where each customer, and each of their endpoints, already is in `batch`.
    let mut user_index: HashMap<UserId, usize> = HashMap::new();
    let mut endpoint_index: HashMap<(usize, EndpointId), usize> = HashMap::new();
    batch.sequence_numbers.reserve(records.len());
    for (index, record) in records.into_iter().enumerate() {
        batch.sequence_numbers.push(record.sequence_number);
        let made_at = record.made_at;
        let Some((keys, before, after)) = record.decoded else {
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
                change.cause = change.touched.record(&before, &after).or(change.cause);
                change.press(pressed(&before, &after), index);
                change.settle(&after, made_at);
                change.after = after;
                change.records.push(index);
            }
            None => {
                endpoint_index.insert((u, keys.endpoint_id.clone()), user.endpoints.len());
                let mut touched = Touched::default();
                let cause = touched.record(&before, &after);
                let press = pressed(&before, &after);
                let mut change = EndpointChange {
                    endpoint_id: keys.endpoint_id,
                    cause,
                    before,
                    after: Image::Absent,
                    records: vec![index],
                    settled: Vec::new(),
                    touched,
                    presses: Vec::new(),
                };
                change.press(press, index);
                change.settle(&after, made_at);
                change.after = after;
                user.endpoints.push(change);
            }
        }
    }
    batch
}

fn decode_record(record: EventRecord, sequence_number: &str) -> Option<(Keys, Image, Image)> {
    let keys: Keys = match serde_dynamo::from_item(record.change.keys) {
        Ok(keys) => keys,
        Err(error) => {
            error!(sequence_number, %error, "stream record without device keys; skipped");
            return None;
        }
    };
    let image = |item: Item, which: &str| -> Image {
        if item.is_empty() {
            return Image::Absent;
        }
        match serde_dynamo::from_item::<_, Device>(item) {
            Ok(device)
                if device.definition.user_id == keys.user_id
                    && device.definition.endpoint_id == keys.endpoint_id =>
            {
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
        "INSERT" => (Image::Absent, image(record.change.new_image, "new")),
        "MODIFY" => (
            image(record.change.old_image, "old"),
            image(record.change.new_image, "new"),
        ),
        "REMOVE" => (image(record.change.old_image, "old"), Image::Absent),
        other => {
            warn!(
                sequence_number,
                event_name = other,
                "unknown stream event; skipped"
            );
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

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn device(user: &str, id: &str, name: &str) -> Device {
        serde_json::from_value(json!({
            "userId": user, "endpointId": id, "name": name, "description": "d",
            "manufacturer": "m", "category": "LIGHT", "capabilities": [{"type": "power"}],
        }))
        .unwrap()
    }

    fn image(d: &Device) -> Value {
        serde_json::to_value(serde_dynamo::to_item::<_, Item>(d).unwrap()).unwrap()
    }

    fn record(
        seq: u32,
        name: &str,
        user: &str,
        id: &str,
        old: Option<&Device>,
        new: Option<&Device>,
    ) -> Value {
        let mut change = json!({
            "Keys": {"userId": {"S": user}, "endpointId": {"S": id}},
            "SequenceNumber": seq.to_string(), "SizeBytes": 1,
            "StreamViewType": "NEW_AND_OLD_IMAGES", "ApproximateCreationDateTime": 1_700_000_000.0,
        });
        if let Some(old) = old {
            change["OldImage"] = image(old);
        }
        if let Some(new) = new {
            change["NewImage"] = image(new);
        }
        json!({"eventID": seq.to_string(), "eventName": name, "awsRegion": "us-east-1", "dynamodb": change})
    }

    fn batch(records: Vec<Value>) -> Batch {
        decode(serde_json::from_value::<StreamEvent>(json!({ "Records": records })).unwrap())
    }

    #[test]
    fn the_lambdas_event_decodes_as_aws_lambda_events_records_do() {
        let (a, b) = (device("u1", "e1", "A"), device("u2", "e2", "B"));
        let mut renamed = a.clone();
        renamed.definition.name = "A2".into();
        let records = json!({ "Records": [
            record(1, "INSERT", "u1", "e1", None, Some(&a)),
            record(2, "MODIFY", "u1", "e1", Some(&a), Some(&renamed)),
            record(3, "REMOVE", "u2", "e2", Some(&b), None),
            record(4, "MODIFY", "u2", "e2", Some(&b), Some(&b)),
        ]});
        let direct = decode(serde_json::from_value::<StreamEvent>(records.clone()).unwrap());
        let through_records = decode(serde_json::from_value::<Event>(records).unwrap());
        assert_eq!(format!("{direct:?}"), format!("{through_records:?}"));
        assert_eq!(direct.users.len(), 2);
        assert_eq!(direct.sequence_numbers.len(), 4);
    }

    #[test]
    fn groups_by_customer_and_endpoint_in_stream_order() {
        let (a1, b1, a2) = (
            device("a", "1", "A1"),
            device("b", "1", "B1"),
            device("a", "2", "A2"),
        );
        let b = batch(vec![
            record(10, "INSERT", "a", "1", None, Some(&a1)),
            record(11, "INSERT", "b", "1", None, Some(&b1)),
            record(12, "INSERT", "a", "2", None, Some(&a2)),
        ]);
        let users: Vec<&str> = b.users.iter().map(|u| u.user_id.as_str()).collect();
        assert_eq!(users, ["a", "b"]);
        let a: Vec<&str> = b.users[0]
            .endpoints
            .iter()
            .map(|e| e.endpoint_id.as_str())
            .collect();
        assert_eq!(a, ["1", "2"]);
        assert_eq!(b.users[0].endpoints[1].records, [2]);
        assert_eq!(b.sequence_numbers[2].as_deref(), Some("12"));
    }

    #[test]
    fn the_last_image_wins() {
        let (v1, v2) = (device("a", "1", "First"), device("a", "1", "Second"));
        let b = batch(vec![
            record(1, "INSERT", "a", "1", None, Some(&v1)),
            record(2, "MODIFY", "a", "1", Some(&v1), Some(&v2)),
        ]);
        let change = &b.users[0].endpoints[0];
        assert_eq!(change.records, [0, 1]);
        assert_eq!(change.action(), Action::AddOrUpdate(&v2));
    }

    #[test]
    fn add_then_delete_is_a_delete() {
        let v1 = device("a", "1", "First");
        let b = batch(vec![
            record(1, "INSERT", "a", "1", None, Some(&v1)),
            record(2, "REMOVE", "a", "1", Some(&v1), None),
        ]);
        assert_eq!(b.users[0].endpoints[0].action(), Action::Delete);
    }

    #[test]
    fn a_change_undone_within_the_batch_is_still_sent_and_a_state_change_is_not_discovery() {
        // Redelivered from a later record, Alexa may have been told "Second" already.
        let (v1, v2) = (device("a", "1", "First"), device("a", "1", "Second"));
        let b = batch(vec![
            record(1, "MODIFY", "a", "1", Some(&v1), Some(&v2)),
            record(2, "MODIFY", "a", "1", Some(&v2), Some(&v1)),
        ]);
        assert_eq!(b.users[0].endpoints[0].action(), Action::AddOrUpdate(&v1));
        let mut off = v1.clone();
        off.state.power_on = Some(false);
        let mut on = v1.clone();
        on.state.power_on = Some(true);
        let b = batch(vec![
            record(1, "MODIFY", "a", "1", Some(&off), Some(&on)),
            record(2, "MODIFY", "a", "1", Some(&on), Some(&off)),
        ]);
        let change = &b.users[0].endpoints[0];
        assert_eq!(change.action(), Action::Nothing);
        let report = change
            .state_change(0)
            .expect("the undone change is reported");
        assert_eq!(report.changed[0].name, "powerState");
        assert_eq!(report.changed[0].value, "OFF");
        let mut on = v1.clone();
        on.state.power_on = Some(true);
        let b = batch(vec![record(1, "MODIFY", "a", "1", Some(&v1), Some(&on))]);
        assert_eq!(b.users[0].endpoints[0].action(), Action::Nothing);
    }

    /// Found by tests/properties.rs: a device renamed to "" (left out), made unreachable, then
    /// renamed back, with one record per batch, left Alexa showing it reachable.
    #[test]
    fn a_device_valid_again_reports_every_value() {
        let mut hidden = device("a", "1", "");
        hidden.connectivity = crate::device::Connectivity::Unreachable;
        let mut back = hidden.clone();
        back.definition.name = "Lamp".into();
        let b = batch(vec![record(
            3,
            "MODIFY",
            "a",
            "1",
            Some(&hidden),
            Some(&back),
        )]);
        let change = &b.users[0].endpoints[0];
        assert_eq!(change.action(), Action::AddOrUpdate(&back));
        let report = change.state_change(0).expect("a ChangeReport");
        let changed: Vec<_> = report.changed.iter().map(|p| p.name).collect();
        assert_eq!(changed, ["connectivity"]);
        // A valid device whose values did not change reports nothing.
        let mut renamed = back.clone();
        renamed.definition.name = "Lamp 2".into();
        let b = batch(vec![record(
            4,
            "MODIFY",
            "a",
            "1",
            Some(&back),
            Some(&renamed),
        )]);
        assert_eq!(b.users[0].endpoints[0].state_change(0), None);
    }

    #[test]
    fn unreadable_records_are_skipped_or_left_alone() {
        let v1 = device("a", "1", "First");
        let mut broken = record(2, "MODIFY", "a", "1", Some(&v1), None);
        broken["dynamodb"]["NewImage"] =
            json!({"userId": {"S": "a"}, "endpointId": {"S": "1"}, "name": {"N": "7"}});
        let mut keyless = record(3, "INSERT", "c", "1", None, Some(&v1));
        keyless["dynamodb"]["Keys"] = json!({});
        let b = batch(vec![
            broken,
            keyless,
            record(4, "FROBNICATE", "a", "2", None, None),
        ]);
        assert_eq!(b.users.len(), 1);
        assert_eq!(b.users[0].endpoints[0].after, Image::Unreadable);
        assert_eq!(b.users[0].endpoints[0].action(), Action::Nothing);
        assert_eq!(b.sequence_numbers.len(), 3);
    }
}
