//! A light as Amazon's capability evaluations expect one to behave: power, brightness, colour
//! and white are one light. The rules, each needing the light to declare power beside the
//! capability concerned (a dimmer without an on/off switch keeps plain values):
//!
//! - **0 % is off.** Setting the brightness to 0, or an adjustment that reaches 0, turns the
//!   light off; its brightness stays what it was, and is what the light comes back on at.
//!   Alexa is told 0 % while the light is off (`catalogue::Property::read`), so a light set to
//!   0 % reads 0 %, and a light turned on again reads the brightness it had.
//! - **Brightness, colour and white turn an off light on.** "Brighter by 25" on an off light is
//!   25 % and on (an off light is at 0 %); "dimmer" leaves it off; a colour or a white turns it
//!   on at the brightness it had.
//! - **Warmer and cooler** step through the named whites Alexa knows, and past them to the
//!   bulb's own ends (a bulb that goes to 10,000 K gets there from 7,000 K).
//!
//! Nothing here reads a clock or a table: `handlers::control::plan` asks, whatever the device
//! cloud, so that the desired state an IoT shadow or the maker's API is sent is the planned
//! one ("set the light to blue" on an off light also asks for it on).

use crate::device::{Device, DeviceCapability, DeviceState};

/// The named whites Alexa steps through ("warmer", "cooler"): warm white to daylight.
pub const WHITE_STEPS_KELVIN: [u32; 5] = [2200, 2700, 4000, 5500, 7000];

/// The brightness a light comes back on at when its own is 0 (a device that reported 0 % and
/// on, then was turned off).
pub const FULL_BRIGHTNESS: u8 = 100;

/// A device's light rules: which of its capabilities are one light.
#[derive(Debug)]
pub struct Light<'a> {
    state: &'a DeviceState,
    has_power: bool,
    has_brightness: bool,
}

impl<'a> Light<'a> {
    pub fn of(device: &'a Device) -> Self {
        Self {
            state: &device.state,
            has_power: device.has_power_switch(),
            has_brightness: device
                .definition
                .capabilities
                .iter()
                .any(|c| matches!(c, DeviceCapability::Brightness)),
        }
    }

    /// Off, as far as the light rules go: a power switch that is known to be off.
    fn is_off(&self) -> bool {
        self.has_power && self.state.power_on == Some(false)
    }

    /// `TurnOn`: on, and back at a usable brightness if its own is 0.
    pub fn turn_on(&self, patch: &mut DeviceState) {
        patch.power_on = Some(true);
        if self.has_brightness && self.state.brightness == Some(0) && patch.brightness.is_none() {
            patch.brightness = Some(FULL_BRIGHTNESS);
        }
    }

    /// A colour, a white or a brightness was set: an off light (or one whose switch was never
    /// reported) comes on.
    fn light_up(&self, patch: &mut DeviceState) {
        if self.has_power && self.state.power_on != Some(true) {
            self.turn_on(patch);
        }
    }

    /// `SetBrightness` to `percent` (0–100, checked by the caller).
    pub fn set_brightness(&self, percent: u8, patch: &mut DeviceState) {
        if self.has_power && percent == 0 {
            patch.power_on = Some(false);
            return;
        }
        patch.brightness = Some(percent);
        self.light_up(patch);
    }

    /// `AdjustBrightness` by `delta` (within ±100, checked by the caller), clamped to 0–100.
    pub fn adjust_brightness(&self, delta: i64, patch: &mut DeviceState) {
        let base = if self.is_off() {
            0
        } else {
            let on = self.state.power_on == Some(true);
            self.state
                .brightness
                .unwrap_or(if on { FULL_BRIGHTNESS } else { 0 })
        };
        let to = u8::try_from((i64::from(base) + delta).clamp(0, 100)).unwrap_or(0);
        self.set_brightness(to, patch);
    }

    /// A colour was set.
    pub fn set_color(&self, patch: &mut DeviceState) {
        self.light_up(patch);
    }

    /// A white was set.
    pub fn set_white(&self, kelvin: u32, patch: &mut DeviceState) {
        patch.color_temperature_kelvin = Some(kelvin);
        self.light_up(patch);
    }

    /// "Warmer" (`cooler` false) or "cooler": the next named white of the bulb's range, else
    /// the bulb's own end; a bulb at an end stays there.
    pub fn step_white(&self, (min, max): (u32, u32), cooler: bool, patch: &mut DeviceState) {
        let mut steps: Vec<u32> = std::iter::once(min)
            .chain(WHITE_STEPS_KELVIN)
            .chain(std::iter::once(max))
            .filter(|k| (min..=max).contains(k))
            .collect();
        steps.sort_unstable();
        steps.dedup();
        let now = self
            .state
            .color_temperature_kelvin
            .unwrap_or(steps[steps.len() / 2])
            .clamp(min, max);
        let next = if cooler {
            steps.iter().copied().find(|&k| k > now)
        } else {
            steps.iter().rev().copied().find(|&k| k < now)
        };
        self.set_white(next.unwrap_or(now), patch);
    }
}
