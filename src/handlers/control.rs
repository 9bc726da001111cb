//! Control directives: check that the customer owns the endpoint and that it can do what is
//! asked, hand the planned state to the device's cloud (`crate::cloud`: for the `table`
//! adapter, one conditional update of the devices table), and answer only what the device
//! cloud vouches for: the confirmed or accepted state with every reportable property, or
//! `DeferredResponse` for a device that must confirm first.

use std::time::Duration;

use serde::Serialize;
use tracing::{debug, info, warn};

use super::light::Light;
use super::media::{self, Equalizer};
use super::security_panel::{self, PinAttempt};
use super::thermostat::Thermostat;
use super::{Services, ghost, in_time};
use crate::alexa::control::Command;
use crate::alexa::directive::Header;
use crate::alexa::event::{
    self, Addressing, ArmPayload, CauseType, DeferredPayload, Empty, Message, ScenePayload,
    SeekPayload,
};
use crate::alexa::interface::Interface;
use crate::alexa::{BearerToken, Secret};
use crate::cloud::{Adapter, CloudCommand, CloudError, Delivery};
use crate::deadline::Deadline;
use crate::device::mapping::range_default_delta;
use crate::device::pending::{PendingCommand, Settlement};
use crate::device::properties::{reportable, time_of_sample};
use crate::device::{
    Connectivity, Device, DeviceCapability, DeviceState, Hsb, LockState, SettingValue,
};
use crate::error::Chain;
use crate::error::SkillError;
use crate::ids::{EndpointId, UserId};
use crate::store::{Since, StateOutcome, StateWrite, Store, Swap};

/// How often an adjustment is recomputed when concurrent changes keep winning the race (the
/// directive's deadline stops it first when the table is slow).
const MAX_ATTEMPTS: u32 = 50;

/// The answer to a control directive.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum ControlAnswer {
    Response(Message<Empty>),
    Scene(Message<ScenePayload>),
    Seek(Message<SeekPayload>),
    Arm(Message<ArmPayload>),
    /// The device must confirm: the outcome follows through the event gateway.
    Deferred(Message<DeferredPayload>),
}

/// Carries out a command by `deadline`.
///
/// For the `table` adapter the table write is the delivery: it is planned from the state read
/// and written with compare-and-set, and planned again when the state changed meanwhile. For
/// a remote adapter, the command goes to the device at most once: whatever its cloud answers
/// is recorded as it is, and nothing after the send plans or sends again.
pub async fn control<S: Store>(
    services: &Services<S>,
    to: &Addressing,
    header: &Header,
    endpoint_id: &EndpointId,
    token: &BearerToken,
    command: &Command,
    deadline: &Deadline,
) -> Result<ControlAnswer, SkillError> {
    let user_id = services.customer(token, deadline).await?;
    // One id per directive: a remote adapter is sent it (if anything ever did send twice, the
    // device could tell), and a one-off request carries it in the table.
    let command_id = CommandId::default();
    // A PIN is checked once per directive, however often a table write is planned again.
    let mut pin_checked = false;
    for attempt in 0..MAX_ATTEMPTS {
        let Some(device) = in_time(deadline, services.store.device(&user_id, endpoint_id)).await?
        else {
            ghost::report_deleted(services, &user_id, endpoint_id, deadline).await;
            return Err(SkillError::NoSuchEndpoint);
        };
        let asked = Asked {
            command_id: &command_id,
            at_ms: services.clock.now_ms(),
        };
        let change = plan(&device, command, asked)?;
        let call = Call {
            services,
            to,
            command,
            device: &device,
            deadline,
        };
        let adapter = services.clouds.adapter_for(&device);
        let pin = command.pin();
        let mut attempt_sent = None;
        if change.needs_pin && !pin_checked {
            let attempt = PinAttempt::start(services, &device, pin, deadline).await?;
            pin_checked = true;
            if adapter == Adapter::Https {
                // The maker's API checks it, in the signed command.
                attempt_sent = Some(attempt);
            } else {
                attempt.check(pin).await?;
            }
        }
        if adapter != Adapter::Table {
            let answer = call
                .send(
                    adapter,
                    header,
                    change,
                    command_id.get(),
                    pin.filter(|_| attempt_sent.is_some()),
                )
                .await;
            if let Some(attempt) = attempt_sent {
                attempt.settle(&answer).await;
            }
            return answer;
        }
        match call.write_table(change).await? {
            Some(answer) => return Ok(answer),
            None => {
                debug!(attempt, "state changed meanwhile; recomputing");
                let backoff =
                    Duration::from_millis(u64::from(attempt.min(10)) * 2 + fastrand::u64(0..5));
                if deadline.remaining() <= backoff {
                    break;
                }
                tokio::time::sleep(backoff).await;
            }
        }
    }
    Err(SkillError::Busy)
}

/// One attempt at carrying a command out on one device.
struct Call<'a, S> {
    services: &'a Services<S>,
    to: &'a Addressing,
    command: &'a Command,
    device: &'a Device,
    deadline: &'a Deadline,
}

