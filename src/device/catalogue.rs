//! The one catalogue of what a device declares to Alexa: each Alexa interface and each
//! reportable property, what it is called, which state field it lives in, how it is read from
//! a device and how its values compare.
//!
//! Discovery ([`super::mapping`]), reportable state ([`super::properties`]), ChangeReport diffing
//! (`stream::changes`) and control planning (`handlers::control`) all read from here, so that
//! adding an interface is a new [`DeviceCapability`] variant, its [`Property`] values and
//! `Command` arms, and whatever the compiler then asks for (every match below is exhaustive).

use serde_json::json;

pub use crate::alexa::interface::Interface;

use super::{
    Alarm, ArmState, BandLevels, Channel, Connectivity, Device, DeviceCapability, EqualizerMode,
    Field, Hsb, LockState, PlaybackState, Setpoints, SettingValue, TemperatureScale,
};

/// One reportable Alexa property. Generic controllers' properties carry their instance.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Property {
    PowerState,
    Brightness,
    Percentage,
    PowerLevel,
    Color,
    ColorTemperature,
    TargetSetpoint,
    LowerSetpoint,
    UpperSetpoint,
    ThermostatMode,
    Temperature,
    LockState,
    Volume,
    Muted,
    /// `Alexa.EndpointHealth.connectivity`, read from the device's `connectivity`.
    Connectivity,
    /// `Alexa.RangeController.rangeValue` of one instance.
    Range(String),
    /// `Alexa.ModeController.mode` of one instance.
    Mode(String),
    /// `Alexa.ToggleController.toggleState` of one instance.
    Toggle(String),
    /// `Alexa.ContactSensor.detectionState`: detected means open.
    Contact,
    /// `Alexa.MotionSensor.detectionState`.
    Motion,
    /// `Alexa.PlaybackStateReporter.playbackState`.
    PlaybackState,
    /// `Alexa.InputController.input`.
    Input,
    /// `Alexa.ChannelController.channel`.
    Channel,
    /// `Alexa.EqualizerController.bands`.
    EqualizerBands,
    /// `Alexa.EqualizerController.mode`.
    EqualizerMode,
    /// `Alexa.SecurityPanelController.armState`.
    ArmState,
    /// One of `Alexa.SecurityPanelController`'s alarms.
    Alarm(Alarm),
}

impl Property {
    pub const fn interface(&self) -> Interface {
        match self {
            Self::PowerState => Interface::Power,
            Self::Brightness => Interface::Brightness,
            Self::Percentage => Interface::Percentage,
            Self::PowerLevel => Interface::PowerLevel,
            Self::Color => Interface::Color,
            Self::ColorTemperature => Interface::ColorTemperature,
            Self::TargetSetpoint
            | Self::LowerSetpoint
            | Self::UpperSetpoint
            | Self::ThermostatMode => Interface::Thermostat,
            Self::Temperature => Interface::TemperatureSensor,
            Self::LockState => Interface::Lock,
            Self::Volume | Self::Muted => Interface::Speaker,
            Self::Connectivity => Interface::EndpointHealth,
            Self::Range(_) => Interface::Range,
            Self::Mode(_) => Interface::Mode,
            Self::Toggle(_) => Interface::Toggle,
            Self::Contact => Interface::ContactSensor,
            Self::Motion => Interface::MotionSensor,
            Self::PlaybackState => Interface::PlaybackState,
            Self::Input => Interface::Input,
            Self::Channel => Interface::Channel,
            Self::EqualizerBands | Self::EqualizerMode => Interface::Equalizer,
            Self::ArmState | Self::Alarm(_) => Interface::SecurityPanel,
        }
    }

