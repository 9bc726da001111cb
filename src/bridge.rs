//! The shadow bridge Lambda's core: what a device reports to its AWS IoT Core shadow, into the
//! devices table.
//!
//! An IoT topic rule on `$aws/things/+/shadow/#` (only `…/update/documents`) invokes the
//! bridge with each shadow document: the shadow before and after an update. The bridge writes
//! the reported fields that update touched into the device's `state`, with their time and a
//! cause, and the shadow's version. From the table, everything flows through the existing
//! stream: the ChangeReport, ReportState, and the asynchronous answers to deferred commands.
//!
//! Shadow documents can arrive late, twice, or out of order: a document older than the version
//! the item holds changes nothing.

use serde::Deserialize;
use serde_json::{Map, Value};
use tracing::{debug, info, warn};

use crate::alexa::event::CauseType;
use crate::clock::Clock;
use crate::device::{DeviceState, Field};
use crate::store::{DeviceStore, StateOutcome, StateWrite, StoreError};

/// A shadow's `update/documents` message, with the topic the rule adds (`topic() AS topic`).
#[derive(Debug, Deserialize)]
pub struct ShadowDocuments {
    pub topic: String,
    #[serde(default)]
    pub previous: Option<ShadowDocument>,
    pub current: ShadowDocument,
    /// When AWS IoT handled the update, Unix seconds.
    #[serde(default)]
    pub timestamp: Option<i64>,
    /// When the topic rule took the document, Unix milliseconds (`timestamp() AS receivedAt`
    /// in the rule): the report's time to the millisecond, where `timestamp` has only whole
    /// seconds. A deferred command's deadline is judged against it.
    #[serde(default, rename = "receivedAt")]
    pub received_at: Option<i64>,
}

impl ShadowDocuments {
    /// When the device reported, Unix milliseconds: the rule's `receivedAt`, else the
    /// shadow's whole-second `timestamp`.
    pub fn reported_at(&self) -> Option<i64> {
        self.received_at.filter(|t| *t > 0).or_else(|| {
            self.timestamp
                .filter(|t| *t > 0)
                .map(|t| t.saturating_mul(1000))
        })
    }
}

/// One shadow: its state, the time of each field, and its version.
#[derive(Debug, Default, Deserialize)]
pub struct ShadowDocument {
    #[serde(default)]
    pub state: Sides,
    #[serde(default)]
    pub metadata: Sides,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Default, Deserialize)]
pub struct Sides {
    #[serde(default)]
    pub reported: Option<Map<String, Value>>,
    #[serde(default)]
    pub desired: Option<Map<String, Value>>,
}

/// What became of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Written into the device's state.
    Written { fields: usize },
    /// The update touched no reported field the device model knows (a desired write, or
    /// fields of the device's own).
    NothingReported,
    /// The item already holds this version or a newer one.
    Stale,
    /// No device carries this thing name (and shadow name).
    UnknownThing,
    /// The topic is not a shadow's `update/documents`.
    NotShadowDocuments,
}

/// The bridge, holding what is built once at cold start.
#[derive(Debug)]
pub struct Bridge<S> {
    store: S,
    /// The time of a report that does not say when it was made.
    clock: Clock,
}

impl<S: DeviceStore> Bridge<S> {
    pub fn new(store: S) -> Self {
        Self {
            store,
            clock: Clock::system(),
        }
    }