impl<S: Store> Call<'_, S> {
    fn user_id(&self) -> &UserId {
        &self.device.definition.user_id
    }

    fn endpoint_id(&self) -> &EndpointId {
        &self.device.definition.endpoint_id
    }

    /// The `table` adapter: writes the planned state into the devices table (the maker's
    /// cloud watches it). `None`: an adjustment's base changed meanwhile, plan again.
    async fn write_table(&self, change: Change) -> Result<Option<ControlAnswer>, SkillError> {
        let at_ms = self.services.clock.now_ms();
        let write = StateWrite {
            // An adjustment is computed from the state just read: it is written only if that
            // state still holds, so that concurrent adjustments all count.
            expected: change.relative.then(|| self.device.state.clone()),
            answered: true,
            ..StateWrite::report(change.patch, CauseType::VoiceInteraction, at_ms)
        };
        // Abandoning this write at the deadline is safe: nothing was told to anyone yet, and
        // if it lands after all, the stream tells Alexa (Alexa heard an error, not a success).
        let outcome = in_time(
            self.deadline,
            self.services
                .store
                .update_state(self.user_id(), self.endpoint_id(), &write),
        )
        .await?;
        match outcome {
            StateOutcome::Written(device) => {
                Ok(Some(answer(self.to, self.command, &device, at_ms)))
            }
            StateOutcome::Missing => self.gone().await,
            StateOutcome::Conflict => Ok(None),
        }
    }

    async fn gone<T>(&self) -> Result<T, SkillError> {
        ghost::report_deleted(
            self.services,
            self.user_id(),
            self.endpoint_id(),
            self.deadline,
        )
        .await;
        Err(SkillError::NoSuchEndpoint)
    }

    /// Hands the command to the device's cloud, once, and answers with what it says.
    async fn send(
        &self,
        adapter: Adapter,
        header: &Header,
        change: Change,
        command_id: &str,
        pin: Option<&Secret>,
    ) -> Result<ControlAnswer, SkillError> {
        let issued_at = self.services.clock.now_ms();
        let delivery = self
            .services
            .clouds
            .send(
                adapter,
                &CloudCommand {
                    device: self.device,
                    namespace: &header.namespace,
                    name: &header.name,
                    instance: header.instance.as_deref(),
                    desired: &change.patch,
                    command_id,
                    issued_at_ms: issued_at,
                    pin,
                },
                self.deadline,
            )
            .await
            .inspect_err(
                |e| warn!(%adapter, error = %Chain(e), "the device cloud did not take the command"),
            )?;
        // The device has the command: from here on nothing plans or sends again.
        match delivery {
            // The device's own values are the truth as of its answer.
            Delivery::Confirmed(reported) => self.record_taken(*reported, None).await,
            Delivery::Accepted { shadow_version } if self.device.must_confirm() => {
                self.defer(change.patch, command_id, issued_at, shadow_version)
                    .await
            }
            // Answered from the accepted command, unless the device reported since it was read
            // (its report is newer than what it accepted); if the device ends up elsewhere, its
            // report becomes a ChangeReport that corrects Alexa.
            Delivery::Accepted { shadow_version } => {
                let since = match shadow_version {
                    Some(version) => Since::ShadowVersion(version),
                    None => Since::Read {
                        state: Box::new(self.device.state.clone()),
                        sampled_at: self.device.sampled_at.clone(),
                    },
                };
                self.record_taken(change.patch, Some(since)).await
            }
        }
    }

    /// Records what the device cloud said of the command it took, unless the device has
    /// reported `since`: then its report, newer, stays, and the answer tells it. Not abandoned
    /// at the deadline (the device acted; the table must say so), and never planned again.
    async fn record_taken(
        &self,
        patch: DeviceState,
        since: Option<Since>,
    ) -> Result<ControlAnswer, SkillError> {
        let at_ms = self.services.clock.now_ms();
        let write = StateWrite {
            unless_reported: since,
            answered: true,
            ..StateWrite::report(patch, CauseType::VoiceInteraction, at_ms)
        };
        let device = match self
            .services
            .store
            .update_state(self.user_id(), self.endpoint_id(), &write)
            .await?
        {
            StateOutcome::Written(device) => *device,
            StateOutcome::Missing => return self.gone().await,
            StateOutcome::Conflict => {
                debug!("the device reported while it took the command; answered from its report");
                match self
                    .services
                    .store
                    .device(self.user_id(), self.endpoint_id())
                    .await?
                {
                    Some(device) => device,
                    None => return self.gone().await,
                }
            }
        };
        Ok(answer(self.to, self.command, &device, at_ms))
    }

    /// A device that must confirm has accepted the command. With an event grant, Alexa hears
    /// `DeferredResponse` now and the outcome later, from the stream; without one no later
    /// message can reach Alexa, so the skill waits for the device within the deadline and
    /// never claims what it has not seen.
    async fn defer(
        &self,
        expect: DeviceState,
        command_id: &str,
        issued_at: i64,
        shadow_version: Option<u64>,
    ) -> Result<ControlAnswer, SkillError> {
        let seconds = self.device.confirm_within_secs();
        // What tells the device's answer from a report made before the command, without
        // comparing its cloud's clock with ours: a higher shadow version, else a new sample of
        // each field the command sets.
        let sampled_before = expect
            .fields()
            .into_iter()
            .filter_map(|f| self.device.sampled_at.get(&f).map(|at| (f, *at)))
            .collect();
        let mut pending = PendingCommand {
            correlation_token: self.to.correlation_token.clone().unwrap_or_default(),
            command_id: command_id.to_owned(),
            expect,
            issued_at,
            deadline: issued_at + i64::from(seconds) * 1000,
            shadow_version,
            sampled_before: Some(sampled_before),
            ..PendingCommand::default()
        };
        let has_grant = in_time(self.deadline, self.services.store.grant(self.user_id()))
            .await
            .unwrap_or_else(|e| {
                warn!(error = %Chain(&e), "cannot read the customer's grant; waiting for the device instead");
                None
            })
            .is_some();
        if !has_grant || pending.correlation_token.is_empty() {
            let wait = self.services.confirm_wait.min(self.deadline.remaining());
            pending.deadline = issued_at + i64::try_from(wait.as_millis()).unwrap_or(0);
            return self.wait_for(&pending, wait).await;
        }
        let mut current = self.device.clone();
        for _ in 0..MAX_ATTEMPTS {
            // Commands Alexa no longer waits for are dropped on the way.
            let mut list: Vec<PendingCommand> = current
                .pending
                .iter()
                .filter(|p| p.deadline >= issued_at)
                .cloned()
                .collect();
            list.push(pending.clone());
            match self
                .services
                .store
                .replace_pending(
                    self.user_id(),
                    self.endpoint_id(),
                    current.pending_version,
                    &list,
                )
                .await?
            {
                Swap::Done => {
                    info!(seconds, "deferred until the device confirms");
                    return Ok(ControlAnswer::Deferred(event::deferred_response(
                        self.to, seconds,
                    )));
                }
                Swap::Missing => return self.gone().await,
                Swap::Conflict if !self.deadline.is_past() => {
                    match self
                        .services
                        .store
                        .device(self.user_id(), self.endpoint_id())
                        .await?
                    {
                        // This very write landed, and its answer was lost to a retry.
                        Some(device)
                            if device.pending.iter().any(|p| p.command_id == command_id) =>
                        {
                            info!(seconds, "deferred until the device confirms");
                            return Ok(ControlAnswer::Deferred(event::deferred_response(
                                self.to, seconds,
                            )));
                        }
                        Some(device) => current = device,
                        None => return self.gone().await,
                    }
                }
                Swap::Conflict => break,
            }
        }
        // The device has the command but its confirmation cannot be awaited: nothing claimed.
        warn!("the command's confirmation could not be recorded; nothing claimed");
        Err(CloudError::Unreachable(
            "the device took the command, but its confirmation cannot be awaited".into(),
        )
        .into())
    }

    /// Reads the device until it answers `pending` or `wait` has passed.
    async fn wait_for(
        &self,
        pending: &PendingCommand,
        wait: Duration,
    ) -> Result<ControlAnswer, SkillError> {
        let until = tokio::time::Instant::now() + wait;
        loop {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(CONFIRM_POLL.min(left)).await;
            let Some(device) = in_time(
                self.deadline,
                self.services
                    .store
                    .device(self.user_id(), self.endpoint_id()),
            )
            .await?
            else {
                return self.gone().await;
            };
            let now = self.services.clock.now_ms();
            match pending.settle(&device, Some(now)) {
                // A jammed lock is told as it is, in the lock state of the answer.
                Settlement::Confirmed | Settlement::Jammed => {
                    return Ok(answer(self.to, self.command, &device, now));
                }
                Settlement::Waiting if tokio::time::Instant::now() < until => {}
                Settlement::Waiting | Settlement::Expired => {
                    info!(
                        waited_ms = wait.as_millis() as u64,
                        "the device did not confirm in time; nothing claimed"
                    );
                    return Err(CloudError::Unreachable(
                        "the device did not confirm the command in time".into(),
                    )
                    .into());
                }
            }
        }
    }
}