    /// The property's name within its interface.
    pub const fn name(&self) -> &'static str {
        match self {
            Self::PowerState => "powerState",
            Self::Brightness => "brightness",
            Self::Percentage => "percentage",
            Self::PowerLevel => "powerLevel",
            Self::Color => "color",
            Self::ColorTemperature => "colorTemperatureInKelvin",
            Self::TargetSetpoint => "targetSetpoint",
            Self::LowerSetpoint => "lowerSetpoint",
            Self::UpperSetpoint => "upperSetpoint",
            Self::ThermostatMode => "thermostatMode",
            Self::Temperature => "temperature",
            Self::LockState => "lockState",
            Self::Volume => "volume",
            Self::Muted => "muted",
            Self::Connectivity => "connectivity",
            Self::Range(_) => "rangeValue",
            Self::Mode(_) => "mode",
            Self::Toggle(_) => "toggleState",
            Self::Contact | Self::Motion => "detectionState",
            Self::PlaybackState => "playbackState",
            Self::Input => "input",
            Self::Channel => "channel",
            Self::EqualizerBands => "bands",
            Self::EqualizerMode => "mode",
            Self::ArmState => "armState",
            Self::Alarm(Alarm::Burglary) => "burglaryAlarm",
            Self::Alarm(Alarm::Fire) => "fireAlarm",
            Self::Alarm(Alarm::CarbonMonoxide) => "carbonMonoxideAlarm",
            Self::Alarm(Alarm::Water) => "waterAlarm",
        }
    }

    /// The generic controller instance the property belongs to.
    pub fn instance(&self) -> Option<&str> {
        match self {
            Self::Range(i) | Self::Mode(i) | Self::Toggle(i) => Some(i),
            _ => None,
        }
    }

    /// The device-state field the value is kept in: also its key in `sampledAt`.
    pub fn field(&self) -> Field {
        match self {
            Self::PowerState => Field::PowerOn,
            Self::Brightness => Field::Brightness,
            Self::Percentage => Field::Percentage,
            Self::PowerLevel => Field::PowerLevel,
            Self::Color => Field::Color,
            Self::ColorTemperature => Field::ColorTemperatureKelvin,
            Self::TargetSetpoint => Field::TargetSetpoint,
            Self::LowerSetpoint => Field::LowerSetpoint,
            Self::UpperSetpoint => Field::UpperSetpoint,
            Self::ThermostatMode => Field::ThermostatMode,
            Self::Temperature => Field::Temperature,
            Self::LockState => Field::LockState,
            Self::Volume => Field::Volume,
            Self::Muted => Field::Muted,
            Self::Connectivity => Field::Connectivity,
            Self::Range(instance) | Self::Mode(instance) | Self::Toggle(instance) => {
                Field::Setting(instance.clone())
            }
            Self::Contact => Field::ContactOpen,
            Self::Motion => Field::MotionDetected,
            Self::PlaybackState => Field::PlaybackState,
            Self::Input => Field::Input,
            Self::Channel => Field::Channel,
            Self::EqualizerBands => Field::EqualizerBands,
            Self::EqualizerMode => Field::EqualizerMode,
            Self::ArmState => Field::ArmState,
            Self::Alarm(Alarm::Burglary) => Field::BurglaryAlarm,
            Self::Alarm(Alarm::Fire) => Field::FireAlarm,
            Self::Alarm(Alarm::CarbonMonoxide) => Field::CarbonMonoxideAlarm,
            Self::Alarm(Alarm::Water) => Field::WaterAlarm,
        }
    }

    /// The state field the value is read from, whose sample time is the value's: its own
    /// ([`Self::field`]), but a light's power for its brightness while it is off (0 %).
    pub fn read_from(&self, device: &Device) -> Field {
        match self {
            Self::Brightness if is_off_light(device) => Field::PowerOn,
            _ => self.field(),
        }
    }

    /// The device's value of this property, if it has reported one.
    pub fn read(&self, device: &Device) -> Option<Value> {
        let s = &device.state;
        match self {
            Self::PowerState => s.power_on.map(Value::OnOff),
            // A light that is off gives no light: 0 %, its own brightness kept for when it comes
            // back on (handlers::light).
            Self::Brightness if is_off_light(device) => Some(Value::Percent(0)),
            Self::Brightness => s.brightness.map(Value::Percent),
            Self::Percentage => s.percentage.map(Value::Percent),
            Self::PowerLevel => s.power_level.map(Value::Percent),
            Self::Color => s.color.map(Value::Color),
            Self::ColorTemperature => s.color_temperature_kelvin.map(Value::Kelvin),
            Self::TargetSetpoint => s.target_setpoint.map(|v| temperature(device, v)),
            Self::LowerSetpoint => s.lower_setpoint.map(|v| temperature(device, v)),
            Self::UpperSetpoint => s.upper_setpoint.map(|v| temperature(device, v)),
            Self::ThermostatMode => s.thermostat_mode.clone().map(Value::Mode),
            Self::Temperature => s.temperature.map(|v| temperature(device, v)),
            Self::LockState => s.lock_state.map(Value::Lock),
            Self::Volume => s.volume.map(Value::Percent),
            Self::Muted => s.muted.map(Value::Bool),
            Self::Connectivity => Some(Value::Connectivity(device.connectivity)),
            Self::Range(instance) => match s.settings.get(instance) {
                Some(SettingValue::Number(v)) => Some(Value::Number(*v)),
                _ => None,
            },
            Self::Mode(instance) => match s.settings.get(instance) {
                Some(SettingValue::Mode(m)) => Some(Value::Mode(m.clone())),
                _ => None,
            },
            Self::Toggle(instance) => match s.settings.get(instance) {
                Some(SettingValue::On(on)) => Some(Value::OnOff(*on)),
                _ => None,
            },
            Self::Contact => s.contact_open.map(Value::Detected),
            Self::Motion => s.motion_detected.map(Value::Detected),
            Self::PlaybackState => s.playback_state.map(Value::Playback),
            Self::Input => s.input.clone().map(Value::Text),
            // A channel known only by the name the customer said is not one Alexa can show.
            Self::Channel => s
                .channel
                .as_ref()
                .filter(|c| c.is_reportable())
                .map(|c| Value::Channel(c.as_ref().clone())),
            Self::EqualizerBands => s
                .equalizer_bands
                .filter(|b| b.levels().next().is_some())
                .map(Value::Bands),
            Self::EqualizerMode => s.equalizer_mode.map(Value::EqualizerMode),
            Self::ArmState => s.arm_state.map(Value::Arm),
            Self::Alarm(alarm) => match alarm {
                Alarm::Burglary => s.burglary_alarm,
                Alarm::Fire => s.fire_alarm,
                Alarm::CarbonMonoxide => s.carbon_monoxide_alarm,
                Alarm::Water => s.water_alarm,
            }
            .map(Value::Alarm),
        }
    }
}

