//! Capabilities of the devices makers sell, as a device cloud writes them: shared by the
//! property tests and the soak so that both exercise the same generic controllers.

use alexa_smart_home::device::{DeviceCapability, EqualizerMode, Setpoints, TemperatureScale};
use serde_json::json;

fn capability(value: serde_json::Value) -> DeviceCapability {
    serde_json::from_value(value).expect("a valid capability")
}

/// A fan's speed: 1–5 with presets, Alexa's FanSpeed name.
pub fn fan_speed() -> DeviceCapability {
    capability(json!({
        "type": "range", "instance": "Fan.Speed",
        "names": [{"asset": "Alexa.Setting.FanSpeed"}, {"text": "Speed", "locale": "en-US"}],
        "min": 1, "max": 5, "precision": 1,
        "presets": [
            {"value": 1, "names": [{"asset": "Alexa.Value.Minimum"}, {"asset": "Alexa.Value.Low"}]},
            {"value": 5, "names": [{"asset": "Alexa.Value.Maximum"}, {"asset": "Alexa.Value.High"}]},
        ],
    }))
}

/// A blind's position: 0 (closed) – 100 % (open), with open/close/raise/lower semantics.
pub fn blind_position() -> DeviceCapability {
    capability(json!({
        "type": "range", "instance": "Blind.Lift",
        "names": [{"asset": "Alexa.Setting.Opening"}],
        "min": 0, "max": 100, "precision": 1, "unit": "Alexa.Unit.Percent",
        "semantics": "position",
    }))
}

/// A garage door: up or down, with open/close semantics.
pub fn garage_door() -> DeviceCapability {
    capability(json!({
        "type": "mode", "instance": "GarageDoor.Position",
        "names": [{"asset": "Alexa.Setting.Mode"}, {"text": "Position", "locale": "en-US"}],
        "ordered": false,
        "modes": [
            {"value": "Position.Up", "names": [{"asset": "Alexa.Value.Open"}]},
            {"value": "Position.Down", "names": [{"asset": "Alexa.Value.Close"}]},
        ],
        "semantics": {"open": "Position.Up", "close": "Position.Down"},
    }))
}

/// A washer's water temperature: ordered modes.
pub fn water_temperature() -> DeviceCapability {
    capability(json!({
        "type": "mode", "instance": "Washer.WaterTemperature",
        "names": [{"text": "Water temperature", "locale": "en-US"}],
        "ordered": true,
        "modes": [
            {"value": "WaterTemperature.Cold", "names": [{"text": "Cold", "locale": "en-US"}]},
            {"value": "WaterTemperature.Warm", "names": [{"text": "Warm", "locale": "en-US"}]},
            {"value": "WaterTemperature.Hot", "names": [{"text": "Hot", "locale": "en-US"}]},
        ],
    }))
}

/// A fan's oscillation.
pub fn oscillation() -> DeviceCapability {
    capability(json!({
        "type": "toggle", "instance": "Fan.Oscillate",
        "names": [{"asset": "Alexa.Setting.Oscillate"}],
    }))
}

/// A dual-setpoint thermostat in Fahrenheit.
pub fn dual_fahrenheit() -> DeviceCapability {
    DeviceCapability::Thermostat {
        modes: vec!["HEAT".into(), "COOL".into(), "AUTO".into()],
        min_setpoint: 50.0,
        max_setpoint: 90.0,
        scale: TemperatureScale::Fahrenheit,
        setpoints: Setpoints::Dual,
        minimum_delta: None,
    }
}

/// A triple-setpoint thermostat in Celsius.
pub fn triple_celsius() -> DeviceCapability {
    DeviceCapability::Thermostat {
        modes: vec!["AUTO".into()],
        min_setpoint: 7.0,
        max_setpoint: 30.0,
        scale: TemperatureScale::Celsius,
        setpoints: Setpoints::Triple,
        minimum_delta: Some(1.5),
    }
}

/// A TV's transport controls, reporting whether it plays.
pub fn tv_playback() -> DeviceCapability {
    capability(json!({
        "type": "playback", "reportsState": true,
        "operations": ["Play", "Pause", "Stop", "StartOver", "Previous", "Next", "Rewind", "FastForward"],
    }))
}

/// A TV's inputs.
pub fn tv_inputs() -> DeviceCapability {
    capability(json!({
        "type": "input",
        "inputs": [{"name": "HDMI 1", "friendlyNames": ["Console"]}, {"name": "HDMI 2"}, {"name": "TV"}],
    }))
}

/// An AV receiver's equalizer: three bands of -6..6 and two modes.
pub fn receiver_equalizer() -> DeviceCapability {
    capability(json!({
        "type": "equalizer", "bands": ["BASS", "MIDRANGE", "TREBLE"], "minLevel": -6, "maxLevel": 6,
        "modes": ["MOVIE", "MUSIC"],
    }))
}

/// The input names and equalizer modes of the capabilities above, for state operations.
pub const INPUT_VALUES: &[&str] = &["HDMI 1", "HDMI 2", "TV"];
pub const EQUALIZER_MODES: &[EqualizerMode] = &[EqualizerMode::Movie, EqualizerMode::Music];

/// Every valid capability of issue #12's device kinds, for generators that pick among them:
/// a bulb with its own white range, the generic controllers above, both sensors, the dual
/// and triple thermostats, a dimmer switch's power level, and (issue #25) a TV's and an AV
/// receiver's media controls and a robot vacuum's hold.
pub fn makers_kinds() -> Vec<DeviceCapability> {
    vec![
        DeviceCapability::ColorTemperature {
            min_kelvin: 2200,
            max_kelvin: 6500,
        },
        fan_speed(),
        blind_position(),
        garage_door(),
        water_temperature(),
        oscillation(),
        DeviceCapability::ContactSensor,
        DeviceCapability::MotionSensor,
        dual_fahrenheit(),
        triple_celsius(),
        DeviceCapability::PowerLevel,
        DeviceCapability::StepSpeaker { default_steps: 1 },
        tv_playback(),
        DeviceCapability::Seek,
        tv_inputs(),
        DeviceCapability::Channel,
        receiver_equalizer(),
        DeviceCapability::TimeHold {
            allow_remote_resume: true,
        },
        alarm_panel(),
        DeviceCapability::Doorbell,
    ]
}

/// An alarm panel: away, stay and night, four alarms, a 30 s exit delay, a PIN to disarm.
pub fn alarm_panel() -> DeviceCapability {
    capability(json!({
        "type": "securityPanel", "armStates": ["ARMED_AWAY", "ARMED_STAY", "ARMED_NIGHT"],
        "alarms": ["burglary", "fire", "carbonMonoxide", "water"], "exitDelaySeconds": 30,
        "pin": true,
    }))
}

/// The instance values each of the capabilities above accepts, for state operations.
pub const RANGE_VALUES: &[(&str, f64)] = &[
    ("Fan.Speed", 1.0),
    ("Fan.Speed", 3.0),
    ("Fan.Speed", 5.0),
    ("Blind.Lift", 0.0),
    ("Blind.Lift", 40.0),
    ("Blind.Lift", 100.0),
];
pub const MODE_VALUES: &[(&str, &str)] = &[
    ("GarageDoor.Position", "Position.Up"),
    ("GarageDoor.Position", "Position.Down"),
    ("Washer.WaterTemperature", "WaterTemperature.Cold"),
    ("Washer.WaterTemperature", "WaterTemperature.Hot"),
];