/// How often the skill reads a device it waits for.
const CONFIRM_POLL: Duration = Duration::from_millis(200);

fn answer(to: &Addressing, command: &Command, device: &Device, at_ms: i64) -> ControlAnswer {
    // Measured against the write's time: the value just set has no uncertainty.
    let properties = reportable(device, at_ms);
    match command {
        Command::Activate | Command::Deactivate => ControlAnswer::Scene(event::scene_started(
            to,
            matches!(command, Command::Activate),
            time_of_sample(at_ms),
            properties,
        )),
        Command::Arm(_) => ControlAnswer::Arm(event::arm_response(
            to,
            security_panel::exit_delay(device),
            properties,
        )),
        Command::AdjustSeekPosition(_) => match device.state.playback_position_ms {
            Some(position) => ControlAnswer::Seek(event::seek_report(
                to,
                position.min(media::MAX_POSITION_MS),
                properties,
            )),
            // A device cloud that took the seek but did not say where: no position is made up.
            None => ControlAnswer::Response(event::state_response(to, false, properties)),
        },
        _ => ControlAnswer::Response(event::state_response(to, false, properties)),
    }
}

/// The state a command writes.
#[derive(Debug, PartialEq)]
pub struct Change {
    pub patch: DeviceState,
    /// Computed from the current value (an adjustment): written with compare-and-set.
    pub relative: bool,
    /// The customer's PIN must be checked before it is carried out (a panel's Disarm).
    pub needs_pin: bool,
}

/// One directive's command id, made when first asked for: a random UUID costs a `getrandom`
/// call, which a state write to the table (no remote adapter, no one-off request) does not need.
#[derive(Debug, Default)]
pub struct CommandId(std::cell::OnceCell<String>);

