//! What a thermostat does with `SetTargetTemperature`, `AdjustTargetTemperature` and
//! `SetThermostatMode`: single, dual and triple setpoints, each in the device's own scale, and
//! the refusals the ThermostatController docs prescribe. A request the thermostat cannot carry
//! out whole is refused whole.

use crate::alexa::control::{SetpointRequest, Temperature};
use crate::alexa::validate::THERMOSTAT_MODES;
use crate::device::{DeviceCapability, DeviceState, Setpoints, TemperatureScale};
use crate::error::{SkillError, ThermostatError};

/// A thermostat capability's declaration.
pub struct Thermostat<'a> {
    modes: &'a [String],
    min: f64,
    max: f64,
    scale: TemperatureScale,
    setpoints: Setpoints,
    minimum_delta: f64,
}

impl<'a> Thermostat<'a> {
    /// `None` for any other capability.
    pub fn of(capability: &'a DeviceCapability) -> Option<Self> {
        match capability {
            DeviceCapability::Thermostat {
                modes,
                min_setpoint,
                max_setpoint,
                scale,
                setpoints,
                minimum_delta,
            } => Some(Self {
                modes,
                min: *min_setpoint,
                max: *max_setpoint,
                scale: *scale,
                setpoints: *setpoints,
                minimum_delta: minimum_delta.unwrap_or(match scale {
                    TemperatureScale::Celsius => 1.0,
                    TemperatureScale::Fahrenheit => 2.0,
                }),
            }),
            _ => None,
        }
    }

    /// `temperature` in the device's scale, to a tenth of a degree.
    fn value(&self, temperature: Temperature) -> f64 {
        let v = match self.scale {
            TemperatureScale::Celsius => temperature.celsius(),
            TemperatureScale::Fahrenheit => temperature.fahrenheit(),
        };
        round(v)
    }

    fn delta(&self, delta: Temperature) -> f64 {
        match self.scale {
            TemperatureScale::Celsius => delta.celsius_delta(),
            TemperatureScale::Fahrenheit => delta.fahrenheit_delta(),
        }
    }

    fn in_range(&self, value: f64) -> Result<f64, SkillError> {
        let value = round(value);
        if value.is_finite() && (self.min..=self.max).contains(&value) {
            Ok(value)
        } else {
            Err(SkillError::TemperatureOutOfRange {
                value,
                min: self.min,
                max: self.max,
                scale: self.scale,
            })
        }
    }

    /// Lower and upper setpoints that the thermostat keeps apart.
    fn band(&self, lower: f64, upper: f64) -> Result<(f64, f64), SkillError> {
        let (lower, upper) = (self.in_range(lower)?, self.in_range(upper)?);
        if upper - lower + 1e-9 < self.minimum_delta {
            return Err(ThermostatError::TooClose {
                delta: self.minimum_delta,
                scale: self.scale,
            }
            .into());
        }
        Ok((lower, upper))
    }

    /// The band a dual thermostat without one starts from: centred in its range.
    fn default_band(&self, current: &DeviceState) -> (f64, f64) {
        let middle = (self.min + self.max) / 2.0;
        (
            current
                .lower_setpoint
                .unwrap_or(middle - self.minimum_delta),
            current
                .upper_setpoint
                .unwrap_or(middle + self.minimum_delta),
        )
    }

    fn refuse_when_off(current: &DeviceState) -> Result<(), SkillError> {
        if current.thermostat_mode.as_deref() == Some("OFF") {
            return Err(ThermostatError::IsOff.into());
        }
        Ok(())
    }

    pub fn set(
        &self,
        current: &DeviceState,
        request: &SetpointRequest,
        patch: &mut DeviceState,
    ) -> Result<(), SkillError> {
        let SetpointRequest {
            target_setpoint: target,
            lower_setpoint: lower,
            upper_setpoint: upper,
        } = *request;
        let band = lower.is_some() || upper.is_some();
        match self.setpoints {
            _ if target.is_some() && band && self.setpoints != Setpoints::Triple => {
                return Err(ThermostatError::TripleUnsupported.into());
            }
            Setpoints::Single if band => return Err(ThermostatError::DualUnsupported.into()),
            _ => {}
        }
        Self::refuse_when_off(current)?;
        if band {
            let (old_lower, old_upper) = self.default_band(current);
            let lower = lower.map_or(old_lower, |t| self.value(t));
            let upper = upper.map_or(old_upper, |t| self.value(t));
            let (lower, upper) = self.band(lower, upper)?;
            patch.lower_setpoint = Some(lower);
            patch.upper_setpoint = Some(upper);
        }
        let Some(target) = target.map(|t| self.value(t)) else {
            return Ok(());
        };
        match self.setpoints {
            Setpoints::Single | Setpoints::Triple => {
                patch.target_setpoint = Some(self.in_range(target)?);
            }
            // One temperature for a thermostat that keeps a band: the setpoint the mode uses
            // ("set the heat to 68"), or in AUTO the band moved to centre on it.
            Setpoints::Dual => {
                let (old_lower, old_upper) = self.default_band(current);
                let (lower, upper) = match current.thermostat_mode.as_deref() {
                    Some("HEAT") => (target, old_upper.max(target + self.minimum_delta)),
                    Some("COOL") => (old_lower.min(target - self.minimum_delta), target),
                    _ => {
                        let half = ((old_upper - old_lower) / 2.0).max(self.minimum_delta / 2.0);
                        (target - half, target + half)
                    }
                };
                let (lower, upper) = self.band(lower, upper)?;
                patch.lower_setpoint = Some(lower);
                patch.upper_setpoint = Some(upper);
            }
        }
        Ok(())
    }

    /// Moves every setpoint the thermostat has by `delta` ("two degrees warmer").
    pub fn adjust(
        &self,
        current: &DeviceState,
        delta: Temperature,
        patch: &mut DeviceState,
    ) -> Result<(), SkillError> {
        Self::refuse_when_off(current)?;
        let delta = self.delta(delta);
        if matches!(self.setpoints, Setpoints::Single | Setpoints::Triple) {
            let base = current
                .target_setpoint
                .unwrap_or((self.min + self.max) / 2.0);
            patch.target_setpoint = Some(self.in_range(base + delta)?);
        }
        if matches!(self.setpoints, Setpoints::Dual | Setpoints::Triple) {
            let (lower, upper) = self.default_band(current);
            // A triple-setpoint thermostat's band follows its target as far as its range
            // allows ("warmer by 6" at 24 °C with the band at 19–25 °C and 30 °C the most: the
            // target goes to 30, the band to 24–30). A dual one's band is what is adjusted.
            let shift = if self.setpoints == Setpoints::Triple {
                delta.clamp(self.min - lower, self.max - upper)
            } else {
                delta
            };
            let (lower, upper) = self.band(lower + shift, upper + shift)?;
            patch.lower_setpoint = Some(lower);
            patch.upper_setpoint = Some(upper);
        }
        Ok(())
    }

    pub fn set_mode(&self, mode: &str, patch: &mut DeviceState) -> Result<(), SkillError> {
        let declared = self.modes.is_empty() || self.modes.iter().any(|m| m == mode);
        if !declared || !THERMOSTAT_MODES.contains(&mode) {
            return Err(ThermostatError::UnsupportedMode(mode.chars().take(32).collect()).into());
        }
        patch.thermostat_mode = Some(mode.to_owned());
        Ok(())
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