/// A light whose switch is off: it gives no light, whatever brightness it will come back at.
fn is_off_light(device: &Device) -> bool {
    device.state.power_on == Some(false) && device.has_power_switch()
}

fn temperature(device: &Device, value: f64) -> Value {
    Value::Temperature(value, device.temperature_scale())
}

/// A property's value, typed: two values are the same when they are equal here, which is
/// what a ChangeReport is decided on.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    OnOff(bool),
    /// 0–100 (brightness, percentage, volume).
    Percent(u8),
    Color(Hsb),
    Kelvin(u32),
    /// A temperature in the device's own scale.
    Temperature(f64, TemperatureScale),
    /// A thermostat mode.
    Mode(String),
    Lock(LockState),
    Bool(bool),
    Connectivity(Connectivity),
    /// A range's value.
    Number(f64),
    /// A sensor's `detectionState`.
    Detected(bool),
    Playback(PlaybackState),
    /// A name (an input).
    Text(String),
    Channel(Channel),
    Bands(BandLevels),
    EqualizerMode(EqualizerMode),
    Arm(ArmState),
    /// An alarm: sounding or not.
    Alarm(bool),
}

impl Value {
    /// The value as Alexa's messages carry it.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::OnOff(on) => json!(if *on { "ON" } else { "OFF" }),
            Self::Percent(v) => json!(v),
            // The table keeps a colour in Alexa's own shape.
            Self::Color(c) => json!(c),
            Self::Kelvin(k) => json!(k),
            Self::Temperature(v, scale) => json!({ "value": v, "scale": scale.alexa_name() }),
            Self::Mode(m) => json!(m),
            Self::Lock(l) => json!(match l {
                LockState::Locked => "LOCKED",
                LockState::Unlocked => "UNLOCKED",
                LockState::Jammed => "JAMMED",
            }),
            Self::Bool(b) => json!(b),
            Self::Number(v) => json!(v),
            Self::Detected(d) => json!(if *d { "DETECTED" } else { "NOT_DETECTED" }),
            Self::Playback(state) => json!({ "state": state }),
            Self::Text(text) => json!(text),
            // The name the customer said is the device cloud's to resolve, not Alexa's to show.
            Self::Channel(c) => json!(Channel {
                name: None,
                ..c.clone()
            }),
            Self::Bands(bands) => bands
                .levels()
                .map(|(band, level)| json!({"name": band.name(), "value": level}))
                .collect(),
            Self::EqualizerMode(mode) => json!(mode.name()),
            Self::Arm(state) => json!(state.name()),
            Self::Alarm(sounding) => json!({ "value": if *sounding { "ALARM" } else { "OK" } }),
            Self::Connectivity(c) => json!({ "value": match c {
                Connectivity::Ok => "OK",
                Connectivity::Unreachable => "UNREACHABLE",
            }}),
        }
    }
}