impl CommandId {
    /// An id given (a test's).
    pub fn fixed(id: &str) -> Self {
        Self(std::cell::OnceCell::from(id.to_owned()))
    }

    pub fn get(&self) -> &str {
        self.0
            .get_or_init(|| uuid::Uuid::new_v4().simple().to_string())
    }
}

/// What a plan needs besides the device and the command.
#[derive(Debug, Clone, Copy)]
pub struct Asked<'a> {
    /// The directive's command id, which a one-off request (`action`) carries.
    pub command_id: &'a CommandId,
    /// When it is planned (Unix ms): where playback is by now.
    pub at_ms: i64,
}

/// What `command` does to `device`, or why it cannot.
pub fn plan(device: &Device, command: &Command, asked: Asked<'_>) -> Result<Change, SkillError> {
    let (interface, instance) = command.target();
    let Some(capability) = device
        .definition
        .capabilities
        .iter()
        .find(|c| c.declares(interface, instance))
    else {
        return Err(SkillError::NotSupported(interface.namespace()));
    };
    if *command == Command::Deactivate
        && !matches!(
            capability,
            DeviceCapability::Scene {
                supports_deactivation: true
            }
        )
    {
        return Err(SkillError::NotSupported(
            "Alexa.SceneController deactivation",
        ));
    }
    if device.connectivity == Connectivity::Unreachable {
        return Err(SkillError::Unreachable);
    }
    if device.state.low_battery == Some(true) {
        return Err(SkillError::LowPower {
            percentage: device.state.battery_level,
        });
    }
    if command.is_media() {
        media::check_awake(device)?;
    }
    let current = &device.state;
    let light = Light::of(device);
    let mut patch = DeviceState::default();
    let mut relative = false;
    let mut needs_pin = false;
    match *command {
        Command::TurnOn => light.turn_on(&mut patch),
        Command::TurnOff => patch.power_on = Some(false),
        Command::SetBrightness(v) => light.set_brightness(percent(v)?, &mut patch),
        Command::AdjustBrightness(delta) => {
            in_range(delta as f64, -100.0, 100.0)?;
            light.adjust_brightness(delta, &mut patch);
            relative = true;
        }
        Command::SetPercentage(v) => patch.percentage = Some(percent(v)?),
        Command::AdjustPercentage(delta) => {
            patch.percentage = Some(adjust_percent(current.percentage.unwrap_or(0), delta)?);
            relative = true;
        }
        Command::SetPowerLevel(v) => patch.power_level = Some(percent(v)?),
        Command::AdjustPowerLevel(delta) => {
            patch.power_level = Some(adjust_percent(current.power_level.unwrap_or(0), delta)?);
            relative = true;
        }
        Command::SetColor(c) => {
            in_range(c.hue, 0.0, 360.0)?;
            in_range(c.saturation, 0.0, 1.0)?;
            in_range(c.brightness, 0.0, 1.0)?;
            patch.color = Some(Hsb {
                hue: c.hue,
                saturation: c.saturation,
                brightness: c.brightness,
            });
            light.set_color(&mut patch);
        }
        Command::SetColorTemperature(k) => {
            let (min, max) = kelvin_range(capability)?;
            in_range(k as f64, f64::from(min), f64::from(max))?;
            light.set_white(u32::try_from(k).unwrap_or(0), &mut patch);
        }
        Command::IncreaseColorTemperature | Command::DecreaseColorTemperature => {
            let cooler = *command == Command::IncreaseColorTemperature;
            light.step_white(kelvin_range(capability)?, cooler, &mut patch);
            relative = true;
        }
        Command::SetTargetTemperature(ref request) => {
            thermostat(capability)?.set(current, request, &mut patch)?;
        }
        Command::AdjustTargetTemperature(delta) => {
            thermostat(capability)?.adjust(current, delta, &mut patch)?;
            relative = true;
        }
        Command::SetThermostatMode(ref mode) => {
            thermostat(capability)?.set_mode(mode, &mut patch)?
        }
        Command::Lock => patch.lock_state = Some(LockState::Locked),
        Command::Unlock => patch.lock_state = Some(LockState::Unlocked),
        Command::Activate => patch.scene_active = Some(true),
        Command::Deactivate => patch.scene_active = Some(false),
        Command::SetVolume(v) => patch.volume = Some(percent(v)?),
        Command::AdjustVolume { delta, .. } => {
            patch.volume = Some(adjust_percent(current.volume.unwrap_or(0), delta)?);
            relative = true;
        }
        Command::SetMute(mute) => patch.muted = Some(mute),
        Command::SetRangeValue {
            ref instance,
            value,
        } => {
            let range = Range::of(capability).ok_or_else(|| mismatch(interface))?;
            patch
                .settings
                .insert(instance.clone(), SettingValue::Number(range.set(value)?));
        }
        Command::AdjustRangeValue {
            ref instance,
            delta,
            default,
        } => {
            let range = Range::of(capability).ok_or_else(|| mismatch(interface))?;
            let base = match current.settings.get(instance) {
                Some(SettingValue::Number(v)) => *v,
                _ => range.min,
            };
            let delta = if default {
                range.default_delta.copysign(delta)
            } else {
                delta
            };
            patch.settings.insert(
                instance.clone(),
                SettingValue::Number(range.adjust(base, delta)?),
            );
            relative = true;
        }
        Command::SetMode {
            ref instance,
            ref mode,
        } => {
            let DeviceCapability::Mode { modes, .. } = capability else {
                return Err(mismatch(interface));
            };
            if !modes.iter().any(|m| m.value == *mode) {
                return Err(SkillError::InvalidValue(format!(
                    "{instance} has no mode {:?}",
                    mode.chars().take(64).collect::<String>()
                )));
            }
            patch
                .settings
                .insert(instance.clone(), SettingValue::Mode(mode.clone()));
        }
        Command::AdjustMode {
            ref instance,
            delta,
        } => {
            let DeviceCapability::Mode { modes, ordered, .. } = capability else {
                return Err(mismatch(interface));
            };
            if !ordered || modes.is_empty() {
                return Err(SkillError::NotSupported(
                    "Alexa.ModeController AdjustMode on unordered modes",
                ));
            }
            let at = match current.settings.get(instance) {
                Some(SettingValue::Mode(m)) => modes.iter().position(|v| v.value == *m),
                _ => None,
            }
            .unwrap_or(0);
            let last = modes.len() - 1;
            let to = i64::try_from(at)
                .unwrap_or(0)
                .saturating_add(delta)
                .clamp(0, i64::try_from(last).unwrap_or(0));
            let to = usize::try_from(to).unwrap_or(0);
            patch.settings.insert(
                instance.clone(),
                SettingValue::Mode(modes[to].value.clone()),
            );
            relative = true;
        }
        Command::SetToggle { ref instance, on } => {
            patch
                .settings
                .insert(instance.clone(), SettingValue::On(on));
        }
        Command::AdjustVolumeSteps { steps, default } => {
            media::volume_steps(
                capability,
                steps,
                default,
                asked.command_id.get(),
                &mut patch,
            )?;
        }
        Command::SetStepMute(mute) => patch.muted = Some(mute),
        Command::Playback(operation) => {
            media::playback(
                capability,
                current,
                operation,
                asked.command_id.get(),
                &mut patch,
            )?;
        }
        Command::AdjustSeekPosition(delta) => {
            media::seek(device, delta, asked.at_ms, &mut patch)?;
            relative = true;
        }
        Command::SelectInput(ref input) => media::select_input(capability, input, &mut patch)?,
        Command::ChangeChannel(ref channel) => media::change_channel(channel, &mut patch),
        Command::SkipChannels(count) => {
            media::skip_channels(count, asked.command_id.get(), &mut patch)?;
        }
        // Every band change writes all the bands (one attribute): relative, so that two
        // changes of different bands both count.
        Command::SetBands(ref bands) => {
            Equalizer::of(capability)?.set(current, bands, &mut patch)?;
            relative = true;
        }
        Command::AdjustBands(ref bands) => {
            Equalizer::of(capability)?.adjust(current, bands, &mut patch)?;
            relative = true;
        }
        Command::ResetBands(ref bands) => {
            Equalizer::of(capability)?.reset(current, bands, &mut patch)?;
            relative = true;
        }
        Command::SetEqualizerMode(ref mode) => {
            Equalizer::of(capability)?.set_mode(mode, &mut patch)?;
        }
        Command::Hold | Command::Resume => {
            media::time_hold(device, capability, *command == Command::Hold, &mut patch)?;
        }
        Command::Arm(state) => security_panel::arm(device, capability, state, &mut patch)?,
        Command::Disarm(_) => needs_pin = security_panel::disarm(device, capability, &mut patch)?,
        // A camera's view is asked, not written (`handlers::camera`).
        Command::InitializeCameraStreams(_)
        | Command::InitiateSession { .. }
        | Command::SessionState { .. } => {
            return Err(SkillError::NotSupported(
                "a camera's view as a state change",
            ));
        }
    }
    Ok(Change {
        patch,
        relative,
        needs_pin,
    })
}

