//! What an alarm panel does with Arm and Disarm, and the wrong-PIN limit.
//!
//! **Arm** is refused, in `Alexa.SecurityPanelController`'s own error types, when the panel is
//! armed away and asked for another mode (`AUTHORIZATION_REQUIRED`: disarming takes the PIN,
//! re-arming in a lower mode must not skip it), when an alarm sounds (`UNCLEARED_ALARM`), on a
//! trouble condition (`UNCLEARED_TROUBLE`), with zones open (`BYPASS_NEEDED`, naming them), or
//! when the panel says it is not ready (`NOT_READY`).
//!
//! **Disarm** of a disarmed panel is a success, as Amazon's docs say, and checks no PIN (so it
//! tells a guesser nothing). Otherwise, for a panel that takes a PIN, the PIN is checked: by
//! the item's `pinHash` for `table` and `iot` devices (a PIN is never written to a shadow), by
//! the maker's API for `https` ones, which receives it in the signed command.
//!
//! **Wrong PINs are limited per panel**: an attempt is recorded *before* the PIN is checked,
//! with a compare-and-set of the item's `pinAttempts`, and refused when [`MAX_PIN_ATTEMPTS`]
//! are already recorded within [`PIN_WINDOW_MS`]. So however many PINs arrive at once, at most
//! that many are ever checked in a window: a four-digit PIN has only 10,000 values. A right
//! PIN clears the attempts made before it.

use tracing::{error, warn};

use super::{Services, in_time};
use crate::alexa::Secret;
use crate::alexa::interface::Interface;
use crate::cloud::CloudError;
use crate::deadline::Deadline;
use crate::device::pin::is_four_digits;
use crate::device::{ArmState, Device, DeviceCapability, DeviceState, PanelRefusal};
use crate::error::{Chain, SkillError};
use crate::metrics;
use crate::store::{Store, Swap};

/// PINs checked per panel within [`PIN_WINDOW_MS`] before PINs are refused unchecked.
pub const MAX_PIN_ATTEMPTS: usize = 5;
/// The window the attempts are counted in: a lockout lasts until the oldest of them leaves it.
pub const PIN_WINDOW_MS: i64 = 15 * 60 * 1000;
/// How often a contended attempt record is read and written again before giving up.
const MAX_SWAPS: u32 = 20;

/// Arms `device` in `requested`, or says why the panel refuses.
pub fn arm(
    device: &Device,
    capability: &DeviceCapability,
    requested: ArmState,
    patch: &mut DeviceState,
) -> Result<(), SkillError> {
    let DeviceCapability::SecurityPanel { arm_states, .. } = capability else {
        return Err(SkillError::NotSupported(
            Interface::SecurityPanel.namespace(),
        ));
    };
    if !requested.is_armed() || !arm_states.contains(&requested) {
        return Err(SkillError::InvalidValue(format!(
            "the panel does not arm in {}",
            requested.name()
        )));
    }
    let s = &device.state;
    if s.arm_state == Some(ArmState::ArmedAway) && requested != ArmState::ArmedAway {
        return Err(PanelRefusal::AuthorizationRequired.into());
    }
    let sounding = [
        s.burglary_alarm,
        s.fire_alarm,
        s.carbon_monoxide_alarm,
        s.water_alarm,
    ];
    if sounding.contains(&Some(true)) {
        return Err(PanelRefusal::UnclearedAlarm.into());
    }
    if s.panel_trouble == Some(true) {
        return Err(PanelRefusal::UnclearedTrouble.into());
    }
    if let Some(zones) = s.open_zones.as_ref().filter(|z| !z.is_empty()) {
        return Err(PanelRefusal::BypassNeeded(zones.clone()).into());
    }
    if s.panel_not_ready == Some(true) {
        return Err(PanelRefusal::NotReady.into());
    }
    patch.arm_state = Some(requested);
    Ok(())
}

/// Disarms `device`; `true` when the customer's PIN must be checked first.
pub fn disarm(
    device: &Device,
    capability: &DeviceCapability,
    patch: &mut DeviceState,
) -> Result<bool, SkillError> {
    let DeviceCapability::SecurityPanel { pin, .. } = capability else {
        return Err(SkillError::NotSupported(
            Interface::SecurityPanel.namespace(),
        ));
    };
    patch.arm_state = Some(ArmState::Disarmed);
    Ok(*pin && device.state.arm_state != Some(ArmState::Disarmed))
}

/// The exit delay `Arm.Response` tells: the panel's own, within Alexa's 0–255 s.
pub fn exit_delay(device: &Device) -> u8 {
    device
        .definition
        .capabilities
        .iter()
        .find_map(|c| match c {
            DeviceCapability::SecurityPanel {
                exit_delay_seconds, ..
            } => Some(*exit_delay_seconds),
            _ => None,
        })
        .unwrap_or(0)
}

