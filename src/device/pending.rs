//! Commands awaiting the device's confirmation, and when a reported state settles one.
//!
//! The skill records one on the device item when it answers `DeferredResponse`; the stream
//! Lambda settles it when a record shows the device's answer, and only then is Alexa told the
//! command's outcome. What confirms a command is a report made *after* it was sent: the device
//! saying so, not the state the table happened to hold. Whether it came in time is judged by
//! the report's own time, not by when a (throttled, retried, late) batch is processed.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Device, DeviceState, Field, LockState};

/// A command sent to a device that must confirm it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingCommand {
    /// The directive's, echoed in the asynchronous response.
    pub correlation_token: String,
    /// The shadow update's `clientToken` or the HTTPS command's `commandId`.
    pub command_id: String,
    /// The values that confirm the command, in the devices table's field names.
    pub expect: DeviceState,
    /// When it was sent, Unix milliseconds.
    pub issued_at: i64,
    /// After this, Alexa has stopped waiting: the command is dropped, and a later report is a
    /// plain ChangeReport.
    pub deadline: i64,
    /// IoT: the shadow version the command's desired state made; only a reported state with a
    /// higher version can answer it. Absent: a value sampled at or after `issued_at` does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shadow_version: Option<u64>,
    /// The sample time of each field the command sets, as read before it was sent (a field
    /// never sampled is absent): a report is the device's answer when it samples each of them
    /// anew, whatever its cloud's clock says. `None` in a command written by an older build,
    /// whose answer is a sample at or after `issued_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_before: Option<BTreeMap<Field, i64>>,
    /// Fields this build does not know (written by a newer one during a rolling deploy): kept
    /// as they are when this build rewrites the list.
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// What a device's state says about a pending command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// The device reported the values the command asked for.
    Confirmed,
    /// The device reported that it could not do it: a lock that jammed.
    Jammed,
    /// Alexa stopped waiting before the device answered.
    Expired,
    /// No answer yet (or the device is on its way: a garage door reports where it is).
    Waiting,
}

impl PendingCommand {
    /// What `device`, as it was at `image_at` (Unix ms: when the stream record was made, or
    /// when the skill read it; `None` if not known), says of this command. A report made by
    /// the deadline counts however late it is looked at; one made after it is only a
    /// ChangeReport; no report yet is expired only once the image is from after the deadline.
    pub fn settle(&self, device: &Device, image_at: Option<i64>) -> Settlement {
        let Some(reported_at) = self.answered_at(device, image_at) else {
            return if image_at.is_some_and(|at| at > self.deadline) {
                Settlement::Expired
            } else {
                Settlement::Waiting
            };
        };
        // Alexa stopped waiting at the deadline: a later answer is only a ChangeReport.
        if reported_at > self.deadline {
            return Settlement::Expired;
        }
        if self.matches(&device.state) {
            return Settlement::Confirmed;
        }
        if self.expect.lock_state.is_some() && device.state.lock_state == Some(LockState::Jammed) {
            return Settlement::Jammed;
        }
        Settlement::Waiting
    }

    /// When the device reported since the command was sent (Unix ms), if it has. Whether it
    /// has is told without comparing clocks (a shadow version above the command's, or a new
    /// sample of each field the command sets); when is the report's sample time, and the
    /// image's time for a report that wrote none of the fields (their values held). The
    /// image's time is not a bound on a sample: stream records are timed in whole seconds
    /// (DynamoDB Local: whole minutes), rounded down.
    fn answered_at(&self, device: &Device, image_at: Option<i64>) -> Option<i64> {
        let fields = self.expect.fields();
        let sampled = |f: &Field| device.sampled_at.get(f).copied();
        let answered = match (self.shadow_version, &self.sampled_before) {
            (Some(sent), _) => device.shadow_version.is_some_and(|v| v > sent),
            (None, Some(before)) => {
                !fields.is_empty()
                    && fields
                        .iter()
                        .all(|f| sampled(f).is_some_and(|at| before.get(f) != Some(&at)))
            }
            (None, None) => {
                !fields.is_empty()
                    && fields
                        .iter()
                        .all(|f| sampled(f).is_some_and(|at| at >= self.issued_at))
            }
        };
        if !answered {
            return None;
        }
        // The fields' samples made since the command (a report that left a field alone keeps
        // its old sample, which is not when the device answered).
        let fresh = |f: &Field, at: i64| match &self.sampled_before {
            Some(before) => before.get(f) != Some(&at),
            None => at >= self.issued_at,
        };
        let sample = fields
            .iter()
            .filter_map(|f| sampled(f).filter(|at| fresh(f, *at)))
            .max();
        Some(sample.or(image_at).unwrap_or(self.issued_at))
    }