fn in_range(value: f64, min: f64, max: f64) -> Result<(), SkillError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(SkillError::ValueOutOfRange { value, min, max })
    }
}

fn percent(v: i64) -> Result<u8, SkillError> {
    in_range(v as f64, 0.0, 100.0)?;
    Ok(u8::try_from(v).unwrap_or(0))
}

/// A relative change of a 0–100 value; the result is clamped ("brighter" at 95 % is 100 %).
fn adjust_percent(base: u8, delta: i64) -> Result<u8, SkillError> {
    in_range(delta as f64, -100.0, 100.0)?;
    Ok(u8::try_from((i64::from(base) + delta).clamp(0, 100)).unwrap_or(0))
}

fn kelvin_range(capability: &DeviceCapability) -> Result<(u32, u32), SkillError> {
    match *capability {
        DeviceCapability::ColorTemperature {
            min_kelvin,
            max_kelvin,
        } => Ok((min_kelvin, max_kelvin)),
        _ => Err(mismatch(Interface::ColorTemperature)),
    }
}

/// A range capability's numbers.
struct Range {
    min: f64,
    max: f64,
    precision: f64,
    default_delta: f64,
}

impl Range {
    fn of(capability: &DeviceCapability) -> Option<Self> {
        match *capability {
            DeviceCapability::Range {
                min,
                max,
                precision,
                default_delta,
                ..
            } => Some(Self {
                min,
                max,
                precision,
                default_delta: range_default_delta(min, max, precision, default_delta),
            }),
            _ => None,
        }
    }

