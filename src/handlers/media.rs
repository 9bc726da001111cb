//! What a TV, an AV receiver or a media player does with Alexa's media directives (steps of
//! volume, playback, seeking, inputs, channels, the equalizer), and what a robot vacuum does
//! with Hold and Resume. The refusals are the ones the interfaces document:
//!
//! - **A device that is off takes no media command**: `NOT_SUPPORTED_IN_CURRENT_MODE` with
//!   `ASLEEP`, so that Alexa tells the customer it is off rather than that it did it.
//! - **Seeking needs something playing** at a known position (`NOT_SUPPORTED_IN_CURRENT_MODE`,
//!   `OTHER`). While it plays, the position moves on from its sample at normal speed, so that
//!   "skip 30 seconds" skips from where the film is now, not from where it was last reported.
//! - **Hold and Resume need the job running** (`NOT_IN_OPERATION`); Resume only where the
//!   device lets the customer resume remotely.
//! - A value the device does not have (an input, a band, a mode) is `INVALID_VALUE`; a level
//!   outside the equalizer's range `VALUE_OUT_OF_RANGE` with that range.
//!
//! One-off requests (playback operations, volume steps, skipped channels) are written as the
//! device's `action`, carrying the directive's command id, so that asking twice is acted on
//! twice. Nothing here reads a clock or a table: `handlers::control::plan` passes the time.

use crate::alexa::control::{BandDelta, BandLevel, ChannelRequest};
use crate::alexa::event::CurrentDeviceMode;
use crate::alexa::media::input_key;
use crate::device::{
    Band, BandLevels, Channel, Device, DeviceAction, DeviceCapability, DeviceState, EqualizerMode,
    Field, PlaybackOperation, PlaybackState,
};
use crate::error::SkillError;

/// The furthest a position can be (Alexa's limit: 24 hours).
pub const MAX_POSITION_MS: u64 = 86_400_000;
/// The most steps or channels one directive moves (Alexa sends at most 100 steps; a hundred
/// channels is already a lot of zapping).
pub const MAX_STEPS: i64 = 100;

/// Media commands are refused while the device's switch is off.
pub fn check_awake(device: &Device) -> Result<(), SkillError> {
    if device.has_power_switch() && device.state.power_on == Some(false) {
        return Err(SkillError::NotInCurrentMode {
            mode: CurrentDeviceMode::Asleep,
            reason: "the device is off",
        });
    }
    Ok(())
}

/// `AdjustVolume` of `Alexa.StepSpeaker`: `default_steps` when the customer said no number.
pub fn volume_steps(
    capability: &DeviceCapability,
    steps: i64,
    default: bool,
    id: &str,
    patch: &mut DeviceState,
) -> Result<(), SkillError> {
    let DeviceCapability::StepSpeaker { default_steps } = capability else {
        return Err(wrong_capability());
    };
    let steps = match (default, steps < 0) {
        (false, _) => steps,
        // A device cloud's 0 would make every "turn it up" out of range: one step at least.
        (true, false) => i64::from((*default_steps).max(1)),
        (true, true) => -i64::from((*default_steps).max(1)),
    };
    in_steps(steps)?;
    patch.action = Some(DeviceAction::VolumeSteps {
        id: id.to_owned(),
        steps: i32::try_from(steps).unwrap_or(0),
    });
    Ok(())
}