    /// Whether every expected value is what the state holds.
    pub fn matches(&self, state: &DeviceState) -> bool {
        state.holds(&self.expect)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lock(state: serde_json::Value, sampled: i64, version: Option<u64>) -> Device {
        let mut d: Device = serde_json::from_value(json!({
            "userId": "u", "endpointId": "front-door", "name": "Front door", "description": "d",
            "manufacturer": "Acme", "category": "SMARTLOCK", "capabilities": [{"type": "lock"}],
            "state": state, "sampledAt": {"lockState": sampled},
        }))
        .unwrap();
        d.shadow_version = version;
        d
    }

    fn pending(version: Option<u64>) -> PendingCommand {
        PendingCommand {
            correlation_token: "ct".into(),
            command_id: "c1".into(),
            expect: DeviceState {
                lock_state: Some(LockState::Locked),
                ..DeviceState::default()
            },
            issued_at: 1_000,
            deadline: 31_000,
            shadow_version: version,
            ..PendingCommand::default()
        }
    }

    #[test]
    fn only_a_report_after_the_command_confirms_it() {
        let p = pending(None);
        // Locked before the command was sent: not the device's answer.
        let before = lock(json!({"lockState": "LOCKED"}), 999, None);
        assert_eq!(p.settle(&before, Some(2_000)), Settlement::Waiting);
        let after = lock(json!({"lockState": "LOCKED"}), 1_500, None);
        assert_eq!(p.settle(&after, Some(2_000)), Settlement::Confirmed);
        let other = lock(json!({"lockState": "UNLOCKED"}), 1_500, None);
        assert_eq!(p.settle(&other, Some(2_000)), Settlement::Waiting);
    }

    #[test]
    fn shadow_versions_order_reports() {
        let p = pending(Some(4));
        assert_eq!(
            p.settle(
                &lock(json!({"lockState": "LOCKED"}), 0, Some(4)),
                Some(2_000)
            ),
            Settlement::Waiting
        );
        assert_eq!(
            p.settle(
                &lock(json!({"lockState": "LOCKED"}), 0, Some(5)),
                Some(2_000)
            ),
            Settlement::Confirmed
        );
    }

    #[test]
    fn a_jammed_lock_and_an_expired_command() {
        let p = pending(None);
        let jammed = lock(json!({"lockState": "JAMMED"}), 1_500, None);
        assert_eq!(p.settle(&jammed, Some(2_000)), Settlement::Jammed);
        let silent = lock(json!({"lockState": "UNLOCKED"}), 500, None);
        assert_eq!(p.settle(&silent, Some(31_001)), Settlement::Expired);
        // Alexa no longer waits: a late confirmation is only a ChangeReport.
        let late = lock(json!({"lockState": "LOCKED"}), 31_500, None);
        assert_eq!(p.settle(&late, Some(31_600)), Settlement::Expired);
    }

    #[test]
    fn lateness_is_the_reports_not_the_readers() {
        let p = pending(None);
        // Reported at 2 s, read at 40 s (a batch throttled and retried): in time.
        let in_time = lock(json!({"lockState": "LOCKED"}), 2_000, None);
        assert_eq!(p.settle(&in_time, Some(40_000)), Settlement::Confirmed);
        // No report in an image taken before the deadline: still waiting, however late the
        // image is looked at; in one taken after it, expired.
        let silent = lock(json!({"lockState": "UNLOCKED"}), 500, None);
        assert_eq!(p.settle(&silent, Some(30_000)), Settlement::Waiting);
        assert_eq!(p.settle(&silent, None), Settlement::Waiting);
        // IoT: a higher version whose report wrote nothing new is as late as its image.
        let iot = pending(Some(4));
        let held = lock(json!({"lockState": "LOCKED"}), 500, Some(5));
        assert_eq!(iot.settle(&held, Some(20_000)), Settlement::Confirmed);
        assert_eq!(iot.settle(&held, Some(32_000)), Settlement::Expired);
    }

    #[test]
    fn the_answer_is_a_new_sample_whatever_the_device_clouds_clock_says() {
        // Sent at 10 s by our clock; the lock's field was sampled at 9 s before it.
        let p = PendingCommand {
            issued_at: 10_000,
            deadline: 40_000,
            sampled_before: Some(BTreeMap::from([(Field::LockState, 9_000)])),
            ..pending(None)
        };
        // The maker's cloud, 2 s behind us, records the lock's report at "8.5 s": a new sample
        // all the same, in time.
        let behind = lock(json!({"lockState": "LOCKED"}), 8_500, None);
        assert_eq!(p.settle(&behind, Some(10_200)), Settlement::Confirmed);
        // The sample read before the command is no answer, however its time compares.
        let unchanged = lock(json!({"lockState": "LOCKED"}), 9_000, None);
        assert_eq!(p.settle(&unchanged, Some(10_200)), Settlement::Waiting);
        // A report sampled after the deadline is late, whenever its record is looked at.
        let late = lock(json!({"lockState": "LOCKED"}), 40_500, None);
        assert_eq!(p.settle(&late, Some(40_000)), Settlement::Expired);
    }

    #[test]
    fn fields_of_a_newer_build_survive_a_round_trip() {
        let written = json!({"correlationToken": "ct", "commandId": "c1",
            "expect": {"lockState": "LOCKED"}, "issuedAt": 1, "deadline": 2,
            "retryBudget": {"left": 2}});
        let read: PendingCommand = serde_json::from_value(written.clone()).unwrap();
        assert_eq!(read.other["retryBudget"], json!({"left": 2}));
        assert_eq!(serde_json::to_value(&read).unwrap(), written);
    }
}