    /// The value on the range's grid of steps nearest to `value`.
    fn snap(&self, value: f64) -> f64 {
        let steps = ((value - self.min) / self.precision).round();
        (self.min + steps * self.precision).clamp(self.min, self.max)
    }

    fn set(&self, value: f64) -> Result<f64, SkillError> {
        if !value.is_finite() || !(self.min..=self.max).contains(&value) {
            return Err(SkillError::ValueOutOfRange {
                value,
                min: self.min,
                max: self.max,
            });
        }
        Ok(self.snap(value))
    }

    /// A relative change, clamped to the range ("raise" a blind that is nearly open opens it).
    fn adjust(&self, base: f64, delta: f64) -> Result<f64, SkillError> {
        let span = self.max - self.min;
        if !delta.is_finite() || delta.abs() > span {
            return Err(SkillError::ValueOutOfRange {
                value: delta,
                min: -span,
                max: span,
            });
        }
        Ok(self.snap((base + delta).clamp(self.min, self.max)))
    }
}

fn thermostat(capability: &DeviceCapability) -> Result<Thermostat<'_>, SkillError> {
    Thermostat::of(capability).ok_or_else(|| mismatch(Interface::Thermostat))
}

/// The capability that declares a command's interface is not the kind the command needs: the
/// catalogue rules it out (`DeviceCapability::interfaces`), but a wrong answer beats a panic.
fn mismatch(interface: Interface) -> SkillError {
    SkillError::NotSupported(interface.namespace())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::alexa::control::{Scale, SetpointRequest, Temperature};
    use crate::device::TemperatureScale;
    use crate::error::ThermostatError;

    /// The plans below need neither a command id nor the time.
    fn plan(device: &Device, command: &Command) -> Result<Change, SkillError> {
        super::plan(
            device,
            command,
            Asked {
                command_id: &CommandId::fixed("c"),
                at_ms: 0,
            },
        )
    }

    fn device(capabilities: serde_json::Value, state: serde_json::Value) -> Device {
        serde_json::from_value(json!({
            "userId": "u", "endpointId": "e", "name": "n", "description": "d", "manufacturer": "m",
            "category": "OTHER", "capabilities": capabilities, "state": state,
        }))
        .unwrap()
    }

    #[test]
    fn adjustments_clamp_and_are_relative() {
        let d = device(json!([{"type": "brightness"}]), json!({"brightness": 95}));
        let c = plan(&d, &Command::AdjustBrightness(10)).unwrap();
        assert_eq!(c.patch.brightness, Some(100));
        assert!(c.relative);
        assert!(matches!(
            plan(&d, &Command::AdjustBrightness(101)),
            Err(SkillError::ValueOutOfRange { .. })
        ));
        assert!(!plan(&d, &Command::SetBrightness(3)).unwrap().relative);
    }

    #[test]
    fn values_out_of_range() {
        let d = device(
            json!([{"type": "brightness"}, {"type": "color"}]),
            json!({}),
        );
        let Err(SkillError::ValueOutOfRange { min, max, .. }) =
            plan(&d, &Command::SetBrightness(101))
        else {
            panic!()
        };
        assert_eq!((min, max), (0.0, 100.0));
        let color = crate::alexa::control::Color {
            hue: 400.0,
            saturation: 1.0,
            brightness: 1.0,
        };
        assert!(plan(&d, &Command::SetColor(color)).is_err());
    }

    #[test]
    fn capability_and_reachability() {
        let d = device(json!([{"type": "power"}]), json!({}));
        assert!(matches!(
            plan(&d, &Command::SetBrightness(5)),
            Err(SkillError::NotSupported(_))
        ));
        let mut off = d.clone();
        off.connectivity = Connectivity::Unreachable;
        assert!(matches!(
            plan(&off, &Command::TurnOn),
            Err(SkillError::Unreachable)
        ));
        let scene = device(json!([{"type": "scene"}]), json!({}));
        assert!(matches!(
            plan(&scene, &Command::Deactivate),
            Err(SkillError::NotSupported(_))
        ));
    }

    fn set(target: Option<f64>, lower: Option<f64>, upper: Option<f64>, scale: Scale) -> Command {
        let t = |value| Temperature { value, scale };
        Command::SetTargetTemperature(SetpointRequest {
            target_setpoint: target.map(t),
            lower_setpoint: lower.map(t),
            upper_setpoint: upper.map(t),
        })
    }

    fn thermostat_error(result: Result<Change, SkillError>) -> ThermostatError {
        match result {
            Err(SkillError::Thermostat(e)) => e,
            other => panic!("not a thermostat error: {other:?}"),
        }
    }

    #[test]
    fn single_setpoint_thermostat() {
        let d = device(
            json!([{"type": "thermostat", "modes": ["HEAT", "OFF"]}]),
            json!({"targetSetpoint": 20.0, "thermostatMode": "HEAT"}),
        );
        let patch = |c: Command| plan(&d, &c).unwrap().patch;
        assert_eq!(
            patch(set(Some(70.0), None, None, Scale::Fahrenheit)).target_setpoint,
            Some(21.1)
        );
        assert!(matches!(
            plan(&d, &set(Some(40.0), None, None, Scale::Celsius)),
            Err(SkillError::TemperatureOutOfRange { .. })
        ));
        let up = Temperature {
            value: 2.0,
            scale: Scale::Celsius,
        };
        assert_eq!(
            patch(Command::AdjustTargetTemperature(up)).target_setpoint,
            Some(22.0)
        );
        assert_eq!(
            thermostat_error(plan(&d, &set(None, Some(18.0), Some(22.0), Scale::Celsius))),
            ThermostatError::DualUnsupported
        );
        assert_eq!(
            thermostat_error(plan(
                &d,
                &set(Some(20.0), Some(18.0), Some(22.0), Scale::Celsius)
            )),
            ThermostatError::TripleUnsupported
        );
        assert_eq!(
            thermostat_error(plan(&d, &Command::SetThermostatMode("COOL".into()))),
            ThermostatError::UnsupportedMode("COOL".into())
        );
        assert!(plan(&d, &Command::SetThermostatMode("OFF".into())).is_ok());
        let off = device(
            json!([{"type": "thermostat", "modes": ["HEAT", "OFF"]}]),
            json!({"targetSetpoint": 20.0, "thermostatMode": "OFF"}),
        );
        assert_eq!(
            thermostat_error(plan(&off, &set(Some(21.0), None, None, Scale::Celsius))),
            ThermostatError::IsOff
        );
    }

    #[test]
    fn dual_setpoint_thermostat_in_fahrenheit_keeps_its_values_exactly() {
        let d = device(
            json!([{"type": "thermostat", "modes": ["HEAT", "COOL", "AUTO", "OFF"], "scale": "FAHRENHEIT",
                "setpoints": "dual", "minSetpoint": 50, "maxSetpoint": 90}]),
            json!({"lowerSetpoint": 68.0, "upperSetpoint": 76.0, "thermostatMode": "AUTO"}),
        );
        let p = plan(&d, &set(None, Some(66.0), Some(74.0), Scale::Fahrenheit))
            .unwrap()
            .patch;
        assert_eq!(
            (p.lower_setpoint, p.upper_setpoint),
            (Some(66.0), Some(74.0))
        );
        // Celsius from Alexa, kept in the device's Fahrenheit.
        let p = plan(&d, &set(None, Some(20.0), None, Scale::Celsius))
            .unwrap()
            .patch;
        assert_eq!(
            (p.lower_setpoint, p.upper_setpoint),
            (Some(68.0), Some(76.0))
        );
        // One temperature in AUTO: the band moves to centre on it.
        let p = plan(&d, &set(Some(70.0), None, None, Scale::Fahrenheit))
            .unwrap()
            .patch;
        assert_eq!(
            (p.lower_setpoint, p.upper_setpoint),
            (Some(66.0), Some(74.0))
        );
        let too_close = thermostat_error(plan(
            &d,
            &set(None, Some(73.0), Some(74.0), Scale::Fahrenheit),
        ));
        assert_eq!(
            too_close,
            ThermostatError::TooClose {
                delta: 2.0,
                scale: TemperatureScale::Fahrenheit
            }
        );
        assert_eq!(
            thermostat_error(plan(
                &d,
                &set(Some(72.0), Some(68.0), Some(76.0), Scale::Fahrenheit)
            )),
            ThermostatError::TripleUnsupported
        );
        let up = Temperature {
            value: 2.0,
            scale: Scale::Fahrenheit,
        };
        let p = plan(&d, &Command::AdjustTargetTemperature(up))
            .unwrap()
            .patch;
        assert_eq!(
            (p.lower_setpoint, p.upper_setpoint),
            (Some(70.0), Some(78.0))
        );
        assert_eq!(p.target_setpoint, None);
    }

    #[test]
    fn triple_setpoint_thermostat_takes_all_three() {
        let d = device(
            json!([{"type": "thermostat", "modes": ["AUTO"], "setpoints": "triple"}]),
            json!({"targetSetpoint": 21.0, "lowerSetpoint": 19.0, "upperSetpoint": 24.0, "thermostatMode": "AUTO"}),
        );
        let p = plan(&d, &set(Some(22.0), Some(20.0), Some(25.0), Scale::Celsius))
            .unwrap()
            .patch;
        assert_eq!(
            (p.target_setpoint, p.lower_setpoint, p.upper_setpoint),
            (Some(22.0), Some(20.0), Some(25.0))
        );
        assert!(matches!(
            plan(&d, &set(Some(22.0), Some(20.0), Some(45.0), Scale::Celsius)),
            Err(SkillError::TemperatureOutOfRange { .. })
        ));
    }

    /// A colour bulb with tunable white (1,000–10,000 K), in `state`.
    fn bulb(state: serde_json::Value) -> Device {
        device(
            json!([{"type": "power"}, {"type": "brightness"}, {"type": "color"},
                   {"type": "colorTemperature", "minKelvin": 1000, "maxKelvin": 10000}]),
            state,
        )
    }

    fn patch(d: &Device, command: Command) -> DeviceState {
        plan(d, &command).unwrap().patch
    }

    #[test]
    fn light_zero_percent_is_off_and_keeps_the_brightness_to_come_back_at() {
        let on = bulb(json!({"powerOn": true, "brightness": 100}));
        // SetBrightness 0 turns it off; the brightness it had stays.
        let p = patch(&on, Command::SetBrightness(0));
        assert_eq!((p.power_on, p.brightness), (Some(false), None));
        // An adjustment that reaches 0 too.
        let low = bulb(json!({"powerOn": true, "brightness": 25}));
        let p = patch(&low, Command::AdjustBrightness(-25));
        assert_eq!((p.power_on, p.brightness), (Some(false), None));
        // TurnOn then leaves the brightness it had (it was never overwritten)...
        let dimmed_off = bulb(json!({"powerOn": false, "brightness": 100}));
        let p = patch(&dimmed_off, Command::TurnOn);
        assert_eq!((p.power_on, p.brightness), (Some(true), None));
        // ...and one whose own brightness is 0 comes back at full brightness.
        let at_zero = bulb(json!({"powerOn": false, "brightness": 0}));
        let p = patch(&at_zero, Command::TurnOn);
        assert_eq!((p.power_on, p.brightness), (Some(true), Some(100)));
    }

    #[test]
    fn light_brightness_on_an_off_light_counts_from_zero_and_turns_it_on() {
        let off = bulb(json!({"powerOn": false, "brightness": 60}));
        let p = patch(&off, Command::AdjustBrightness(25));
        assert_eq!((p.power_on, p.brightness), (Some(true), Some(25)));
        // "Dimmer" leaves it off, at the brightness it had.
        let p = patch(&off, Command::AdjustBrightness(-25));
        assert_eq!((p.power_on, p.brightness), (Some(false), None));
        let p = patch(&off, Command::SetBrightness(40));
        assert_eq!((p.power_on, p.brightness), (Some(true), Some(40)));
        // On, adjustments are relative to the brightness and clamp.
        let on = bulb(json!({"powerOn": true, "brightness": 100}));
        let p = patch(&on, Command::AdjustBrightness(10));
        assert_eq!((p.power_on, p.brightness), (None, Some(100)));
        let p = patch(&on, Command::AdjustBrightness(-25));
        assert_eq!((p.power_on, p.brightness), (None, Some(75)));
    }

    #[test]
    fn light_colour_and_white_turn_an_off_light_on() {
        let off = bulb(json!({"powerOn": false, "brightness": 50, "colorTemperatureKelvin": 2200}));
        let blue = crate::alexa::control::Color {
            hue: 240.0,
            saturation: 1.0,
            brightness: 1.0,
        };
        let p = patch(&off, Command::SetColor(blue));
        assert_eq!(p.power_on, Some(true));
        assert_eq!(p.brightness, None, "it comes on at the brightness it had");
        let p = patch(&off, Command::SetColorTemperature(7000));
        assert_eq!(
            (p.power_on, p.color_temperature_kelvin),
            (Some(true), Some(7000))
        );
        let p = patch(&off, Command::IncreaseColorTemperature);
        assert_eq!(
            (p.power_on, p.color_temperature_kelvin),
            (Some(true), Some(2700))
        );
        let p = patch(&off, Command::DecreaseColorTemperature);
        assert_eq!(
            (p.power_on, p.color_temperature_kelvin),
            (Some(true), Some(1000))
        );
        // On, the switch is left alone.
        let on = bulb(json!({"powerOn": true, "brightness": 50}));
        assert_eq!(
            patch(&on, Command::SetColorTemperature(4000)).power_on,
            None
        );
    }

    #[test]
    fn light_warmer_and_cooler_step_through_the_named_whites_then_to_the_bulbs_ends() {
        let at = |k: u32| bulb(json!({"powerOn": true, "colorTemperatureKelvin": k}));
        let cooler = |k| patch(&at(k), Command::IncreaseColorTemperature).color_temperature_kelvin;
        let warmer = |k| patch(&at(k), Command::DecreaseColorTemperature).color_temperature_kelvin;
        assert_eq!(cooler(2200), Some(2700));
        assert_eq!(cooler(4000), Some(5500));
        assert_eq!(cooler(7000), Some(10000));
        assert_eq!(cooler(10000), Some(10000));
        assert_eq!(warmer(7000), Some(5500));
        assert_eq!(warmer(2200), Some(1000));
        assert_eq!(warmer(1000), Some(1000));
        // Between steps: the next one each way.
        assert_eq!(cooler(3000), Some(4000));
        assert_eq!(warmer(3000), Some(2700));
        // A narrow bulb: its own ends are its steps.
        let narrow = device(
            json!([{"type": "colorTemperature", "minKelvin": 2500, "maxKelvin": 3000}]),
            json!({"colorTemperatureKelvin": 2700}),
        );
        let p = patch(&narrow, Command::IncreaseColorTemperature);
        assert_eq!(p.color_temperature_kelvin, Some(3000));
        let p = patch(&narrow, Command::DecreaseColorTemperature);
        assert_eq!(p.color_temperature_kelvin, Some(2500));
    }

    #[test]
    fn without_a_power_switch_the_values_are_plain() {
        let dimmer = device(json!([{"type": "brightness"}]), json!({"brightness": 25}));
        let p = patch(&dimmer, Command::AdjustBrightness(-25));
        assert_eq!((p.power_on, p.brightness), (None, Some(0)));
        let p = patch(&dimmer, Command::SetBrightness(0));
        assert_eq!((p.power_on, p.brightness), (None, Some(0)));
        let white = device(
            json!([{"type": "colorTemperature"}]),
            json!({"colorTemperatureKelvin": 2700}),
        );
        let p = patch(&white, Command::SetColorTemperature(4000));
        assert_eq!((p.power_on, p.color_temperature_kelvin), (None, Some(4000)));
    }
}