    /// The same bridge reading the time from `clock` (a test's, set where it wants).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// Handles one document. An error is a storage failure: Lambda retries the invocation.
    pub async fn handle(&self, documents: &ShadowDocuments) -> Result<Outcome, StoreError> {
        let Some((thing, shadow)) = thing_of(&documents.topic) else {
            warn!(topic = %documents.topic, "not a shadow's update/documents topic");
            return Ok(Outcome::NotShadowDocuments);
        };
        let touched = touched(documents);
        if touched.is_empty() && !reasserted(documents) {
            debug!(thing, "no reported field changed");
            return Ok(Outcome::NothingReported);
        }
        let Some((user_id, endpoint_id)) = self.store.device_for_thing(thing).await? else {
            warn!(
                thing,
                "no device carries this thingName; the report is dropped"
            );
            return Ok(Outcome::UnknownThing);
        };
        let Some(device) = self.store.device(&user_id, &endpoint_id).await? else {
            return Ok(Outcome::UnknownThing);
        };
        if device.shadow_name.as_deref() != shadow {
            debug!(
                thing,
                ?shadow,
                "another shadow of the thing; not the device's"
            );
            return Ok(Outcome::UnknownThing);
        }
        // The table must hold what the device reports: a value the skill wrote ahead of the
        // device (a command answered as accepted) that the device's shadow contradicts is
        // written over, even if this update did not touch it.
        let everything = state_of(documents.current.state.reported.iter().flatten());
        let mut patch = state_of(touched.iter().map(|(k, v)| (*k, *v)));
        for field in everything.fields() {
            if !everything.same(&device.state, &field) {
                patch.take(&everything, &field);
            }
        }
        let fields = patch.fields().len();
        // Even with no field of the model, the new version is written: the device answered,
        // which a pending command whose values already held is waiting for.
        // What a voice command asked for, reported back, is the end of that voice interaction.
        let cause = if device.pending.iter().any(|p| p.matches(&patch)) {
            CauseType::VoiceInteraction
        } else {
            CauseType::PhysicalInteraction
        };
        let write = StateWrite {
            patch,
            connectivity: None,
            expected: None,
            cause,
            at_ms: documents
                .reported_at()
                .unwrap_or_else(|| self.clock.now_ms()),
            shadow_version: Some(documents.current.version),
            unless_reported: None,
            answered: false,
        };
        Ok(
            match self
                .store
                .update_state(&user_id, &endpoint_id, &write)
                .await?
            {
                StateOutcome::Written(_) => {
                    info!(%endpoint_id, fields, version = documents.current.version, "reported state written");
                    Outcome::Written { fields }
                }
                StateOutcome::Conflict => {
                    debug!(%endpoint_id, version = documents.current.version, "an older shadow document; ignored");
                    Outcome::Stale
                }
                StateOutcome::Missing => Outcome::UnknownThing,
            },
        )
    }
}