impl DeviceCapability {
    /// The reportable properties this capability declares, in the order Alexa is told them.
    pub fn properties(&self) -> Vec<Property> {
        match self {
            Self::Power => vec![Property::PowerState],
            Self::Brightness => vec![Property::Brightness],
            Self::Percentage => vec![Property::Percentage],
            Self::PowerLevel => vec![Property::PowerLevel],
            Self::Color => vec![Property::Color],
            Self::ColorTemperature { .. } => vec![Property::ColorTemperature],
            // A thermostat always knows the room temperature; Alexa asks for it with the
            // thermostat's own name ("what's the temperature in the hall?").
            Self::Thermostat { setpoints, .. } => {
                let mut out = Vec::with_capacity(5);
                if matches!(setpoints, Setpoints::Single | Setpoints::Triple) {
                    out.push(Property::TargetSetpoint);
                }
                if matches!(setpoints, Setpoints::Dual | Setpoints::Triple) {
                    out.extend([Property::LowerSetpoint, Property::UpperSetpoint]);
                }
                out.extend([Property::ThermostatMode, Property::Temperature]);
                out
            }
            Self::TemperatureSensor => vec![Property::Temperature],
            Self::Lock => vec![Property::LockState],
            Self::Speaker => vec![Property::Volume, Property::Muted],
            Self::Range { instance, .. } => vec![Property::Range(instance.clone())],
            Self::Mode { instance, .. } => vec![Property::Mode(instance.clone())],
            Self::Toggle { instance, .. } => vec![Property::Toggle(instance.clone())],
            Self::ContactSensor => vec![Property::Contact],
            Self::MotionSensor => vec![Property::Motion],
            Self::Playback { reports_state, .. } => {
                if *reports_state {
                    vec![Property::PlaybackState]
                } else {
                    Vec::new()
                }
            }
            Self::Input { .. } => vec![Property::Input],
            Self::Channel => vec![Property::Channel],
            Self::Equalizer { bands, modes, .. } => {
                let mut out = Vec::with_capacity(2);
                if !bands.is_empty() {
                    out.push(Property::EqualizerBands);
                }
                if !modes.is_empty() {
                    out.push(Property::EqualizerMode);
                }
                out
            }
            Self::SecurityPanel { alarms, .. } => {
                let mut out = vec![Property::ArmState];
                // Alexa's order, each once, whatever the device cloud lists.
                out.extend(
                    Alarm::ALL
                        .into_iter()
                        .filter(|a| alarms.contains(a))
                        .map(Property::Alarm),
                );
                out
            }
            Self::Scene { .. }
            | Self::Doorbell
            | Self::CameraStream { .. }
            | Self::RtcSession { .. }
            | Self::StepSpeaker { .. }
            | Self::Seek
            | Self::TimeHold { .. }
            | Self::Unknown => Vec::new(),
        }
    }

