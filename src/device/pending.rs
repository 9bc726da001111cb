//! Commands awaiting the device's confirmation, and when a reported state settles one.
//!
//! The skill records one on the device item when it answers `DeferredResponse`; the stream
//! Lambda settles it when a record shows the device's answer, and only then is Alexa told the
//! command's outcome. What confirms a command is a report made *after* it was sent: the device
//! saying so, not the state the table happened to hold.

use serde::{Deserialize, Serialize};

use super::{Device, DeviceState, LockState};

/// A command sent to a device that must confirm it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    pub fn settle(&self, device: &Device, now_ms: i64) -> Settlement {
        // Alexa stopped waiting at the deadline: a later answer is only a ChangeReport.
        if now_ms > self.deadline {
            return Settlement::Expired;
        }
        if self.answered_by(device) {
            if self.matches(&device.state) {
                return Settlement::Confirmed;
            }
            if self.expect.lock_state.is_some()
                && device.state.lock_state == Some(LockState::Jammed)
            {
                return Settlement::Jammed;
            }
        }
        Settlement::Waiting
    }

    /// Whether the device has reported since the command was sent.
    fn answered_by(&self, device: &Device) -> bool {
        match self.shadow_version {
            Some(sent) => device.shadow_version.is_some_and(|v| v > sent),
            None => {
                let fields = field_names(&self.expect);
                !fields.is_empty()
                    && fields.iter().all(|f| {
                        device
                            .sampled_at
                            .get(f)
                            .is_some_and(|at| *at >= self.issued_at)
                    })
            }
        }
    }

    /// Whether every expected value is what the state holds.
    pub fn matches(&self, state: &DeviceState) -> bool {
        let (Ok(serde_json::Value::Object(expect)), Ok(serde_json::Value::Object(now))) = (
            serde_json::to_value(&self.expect),
            serde_json::to_value(state),
        ) else {
            return false;
        };
        !expect.is_empty() && expect.iter().all(|(k, v)| now.get(k) == Some(v))
    }
}

/// The `state` field names a partial state sets.
pub fn field_names(state: &DeviceState) -> Vec<String> {
    match serde_json::to_value(state) {
        Ok(serde_json::Value::Object(map)) => map.into_iter().map(|(k, _)| k).collect(),
        _ => Vec::new(),
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
        }
    }

    #[test]
    fn only_a_report_after_the_command_confirms_it() {
        let p = pending(None);
        // Locked before the command was sent: not the device's answer.
        let before = lock(json!({"lockState": "LOCKED"}), 999, None);
        assert_eq!(p.settle(&before, 2_000), Settlement::Waiting);
        let after = lock(json!({"lockState": "LOCKED"}), 1_500, None);
        assert_eq!(p.settle(&after, 2_000), Settlement::Confirmed);
        let other = lock(json!({"lockState": "UNLOCKED"}), 1_500, None);
        assert_eq!(p.settle(&other, 2_000), Settlement::Waiting);
    }

    #[test]
    fn shadow_versions_order_reports() {
        let p = pending(Some(4));
        assert_eq!(
            p.settle(&lock(json!({"lockState": "LOCKED"}), 0, Some(4)), 2_000),
            Settlement::Waiting
        );
        assert_eq!(
            p.settle(&lock(json!({"lockState": "LOCKED"}), 0, Some(5)), 2_000),
            Settlement::Confirmed
        );
    }

    #[test]
    fn a_jammed_lock_and_an_expired_command() {
        let p = pending(None);
        let jammed = lock(json!({"lockState": "JAMMED"}), 1_500, None);
        assert_eq!(p.settle(&jammed, 2_000), Settlement::Jammed);
        let silent = lock(json!({"lockState": "UNLOCKED"}), 500, None);
        assert_eq!(p.settle(&silent, 31_001), Settlement::Expired);
        // Alexa no longer waits: a late confirmation is only a ChangeReport.
        let late = lock(json!({"lockState": "LOCKED"}), 31_500, None);
        assert_eq!(p.settle(&late, 31_600), Settlement::Expired);
    }
}