/// One PIN attempt, recorded on the panel before the PIN is checked.
#[must_use = "an attempt is settled: checked here, or by the maker's answer"]
pub struct PinAttempt<'a, S> {
    services: &'a Services<S>,
    device: &'a Device,
    /// The record as this attempt left it, and the attempt's own time in it.
    record: Vec<i64>,
    at: i64,
}

impl<'a, S: Store> PinAttempt<'a, S> {
    /// Records an attempt with `pin` on `device`; refused (`UNAUTHORIZED`) without a PIN, and
    /// unrecorded and unchecked while the panel's PINs are locked out.
    pub async fn start(
        services: &'a Services<S>,
        device: &'a Device,
        pin: Option<&Secret>,
        deadline: &Deadline,
    ) -> Result<Self, SkillError> {
        if pin.is_none() {
            metrics::pin_refused("Missing");
            return Err(PanelRefusal::Unauthorized.into());
        }
        let (user_id, endpoint_id) = (&device.definition.user_id, &device.definition.endpoint_id);
        let mut current = device.pin_attempts.clone();
        for _ in 0..MAX_SWAPS {
            let now = services.clock.now_ms();
            let mut record: Vec<i64> = current
                .iter()
                .copied()
                .filter(|t| now - t < PIN_WINDOW_MS)
                .collect();
            if record.len() >= MAX_PIN_ATTEMPTS {
                warn!("PIN refused unchecked: too many wrong PINs for this panel");
                metrics::pin_refused("LockedOut");
                return Err(PanelRefusal::Unauthorized.into());
            }
            record.push(now);
            let swap = in_time(
                deadline,
                services
                    .store
                    .replace_pin_attempts(user_id, endpoint_id, &current, &record),
            )
            .await?;
            match swap {
                Swap::Done => {
                    return Ok(Self {
                        services,
                        device,
                        record,
                        at: now,
                    });
                }
                Swap::Missing => return Err(SkillError::NoSuchEndpoint),
                Swap::Conflict => {
                    current = in_time(deadline, services.store.device(user_id, endpoint_id))
                        .await?
                        .ok_or(SkillError::NoSuchEndpoint)?
                        .pin_attempts;
                }
            }
        }
        Err(SkillError::Busy)
    }

    /// Checks `pin` against the item's hash (`table` and `iot` devices): a right PIN clears
    /// the record, a wrong one stays in it.
    pub async fn check(self, pin: Option<&Secret>) -> Result<(), SkillError> {
        let Some(hash) = self.device.pin_hash.clone() else {
            error!("the panel takes a PIN but its item has no pinHash; Disarm refused");
            return Err(CloudError::Refused("the panel's item has no pinHash".into()).into());
        };
        let pin = pin.cloned().unwrap_or_else(|| Secret::new(""));
        let right = if is_four_digits(pin.expose()) {
            // Argon2 takes tens of milliseconds of CPU on purpose: off the async workers.
            tokio::task::spawn_blocking(move || hash.verify(&pin))
                .await
                .map_err(|e| CloudError::Failed(Box::new(e)))?
        } else {
            Ok(false)
        };
        match right {
            Ok(true) => {
                self.passed().await;
                Ok(())
            }
            Ok(false) => {
                self.wrong();
                Err(PanelRefusal::Unauthorized.into())
            }
            Err(e) => {
                error!(error = %e, "the panel's pinHash cannot be checked; Disarm refused");
                Err(CloudError::Refused(e.to_string()).into())
            }
        }
    }

    /// What the maker's API answered the command carrying the PIN (`https` devices).
    pub async fn settle<T>(self, answer: &Result<T, SkillError>) {
        match answer {
            Ok(_) => self.passed().await,
            Err(SkillError::Cloud(CloudError::Panel(PanelRefusal::Unauthorized))) => self.wrong(),
            // The maker did not say whether the PIN was right: the attempt stays counted.
            Err(_) => {}
        }
    }

    fn wrong(&self) {
        warn!(attempts = self.record.len(), "wrong PIN");
        metrics::pin_refused("Wrong");
    }

    /// The PIN was right: the attempts up to this one are cleared (those made since, by
    /// someone else at the same time, still count).
    async fn passed(self) {
        let (user_id, endpoint_id) = (
            &self.device.definition.user_id,
            &self.device.definition.endpoint_id,
        );
        let mut current = self.record;
        for _ in 0..MAX_SWAPS {
            let left: Vec<i64> = current.iter().copied().filter(|t| *t > self.at).collect();
            match self
                .services
                .store
                .replace_pin_attempts(user_id, endpoint_id, &current, &left)
                .await
            {
                Ok(Swap::Done | Swap::Missing) => return,
                Ok(Swap::Conflict) => {
                    match self.services.store.device(user_id, endpoint_id).await {
                        Ok(Some(device)) => current = device.pin_attempts,
                        Ok(None) => return,
                        Err(e) => {
                            warn!(error = %Chain(&e), "the right PIN's attempts could not be cleared");
                            return;
                        }
                    }
                }
                Err(e) => {
                    warn!(error = %Chain(&e), "the right PIN's attempts could not be cleared");
                    return;
                }
            }
        }
    }
}