/// A playback operation the device lists; with it, the state it leaves the device in, for a
/// device that reports it. A known position is played on from its sample time only while
/// playing (`seek`): playing again re-samples it where it stood, and starting over puts it at
/// the start, so that neither counts time the device did not play.
pub fn playback(
    capability: &DeviceCapability,
    current: &DeviceState,
    operation: PlaybackOperation,
    id: &str,
    patch: &mut DeviceState,
) -> Result<(), SkillError> {
    let DeviceCapability::Playback {
        operations,
        reports_state,
    } = capability
    else {
        return Err(wrong_capability());
    };
    if !operations.contains(&operation) {
        return Err(SkillError::NotSupported("this playback operation"));
    }
    patch.action = Some(DeviceAction::Playback {
        id: id.to_owned(),
        operation,
    });
    if *reports_state {
        patch.playback_state = operation.leaves();
        if let Some(position) = current.playback_position_ms {
            match operation {
                PlaybackOperation::StartOver => patch.playback_position_ms = Some(0),
                PlaybackOperation::Play
                    if current.playback_state != Some(PlaybackState::Playing) =>
                {
                    patch.playback_position_ms = Some(position);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// `AdjustSeekPosition`: from where playback is now, within 0 and Alexa's 24 hours.
pub fn seek(
    device: &Device,
    delta_ms: i64,
    now_ms: i64,
    patch: &mut DeviceState,
) -> Result<(), SkillError> {
    let state = &device.state;
    let nothing_playing = SkillError::NotInCurrentMode {
        mode: CurrentDeviceMode::Other,
        reason: "nothing is playing",
    };
    if state.playback_state == Some(PlaybackState::Stopped) {
        return Err(nothing_playing);
    }
    let Some(reported) = state.playback_position_ms else {
        return Err(nothing_playing);
    };
    let span = MAX_POSITION_MS as i64;
    if !(-span..=span).contains(&delta_ms) {
        return Err(SkillError::ValueOutOfRange {
            value: delta_ms as f64,
            min: -span as f64,
            max: span as f64,
        });
    }
    let played = match (
        state.playback_state,
        device.sampled_at.get(&Field::PlaybackPositionMs),
    ) {
        (Some(PlaybackState::Playing), Some(at)) => (now_ms - at).max(0),
        _ => 0,
    };
    let now_at = i64::try_from(reported)
        .unwrap_or(span)
        .saturating_add(played);
    let to = now_at.saturating_add(delta_ms).clamp(0, span);
    patch.playback_position_ms = Some(u64::try_from(to).unwrap_or(0));
    Ok(())
}

/// `SelectInput`: the input the customer named, by Alexa's name or one of the device's
/// friendly names, compared without case or spaces (Alexa sends `HDMI1` for `HDMI 1`).
pub fn select_input(
    capability: &DeviceCapability,
    asked: &str,
    patch: &mut DeviceState,
) -> Result<(), SkillError> {
    let DeviceCapability::Input { inputs } = capability else {
        return Err(wrong_capability());
    };
    let key = input_key(asked);
    let Some(input) = inputs.iter().find(|i| {
        input_key(&i.name) == key || i.friendly_names.iter().any(|f| input_key(f) == key)
    }) else {
        return Err(SkillError::InvalidValue(format!(
            "the device has no input {:?}",
            asked.chars().take(64).collect::<String>()
        )));
    };
    patch.input = Some(input.name.clone());
    Ok(())
}

/// `ChangeChannel`: what Alexa resolved, and the name the customer said.
pub fn change_channel(request: &ChannelRequest, patch: &mut DeviceState) {
    let given = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    patch.channel = Some(Box::new(Channel {
        number: given(&request.number),
        call_sign: given(&request.call_sign),
        affiliate_call_sign: given(&request.affiliate_call_sign),
        uri: given(&request.uri),
        name: given(&request.name),
    }));
}

/// `SkipChannels`: channels up or down, which only the device can count.
pub fn skip_channels(count: i64, id: &str, patch: &mut DeviceState) -> Result<(), SkillError> {
    in_steps(count)?;
    patch.action = Some(DeviceAction::SkipChannels {
        id: id.to_owned(),
        count: i32::try_from(count).unwrap_or(0),
    });
    Ok(())
}

/// An equalizer capability's declaration.
pub struct Equalizer<'a> {
    bands: &'a [Band],
    min: i32,
    max: i32,
    default_level: i32,
    step: i32,
    modes: &'a [EqualizerMode],
}

impl<'a> Equalizer<'a> {
    pub fn of(capability: &'a DeviceCapability) -> Result<Self, SkillError> {
        match capability {
            DeviceCapability::Equalizer {
                bands,
                min_level,
                max_level,
                default_level,
                level_step,
                modes,
            } => Ok(Self {
                bands,
                min: *min_level,
                max: *max_level,
                // A device cloud's default outside its own range is held to it.
                default_level: (*default_level).clamp(*min_level, (*max_level).max(*min_level)),
                step: (*level_step).max(1),
                modes,
            }),
            _ => Err(wrong_capability()),
        }
    }

    fn has(&self, band: Band) -> Result<(), SkillError> {
        if self.bands.contains(&band) {
            Ok(())
        } else {
            Err(SkillError::InvalidValue(format!(
                "the equalizer has no {} band",
                band.name()
            )))
        }
    }

    fn level(&self, value: i64) -> Result<i32, SkillError> {
        let (min, max) = (i64::from(self.min), i64::from(self.max));
        if (min..=max).contains(&value) {
            Ok(i32::try_from(value).unwrap_or(self.default_level))
        } else {
            Err(SkillError::ValueOutOfRange {
                value: value as f64,
                min: min as f64,
                max: max as f64,
            })
        }
    }

    /// The bands' levels now: the device's, the default for a band it never reported. Every
    /// band change writes them all (one attribute), as a relative change.
    fn current(&self, state: &DeviceState) -> BandLevels {
        let mut levels = BandLevels::default();
        for &band in self.bands {
            let reported = state.equalizer_bands.and_then(|b| b.get(band));
            levels.set(band, reported.unwrap_or(self.default_level));
        }
        levels
    }

    pub fn set(
        &self,
        state: &DeviceState,
        asked: &[BandLevel],
        patch: &mut DeviceState,
    ) -> Result<(), SkillError> {
        let mut levels = self.current(state);
        for b in asked {
            self.has(b.band)?;
            levels.set(b.band, self.level(b.level)?);
        }
        patch.equalizer_bands = Some(levels);
        Ok(())
    }

    pub fn adjust(
        &self,
        state: &DeviceState,
        asked: &[BandDelta],
        patch: &mut DeviceState,
    ) -> Result<(), SkillError> {
        let mut levels = self.current(state);
        let span = i64::from(self.max) - i64::from(self.min);
        for b in asked {
            self.has(b.band)?;
            let delta = b.delta.unwrap_or_else(|| {
                if b.up {
                    i64::from(self.step)
                } else {
                    -i64::from(self.step)
                }
            });
            if delta.abs() > span {
                return Err(SkillError::ValueOutOfRange {
                    value: delta as f64,
                    min: -span as f64,
                    max: span as f64,
                });
            }
            let base = i64::from(levels.get(b.band).unwrap_or(self.default_level));
            let to = (base + delta).clamp(i64::from(self.min), i64::from(self.max));
            levels.set(b.band, self.level(to)?);
        }
        patch.equalizer_bands = Some(levels);
        Ok(())
    }

    pub fn reset(
        &self,
        state: &DeviceState,
        asked: &[Band],
        patch: &mut DeviceState,
    ) -> Result<(), SkillError> {
        let mut levels = self.current(state);
        for &band in asked {
            self.has(band)?;
            levels.set(band, self.default_level);
        }
        patch.equalizer_bands = Some(levels);
        Ok(())
    }

    pub fn set_mode(&self, asked: &str, patch: &mut DeviceState) -> Result<(), SkillError> {
        match EqualizerMode::parse(asked).filter(|m| self.modes.contains(m)) {
            Some(mode) => {
                patch.equalizer_mode = Some(mode);
                Ok(())
            }
            None => Err(SkillError::InvalidValue(format!(
                "the equalizer has no mode {:?}",
                asked.chars().take(64).collect::<String>()
            ))),
        }
    }
}

/// `Hold` and `Resume` of `Alexa.TimeHoldController`: only a running job is held or resumed;
/// holding a held one, or resuming a running one, is what was asked already.
pub fn time_hold(
    device: &Device,
    capability: &DeviceCapability,
    hold: bool,
    patch: &mut DeviceState,
) -> Result<(), SkillError> {
    let DeviceCapability::TimeHold {
        allow_remote_resume,
    } = capability
    else {
        return Err(wrong_capability());
    };
    if !hold && !allow_remote_resume {
        return Err(SkillError::NotSupported(
            "Alexa.TimeHoldController Resume: the device is resumed at the device",
        ));
    }
    if device.has_power_switch() && device.state.power_on == Some(false) {
        return Err(SkillError::NotInOperation("the device is not running"));
    }
    patch.on_hold = Some(hold);
    Ok(())
}

fn in_steps(steps: i64) -> Result<(), SkillError> {
    if (-MAX_STEPS..=MAX_STEPS).contains(&steps) && steps != 0 {
        Ok(())
    } else {
        Err(SkillError::ValueOutOfRange {
            value: steps as f64,
            min: -MAX_STEPS as f64,
            max: MAX_STEPS as f64,
        })
    }
}

/// The capability that declares a command's interface is not the kind the command needs: the
/// catalogue rules it out, but a wrong answer beats a panic.
fn wrong_capability() -> SkillError {
    SkillError::NotSupported("this directive on this capability")
}