/// The thing and shadow name of `$aws/things/THING/shadow[/name/SHADOW]/update/documents`.
pub fn thing_of(topic: &str) -> Option<(&str, Option<&str>)> {
    let rest = topic.strip_prefix("$aws/things/")?;
    let (thing, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("shadow/")?;
    if thing.is_empty() {
        return None;
    }
    if rest == "update/documents" {
        return Some((thing, None));
    }
    let shadow = rest
        .strip_prefix("name/")?
        .strip_suffix("/update/documents")?;
    (!shadow.is_empty() && !shadow.contains('/')).then_some((thing, Some(shadow)))
}

/// The reported fields this update touched: those whose value or metadata (their timestamps)
/// changed, so that a device repeating a value ("still locked") counts, and fields it did not
/// send do not overwrite what the table holds. Shadow timestamps are whole seconds: a value
/// changed twice within one second keeps its timestamp, so the value itself is compared too.
fn touched(documents: &ShadowDocuments) -> Vec<(&String, &Value)> {
    let Some(reported) = &documents.current.state.reported else {
        return Vec::new();
    };
    let now = documents.current.metadata.reported.as_ref();
    let before = documents
        .previous
        .as_ref()
        .and_then(|p| p.metadata.reported.as_ref());
    let before_values = documents
        .previous
        .as_ref()
        .and_then(|p| p.state.reported.as_ref());
    reported
        .iter()
        .filter(|(_, v)| !v.is_null())
        .filter(|(k, v)| {
            before_values.and_then(|b| b.get(*k)) != Some(*v)
                || now.is_some_and(|now| now.get(*k) != before.and_then(|b| b.get(*k)))
        })
        .collect()
}

/// Whether an update that changed no reported value or timestamp was still the device's: the
/// version moved and the desired side did not (within one second, the same value reported
/// again leaves everything but the version as it was).
fn reasserted(documents: &ShadowDocuments) -> bool {
    let Some(previous) = &documents.previous else {
        return false;
    };
    let current = &documents.current;
    current.version > previous.version
        && current.state.reported.is_some()
        && current.state.desired == previous.state.desired
        && current.metadata.desired == previous.metadata.desired
}

/// The fields of the device model among `reported`, each decoded on its own: one field of the
/// wrong type is logged and left out, not fatal to the others.
fn state_of<'a>(reported: impl IntoIterator<Item = (&'a String, &'a Value)>) -> DeviceState {
    let mut state = DeviceState::default();
    for (name, value) in reported {
        let field = Field::parse(name);
        // Only instance names (with a dot) are settings; another unknown field is the
        // device's own business.
        if matches!(&field, Field::Setting(instance) if !instance.contains('.'))
            || field == Field::Connectivity
        {
            debug!(field = %name, "not a field of the device model; ignored");
            continue;
        }
        if value.is_null() {
            continue;
        }
        if !state.set_json(&field, value.clone()) {
            warn!(field = %name, "a reported field of the wrong type; ignored");
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn topics() {
        assert_eq!(
            thing_of("$aws/things/front-door/shadow/update/documents"),
            Some(("front-door", None))
        );
        assert_eq!(
            thing_of("$aws/things/front-door/shadow/name/lock/update/documents"),
            Some(("front-door", Some("lock")))
        );
        assert_eq!(
            thing_of("$aws/things/front-door/shadow/update/accepted"),
            None
        );
        assert_eq!(thing_of("$aws/things//shadow/update/documents"), None);
        assert_eq!(thing_of("other/topic"), None);
    }

    fn documents(previous: Value, current: Value) -> ShadowDocuments {
        serde_json::from_value(json!({
            "topic": "$aws/things/t/shadow/update/documents",
            "previous": previous, "current": current, "timestamp": 1_700_000_000,
        }))
        .unwrap()
    }

    #[test]
    fn only_fields_the_update_touched_are_taken() {
        let d = documents(
            json!({"state": {"reported": {"lockState": "UNLOCKED", "batteryLevel": 80}},
                   "metadata": {"reported": {"lockState": {"timestamp": 1}, "batteryLevel": {"timestamp": 1}}},
                   "version": 3}),
            json!({"state": {"reported": {"lockState": "LOCKED", "batteryLevel": 80}},
                   "metadata": {"reported": {"lockState": {"timestamp": 2}, "batteryLevel": {"timestamp": 1}}},
                   "version": 4}),
        );
        let t = touched(&d);
        assert_eq!(
            t.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["lockState"]
        );
        // The same value reported again is the device's word: it counts.
        let again = documents(
            json!({"state": {"reported": {"lockState": "LOCKED"}}, "metadata": {"reported": {"lockState": {"timestamp": 2}}}, "version": 4}),
            json!({"state": {"reported": {"lockState": "LOCKED"}}, "metadata": {"reported": {"lockState": {"timestamp": 3}}}, "version": 5}),
        );
        assert_eq!(touched(&again).len(), 1);
    }

    #[test]
    fn a_value_changed_within_one_second_counts_and_so_does_one_reported_again() {
        // Shadow timestamps are whole seconds: UNLOCKED then JAMMED in the same second.
        let same_second = documents(
            json!({"state": {"reported": {"lockState": "UNLOCKED"}}, "metadata": {"reported": {"lockState": {"timestamp": 7}}}, "version": 4}),
            json!({"state": {"reported": {"lockState": "JAMMED"}}, "metadata": {"reported": {"lockState": {"timestamp": 7}}}, "version": 5}),
        );
        assert_eq!(touched(&same_second).len(), 1);
        // LOCKED reported again within the second: nothing changed but the version, and the
        // desired side is as it was: the device's word, which a pending Lock waits for.
        let again = documents(
            json!({"state": {"desired": {"lockState": "LOCKED"}, "reported": {"lockState": "LOCKED"}}, "metadata": {"desired": {"lockState": {"timestamp": 7}}, "reported": {"lockState": {"timestamp": 7}}}, "version": 5}),
            json!({"state": {"desired": {"lockState": "LOCKED"}, "reported": {"lockState": "LOCKED"}}, "metadata": {"desired": {"lockState": {"timestamp": 7}}, "reported": {"lockState": {"timestamp": 7}}}, "version": 6}),
        );
        assert!(touched(&again).is_empty());
        assert!(reasserted(&again));
        // A desired update (the skill's command) is not the device's.
        let desired = documents(
            json!({"state": {"desired": {"lockState": "UNLOCKED"}, "reported": {"lockState": "LOCKED"}}, "metadata": {"desired": {"lockState": {"timestamp": 6}}, "reported": {"lockState": {"timestamp": 7}}}, "version": 6}),
            json!({"state": {"desired": {"lockState": "LOCKED"}, "reported": {"lockState": "LOCKED"}}, "metadata": {"desired": {"lockState": {"timestamp": 8}}, "reported": {"lockState": {"timestamp": 7}}}, "version": 7}),
        );
        assert!(touched(&desired).is_empty());
        assert!(!reasserted(&desired));
    }

    #[test]
    fn unknown_and_mistyped_fields_are_left_out() {
        let reported =
            json!({"powerOn": true, "brightness": "very", "firmware": "1.2", "Fan.Speed": 3});
        let Value::Object(map) = reported else {
            unreachable!()
        };
        let state = state_of(&map);
        assert_eq!(state.power_on, Some(true));
        assert_eq!(state.brightness, None);
        assert_eq!(
            state.fields(),
            [Field::PowerOn, Field::Setting("Fan.Speed".into())]
        );
    }
}