    /// The interfaces (with their instance) this capability is declared as, in order: those of
    /// its properties, and the interfaces that report nothing.
    pub fn interfaces(&self) -> Vec<(Interface, Option<&str>)> {
        match self {
            Self::Scene { .. } => vec![(Interface::Scene, None)],
            Self::Doorbell => vec![(Interface::Doorbell, None)],
            Self::CameraStream { .. } => vec![(Interface::CameraStream, None)],
            Self::RtcSession { .. } => vec![(Interface::RtcSession, None)],
            Self::StepSpeaker { .. } => vec![(Interface::StepSpeaker, None)],
            Self::Seek => vec![(Interface::Seek, None)],
            Self::TimeHold { .. } => vec![(Interface::TimeHold, None)],
            Self::Playback { reports_state, .. } => {
                let mut out = vec![(Interface::Playback, None)];
                if *reports_state {
                    out.push((Interface::PlaybackState, None));
                }
                out
            }
            // Declared even with neither bands nor modes, which validation then refuses.
            Self::Equalizer { .. } => vec![(Interface::Equalizer, None)],
            Self::Unknown => Vec::new(),
            Self::Range { instance, .. } => vec![(Interface::Range, Some(instance))],
            Self::Mode { instance, .. } => vec![(Interface::Mode, Some(instance))],
            Self::Toggle { instance, .. } => vec![(Interface::Toggle, Some(instance))],
            _ => {
                let mut out = Vec::with_capacity(2);
                for p in self.properties() {
                    if !out.iter().any(|(i, _)| *i == p.interface()) {
                        out.push((p.interface(), None));
                    }
                }
                out
            }
        }
    }

    /// Whether this capability declares `interface` (for `instance`, for a generic controller).
    pub fn declares(&self, interface: Interface, instance: Option<&str>) -> bool {
        self.interfaces().contains(&(interface, instance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceState;

    /// Every capability the device model knows, as a device cloud writes it.
    fn every_capability() -> Vec<DeviceCapability> {
        serde_json::from_value(json!([
            {"type": "power"}, {"type": "brightness"}, {"type": "percentage"}, {"type": "powerLevel"},
            {"type": "color"},
            {"type": "colorTemperature"}, {"type": "thermostat", "modes": ["HEAT"], "setpoints": "triple"},
            {"type": "temperatureSensor"}, {"type": "lock"}, {"type": "scene"}, {"type": "speaker"},
            {"type": "range", "instance": "Fan.Speed", "names": [{"asset": "Alexa.Setting.FanSpeed"}],
                "min": 1, "max": 5},
            {"type": "mode", "instance": "Washer.Cycle", "names": [{"text": "Cycle"}],
                "modes": [{"value": "Cycle.Quick", "names": [{"text": "quick"}]}]},
            {"type": "toggle", "instance": "Fan.Oscillate", "names": [{"asset": "Alexa.Setting.Oscillate"}]},
            {"type": "contactSensor"}, {"type": "motionSensor"},
            {"type": "stepSpeaker"},
            {"type": "playback", "operations": ["Play", "Pause"], "reportsState": true},
            {"type": "seek"},
            {"type": "input", "inputs": [{"name": "HDMI 1"}]},
            {"type": "channel"},
            {"type": "equalizer", "bands": ["BASS"], "modes": ["MOVIE"]},
            {"type": "timeHold", "allowRemoteResume": true},
            {"type": "doorbell"},
            {"type": "cameraStream", "configurations": [{"protocols": ["RTSP"],
                "resolutions": [{"width": 1280, "height": 720}], "authorizationTypes": ["NONE"],
                "videoCodecs": ["H264"], "audioCodecs": ["AAC"]}]},
            {"type": "rtcSession", "fullDuplexAudio": true},
            {"type": "securityPanel", "armStates": ["ARMED_AWAY"],
                "alarms": ["burglary", "fire", "carbonMonoxide", "water"], "pin": true},
        ]))
        .unwrap()
    }

    fn fully_populated() -> Device {
        let mut device: Device = serde_json::from_value(json!({
            "userId": "u", "endpointId": "e", "name": "n", "description": "d",
            "manufacturer": "m", "category": "OTHER",
        }))
        .unwrap();
        device.definition.capabilities = every_capability();
        device.state = DeviceState {
            power_on: Some(true),
            brightness: Some(1),
            percentage: Some(2),
            power_level: Some(4),
            color: Some(Hsb {
                hue: 1.0,
                saturation: 0.5,
                brightness: 0.5,
            }),
            color_temperature_kelvin: Some(2700),
            target_setpoint: Some(20.0),
            lower_setpoint: Some(18.0),
            upper_setpoint: Some(24.0),
            thermostat_mode: Some("HEAT".into()),
            temperature: Some(19.5),
            lock_state: Some(LockState::Locked),
            volume: Some(3),
            muted: Some(false),
            scene_active: Some(true),
            contact_open: Some(true),
            motion_detected: Some(false),
            battery_level: Some(80),
            low_battery: Some(false),
            playback_state: Some(crate::device::PlaybackState::Playing),
            playback_position_ms: Some(60_000),
            input: Some("HDMI 1".into()),
            channel: Some(Box::new(Channel {
                number: Some("7".into()),
                ..Channel::default()
            })),
            equalizer_bands: Some(BandLevels {
                bass: Some(2),
                ..BandLevels::default()
            }),
            equalizer_mode: Some(EqualizerMode::Movie),
            on_hold: Some(false),
            action: None,
            arm_state: Some(crate::device::ArmState::Disarmed),
            burglary_alarm: Some(false),
            fire_alarm: Some(false),
            carbon_monoxide_alarm: Some(true),
            water_alarm: Some(false),
            panel_not_ready: None,
            panel_trouble: None,
            open_zones: None,
            doorbell_pressed_at: Some(1),
            settings: [
                ("Fan.Speed", SettingValue::Number(3.0)),
                ("Washer.Cycle", SettingValue::Mode("Cycle.Quick".into())),
                ("Fan.Oscillate", SettingValue::On(true)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
        };
        device
    }

    /// A declared property that cannot be read from a device that has every value is one that
    /// would never be reported: a missing arm of `read`, or a wrong field.
    #[test]
    fn every_declared_property_reads_from_a_full_device() {
        let device = fully_populated();
        for capability in &device.definition.capabilities {
            for p in capability.properties() {
                assert!(p.read(&device).is_some(), "{p:?} of {capability:?} unread");
            }
        }
        assert!(Property::Connectivity.read(&device).is_some());
    }

    /// The state field a property names is the one serde writes for that value, so that
    /// `sampledAt` keys and conditional writes address the right attribute.
    #[test]
    fn fields_are_the_serialized_state_names() {
        let device = fully_populated();
        let state = serde_json::to_value(&device.state).unwrap();
        for capability in &device.definition.capabilities {
            for p in capability.properties() {
                assert!(
                    state.get(p.field().name()).is_some(),
                    "{p:?}: no field {}",
                    p.field()
                );
            }
        }
    }

    /// Every capability the tests list is every capability there is: a new variant fails here
    /// until it is added above (and so to the two tests before).
    #[test]
    fn the_list_is_complete() {
        for capability in every_capability() {
            match capability {
                DeviceCapability::Power
                | DeviceCapability::Brightness
                | DeviceCapability::Percentage
                | DeviceCapability::PowerLevel
                | DeviceCapability::Color
                | DeviceCapability::ColorTemperature { .. }
                | DeviceCapability::Thermostat { .. }
                | DeviceCapability::TemperatureSensor
                | DeviceCapability::Lock
                | DeviceCapability::Scene { .. }
                | DeviceCapability::Speaker
                | DeviceCapability::Range { .. }
                | DeviceCapability::Mode { .. }
                | DeviceCapability::Toggle { .. }
                | DeviceCapability::ContactSensor
                | DeviceCapability::MotionSensor
                | DeviceCapability::StepSpeaker { .. }
                | DeviceCapability::Playback { .. }
                | DeviceCapability::Seek
                | DeviceCapability::Input { .. }
                | DeviceCapability::Channel
                | DeviceCapability::Equalizer { .. }
                | DeviceCapability::TimeHold { .. }
                | DeviceCapability::SecurityPanel { .. }
                | DeviceCapability::Doorbell
                | DeviceCapability::CameraStream { .. }
                | DeviceCapability::RtcSession { .. }
                | DeviceCapability::Unknown => {}
            }
        }
        assert_eq!(every_capability().len(), 27);
    }

    #[test]
    fn every_capability_declares_an_interface() {
        for capability in every_capability() {
            assert!(!capability.interfaces().is_empty(), "{capability:?}");
        }
        assert!(DeviceCapability::Unknown.interfaces().is_empty());
    }
}
