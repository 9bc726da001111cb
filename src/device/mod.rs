//! The device cloud's own model of a device: one item of the devices table.
//!
//! This is the device maker's vocabulary (name, category, capabilities, state), not Alexa's;
//! [`mapping`] turns it into an Alexa endpoint in exactly one place.

pub mod catalogue;
pub mod mapping;
pub mod media;
pub mod pending;
pub mod pin;
pub mod properties;
pub mod routing;
pub mod security;
pub mod state;

pub use crate::alexa::camera::StreamConfiguration;
pub use media::{
    Band, BandLevels, Channel, DeviceAction, EqualizerMode, PlaybackOperation, PlaybackState,
};
pub use routing::Adapter;
pub use security::{Alarm, ArmState, PanelRefusal, Zone};
pub use state::{DeviceState, Field, SettingValue};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use self::pending::PendingCommand;
use crate::alexa::event::CauseType;
pub use crate::ids::{EndpointId, UserId};

/// Declares a device item's attributes once, in two groups: its definition's (what discovery
/// reads) and the rest. It makes [`DeviceDefinition`], [`Device`] (the definition and the
/// rest; written with the definition flattened into the item) and the flat `DeviceItem` a
/// device is read through: serde's `flatten` reads by buffering the whole item first, which
/// made decoding an item half as slow again, 5 % of the stream's work on a 1,000-record batch
/// (docs/benchmark-history.md).
macro_rules! device_item {
    (
        $(#[$definition_doc:meta])*
        definition { $( $(#[$dm:meta])* $df:ident : $dt:ty, )* }
        $(#[$device_doc:meta])*
        rest { $( $(#[$rm:meta])* $rf:ident : $rt:ty, )* }
    ) => {
        $(#[$definition_doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct DeviceDefinition {
            $( $(#[$dm])* pub $df: $dt, )*
        }

        $(#[$device_doc])*
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase", from = "DeviceItem")]
        pub struct Device {
            #[serde(flatten)]
            pub definition: DeviceDefinition,
            $( $(#[$rm])* pub $rf: $rt, )*
        }

        /// A device item as read: every attribute at one level.
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct DeviceItem {
            $( $(#[$dm])* $df: $dt, )*
            $( $(#[$rm])* $rf: $rt, )*
        }

        impl From<DeviceItem> for Device {
            fn from(item: DeviceItem) -> Self {
                Self {
                    definition: DeviceDefinition { $( $df: item.$df, )* },
                    $( $rf: item.$rf, )*
                }
            }
        }
    };
}

device_item! {
    /// What an Alexa endpoint is made of: every attribute of a device item discovery reads (not
    /// its state, sample times, connectivity, cause, routing or pending commands). Attribute names
    /// are the item's DynamoDB attribute names.
    definition {
        /// Partition key: the device cloud's customer id.
        user_id: UserId,
        /// Sort key: stable id of the device, never derived from its name or address (a changing
        /// id makes Alexa show the device twice).
        endpoint_id: EndpointId,
        /// What the customer calls it (Alexa's `friendlyName`).
        name: String,
        description: String,
        manufacturer: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        serial_number: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        firmware_version: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        software_version: Option<String>,
        /// An Alexa display category (`LIGHT`, `SMARTPLUG`, …): decides the icon in the Alexa
        /// app.
        category: String,
        #[serde(default)]
        capabilities: Vec<DeviceCapability>,
        #[serde(default, skip_serializing_if = "DeviceRelationships::is_empty")]
        relationships: DeviceRelationships,
        /// Where its commands go; absent: the deployment's `DEVICE_CLOUD`. Part of the
        /// definition because it decides what can be declared: a camera's streams come only
        /// from the maker's API.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device_cloud: Option<Adapter>,
        /// Opaque strings Alexa hands back in every directive for this device.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        cookie: BTreeMap<String, String>,
    }
    /// One device of one customer: its definition, and what the device cloud and the skill keep
    /// of it beside. Attribute names are the item's DynamoDB attribute names.
    rest {
        #[serde(default)]
        connectivity: Connectivity,
        #[serde(default, skip_serializing_if = "DeviceState::is_empty")]
        state: DeviceState,
        /// When each state field (and connectivity) was last sampled, Unix milliseconds: the
        /// `timeOfSample` Alexa is told.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        sampled_at: BTreeMap<Field, i64>,
        /// What made the last state change: the `cause` of its ChangeReport.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        changed_by: Option<CauseType>,
        /// IoT: the thing whose shadow takes its commands (absent: the endpoint id). The shadow
        /// bridge finds the device by this attribute (the table's `thingName` index), so a device
        /// routed through IoT must carry it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        thing_name: Option<String>,
        /// IoT: a named shadow of the thing; absent: its classic shadow.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shadow_name: Option<String>,
        /// Whether Alexa hears success only once the device confirms it (absent: locks and garage
        /// doors do). Only for the `iot` and `https` adapters, whose devices can answer later.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm: Option<bool>,
        /// How long the device may take to confirm, seconds (absent: 30); Alexa is told it in
        /// `estimatedDeferralInSeconds`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        confirm_within: Option<u32>,
        /// Commands awaiting the device's confirmation: written by the skill, settled by the
        /// stream.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pending: Vec<PendingCommand>,
        /// Incremented by every write of `pending`: the list is replaced on this number, never on
        /// a comparison of the list as this build would write it (an entry of a newer build, with
        /// a field this one does not know, would never compare equal).
        #[serde(default, skip_serializing_if = "is_zero")]
        pending_version: u64,
        /// IoT: the shadow version of the last reported state the bridge wrote, so that a late or
        /// repeated shadow document never overwrites a newer one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        shadow_version: Option<u64>,
        /// When a directive's answer last told Alexa the device's state (Unix milliseconds): the
        /// skill's, written with that state. An answer is not recorded in the Alexa view (no write
        /// on a directive's path); reconciliation compares this with when the view's state was.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answered_at: Option<i64>,
        /// An alarm panel's PIN, hashed (`device::pin`): written by the device cloud, never
        /// the PIN itself.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pin_hash: Option<pin::PinHash>,
        /// When PINs were tried and not (yet) accepted, Unix ms, within the wrong-PIN window:
        /// the skill's, so that too many wrong PINs lock PINs out (`handlers::security_panel`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        pin_attempts: Vec<i64>,
    }
}

impl DeviceDefinition {
    /// Its attributes' names, as the item holds them: what a read of definitions projects.
    pub fn attributes() -> &'static [&'static str] {
        serde_aux::serde_introspection::serde_introspect::<Self>()
    }

    /// The scale the device's temperatures are kept in: its thermostat's, else Celsius.
    pub fn temperature_scale(&self) -> TemperatureScale {
        self.capabilities
            .iter()
            .find_map(|c| match c {
                DeviceCapability::Thermostat { scale, .. } => Some(*scale),
                _ => None,
            })
            .unwrap_or_default()
    }

    /// Whether it declares a camera's view, which only the maker's API can serve.
    pub fn is_camera(&self) -> bool {
        self.capabilities.iter().any(|c| {
            matches!(
                c,
                DeviceCapability::CameraStream { .. } | DeviceCapability::RtcSession { .. }
            )
        })
    }

    /// Whether it is a doorbell, whose presses are events.
    pub fn is_doorbell(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, DeviceCapability::Doorbell))
    }

    /// Whether it declares an on/off switch (`Alexa.PowerController`): a light's brightness,
    /// colour and white then follow the light rules (`handlers::light`).
    pub fn has_power_switch(&self) -> bool {
        self.capabilities
            .iter()
            .any(|c| matches!(c, DeviceCapability::Power))
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Device {
    /// The scale the device's temperatures are kept in: its thermostat's, else Celsius.
    pub fn temperature_scale(&self) -> TemperatureScale {
        self.definition.temperature_scale()
    }

    /// Whether it declares an on/off switch: see [`DeviceDefinition::has_power_switch`].
    pub fn has_power_switch(&self) -> bool {
        self.definition.has_power_switch()
    }

    /// Whether Alexa hears success only once the device confirms: as configured, else for
    /// what a customer must be able to trust, locks and garage doors.
    pub fn must_confirm(&self) -> bool {
        self.confirm.unwrap_or_else(|| {
            self.definition.category == "GARAGE_DOOR"
                || self
                    .definition
                    .capabilities
                    .iter()
                    .any(|c| matches!(c, DeviceCapability::Lock))
        })
    }

    /// Seconds the device may take to confirm a command.
    pub fn confirm_within_secs(&self) -> u32 {
        self.confirm_within.unwrap_or(DEFAULT_CONFIRM_WITHIN_SECS)
    }

    /// The thing whose shadow takes its commands.
    pub fn thing(&self) -> &str {
        self.thing_name
            .as_deref()
            .unwrap_or(&self.definition.endpoint_id)
    }
}

/// What a device can do, in the device cloud's terms. Stored as a list of maps tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum DeviceCapability {
    /// On and off.
    Power,
    /// Dimmable, 0–100 %.
    Brightness,
    /// A generic 0–100 % setting (fan speed, blind position, …).
    Percentage,
    /// The power a device draws or delivers, 0–100 % (a dimmer switch, a fan's motor).
    PowerLevel,
    /// Hue, saturation and brightness.
    Color,
    /// White temperature in kelvin, within the bulb's own range.
    #[serde(rename_all = "camelCase")]
    ColorTemperature {
        #[serde(default = "default_min_kelvin")]
        min_kelvin: u32,
        #[serde(default = "default_max_kelvin")]
        max_kelvin: u32,
    },
    /// A thermostat with the listed modes (`HEAT`, `COOL`, `AUTO`, …) and one, two or three
    /// setpoints, in its own temperature scale.
    #[serde(rename_all = "camelCase")]
    Thermostat {
        #[serde(default)]
        modes: Vec<String>,
        /// The setpoints the thermostat accepts, in `scale`.
        #[serde(default = "default_min_setpoint")]
        min_setpoint: f64,
        #[serde(default = "default_max_setpoint")]
        max_setpoint: f64,
        /// The scale the device works in: its setpoints and temperature are stored, and reported,
        /// in it, so that a value set in Fahrenheit comes back exactly.
        #[serde(default)]
        scale: TemperatureScale,
        #[serde(default)]
        setpoints: Setpoints,
        /// The least gap between the lower and upper setpoints, in `scale` (1 °C or 2 °F when
        /// not given).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        minimum_delta: Option<f64>,
    },
    /// Reports the ambient temperature.
    TemperatureSensor,
    /// A lock.
    Lock,
    /// A scene; `supportsDeactivation` when it can also be turned off.
    #[serde(rename_all = "camelCase")]
    Scene {
        #[serde(default)]
        supports_deactivation: bool,
    },
    /// Volume and mute.
    Speaker,
    /// A numeric setting of its own (a fan's speed, a blind's position, a humidifier's target):
    /// Alexa's `RangeController` with this `instance`.
    #[serde(rename_all = "camelCase")]
    Range {
        /// Names the setting in directives and state: `Fan.Speed`, `Blind.Lift`. At least one
        /// dot, so that it cannot clash with a state field of the device model.
        instance: String,
        /// What the customer calls the setting.
        names: Vec<Name>,
        min: f64,
        max: f64,
        /// The step between two values.
        #[serde(default = "default_precision")]
        precision: f64,
        /// An Alexa unit of measure (`Alexa.Unit.Percent`, …), if the value has one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
        /// Named values ("high", "maximum").
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        presets: Vec<Preset>,
        /// How far "raise", "turn up" and the like move it when the customer names no amount;
        /// a tenth of the range (at least one step) when not given.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        default_delta: Option<f64>,
        /// What the value means, for the words Alexa maps to it ("open the blind").
        #[serde(default, skip_serializing_if = "Option::is_none")]
        semantics: Option<RangeSemantics>,
    },
    /// A setting with named values (a washer's cycle, a garage door's position): Alexa's
    /// `ModeController` with this `instance`.
    #[serde(rename_all = "camelCase")]
    Mode {
        instance: String,
        names: Vec<Name>,
        /// Whether the modes have an order ("increase the water temperature").
        #[serde(default)]
        ordered: bool,
        modes: Vec<ModeValue>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        semantics: Option<ModeSemantics>,
    },
    /// Something that is on or off on its own (a fan's oscillation, a child lock): Alexa's
    /// `ToggleController` with this `instance`.
    #[serde(rename_all = "camelCase")]
    Toggle { instance: String, names: Vec<Name> },
    /// A door or window contact: reports whether it is open.
    ContactSensor,
    /// Reports whether it detects motion.
    MotionSensor,
    /// Volume up and down by steps, and mute, for a device that does not know its volume (an
    /// AV receiver behind an infrared blaster).
    #[serde(rename_all = "camelCase")]
    StepSpeaker {
        /// How many steps "turn it up" moves when the customer names no number.
        #[serde(default = "default_volume_steps")]
        default_steps: u8,
    },
    /// Transport controls: the operations the device takes, and whether it reports if it
    /// plays (`playbackState`).
    #[serde(rename_all = "camelCase")]
    Playback {
        operations: Vec<PlaybackOperation>,
        #[serde(default)]
        reports_state: bool,
    },
    /// Skipping forward or back within what plays, from `playbackPositionMs`.
    Seek,
    /// The inputs the customer can switch to, by Alexa's names (`HDMI 1`, `TV`, …).
    Input { inputs: Vec<InputSource> },
    /// TV channels: by number, call sign or URI, and up and down.
    Channel,
    /// Band levels (bass, midrange, treble) within one range, and sound modes.
    #[serde(rename_all = "camelCase")]
    Equalizer {
        #[serde(default)]
        bands: Vec<Band>,
        #[serde(default = "default_min_level")]
        min_level: i32,
        #[serde(default = "default_max_level")]
        max_level: i32,
        /// The level "reset the bass" goes back to.
        #[serde(default)]
        default_level: i32,
        /// How far "more bass" moves a band when the customer names no amount.
        #[serde(default = "default_level_step")]
        level_step: i32,
        #[serde(default)]
        modes: Vec<EqualizerMode>,
    },
    /// An alarm panel: the armed states it takes (disarmed it always is), the alarms it
    /// reports, its exit delay, and `pin` when disarming takes the customer's four-digit PIN
    /// (checked against the item's `pinHash` for `table` and `iot` devices, by the maker's API
    /// for `https` ones).
    #[serde(rename_all = "camelCase")]
    SecurityPanel {
        arm_states: Vec<ArmState>,
        #[serde(default)]
        alarms: Vec<Alarm>,
        /// Seconds between arming and the panel being armed, for the customer to leave
        /// (Alexa's limit: 255).
        #[serde(default)]
        exit_delay_seconds: u8,
        #[serde(default)]
        pin: bool,
    },
    /// A camera's live view as RTSP streams, which the maker's API hands out on request
    /// (short-lived credentials only the maker can mint): a device with it must say
    /// `deviceCloud: https`, or it is left out of discovery.
    CameraStream {
        configurations: Vec<StreamConfiguration>,
    },
    /// A camera's live view and two-way talk over WebRTC (what an Echo Show opens a video
    /// doorbell's view with), negotiated with the maker's API; `deviceCloud: https` as above.
    #[serde(rename_all = "camelCase")]
    RtcSession {
        #[serde(default)]
        full_duplex_audio: bool,
    },
    /// A doorbell: each press the device side records (`doorbellPressedAt`) rings the
    /// customer's Echo devices (`Alexa.DoorbellEventSource`).
    Doorbell,
    /// Holding a timed job and resuming it (a robot vacuum's cleaning run): `allowRemoteResume`
    /// when the customer may resume it by voice, not only at the device.
    #[serde(rename_all = "camelCase")]
    TimeHold {
        #[serde(default)]
        allow_remote_resume: bool,
    },
    /// A capability written by a newer device cloud than this skill knows: ignored, not fatal.
    #[serde(other)]
    Unknown,
}

/// How long a device that must confirm may take when its item does not say.
pub const DEFAULT_CONFIRM_WITHIN_SECS: u32 = 30;

/// The setpoints of a thermostat that declares none, Celsius.
pub const DEFAULT_MIN_SETPOINT: f64 = 7.0;
pub const DEFAULT_MAX_SETPOINT: f64 = 30.0;

/// The white temperatures a bulb that declares none accepts.
pub const DEFAULT_MIN_KELVIN: u32 = 1000;
pub const DEFAULT_MAX_KELVIN: u32 = 10000;

fn default_min_kelvin() -> u32 {
    DEFAULT_MIN_KELVIN
}

fn default_max_kelvin() -> u32 {
    DEFAULT_MAX_KELVIN
}

fn default_volume_steps() -> u8 {
    1
}

fn default_min_level() -> i32 {
    -6
}

fn default_max_level() -> i32 {
    6
}

fn default_level_step() -> i32 {
    1
}

fn default_precision() -> f64 {
    1.0
}

/// The temperature scale a device works in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemperatureScale {
    #[default]
    Celsius,
    Fahrenheit,
}

impl TemperatureScale {
    pub const fn alexa_name(self) -> &'static str {
        match self {
            Self::Celsius => "CELSIUS",
            Self::Fahrenheit => "FAHRENHEIT",
        }
    }
}

/// Which setpoints a thermostat has, as Amazon names the kinds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Setpoints {
    /// `targetSetpoint` only.
    #[default]
    Single,
    /// `lowerSetpoint` and `upperSetpoint`: heats below one, cools above the other.
    Dual,
    /// All three.
    Triple,
}

/// A name the customer uses for a setting, a mode or a preset: one of Alexa's catalogue names
/// (which Alexa knows in every language, e.g. `Alexa.Setting.FanSpeed`) or a text in one locale.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Name {
    Asset {
        asset: String,
    },
    Text {
        text: String,
        #[serde(default = "default_locale")]
        locale: String,
    },
}

fn default_locale() -> String {
    "en-US".into()
}

/// A named value of a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preset {
    pub value: f64,
    pub names: Vec<Name>,
}

/// An input of a TV or receiver: one of Alexa's input names, and what else the customer calls it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputSource {
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friendly_names: Vec<String>,
}

/// One mode of a mode setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeValue {
    /// Its id in directives and state, e.g. `Position.Up`.
    pub value: String,
    pub names: Vec<Name>,
}

/// What a range's value means to Alexa's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RangeSemantics {
    /// How far open it is (blinds, shades, curtains): `min` is closed, `max` fully open;
    /// "open", "close", "raise" and "lower" work.
    Position,
}

/// Which modes mean open and closed ("open the garage door", "is it closed?").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeSemantics {
    pub open: String,
    pub close: String,
}

fn default_min_setpoint() -> f64 {
    DEFAULT_MIN_SETPOINT
}

fn default_max_setpoint() -> f64 {
    DEFAULT_MAX_SETPOINT
}

/// How the device relates to other endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRelationships {
    /// The endpoints this one groups, e.g. a soundbar made of Alexa built-in speakers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster_of: Vec<ClusterMember>,
    /// The endpoint ids that control this one (e.g. the TV a soundbar follows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub controlled_by: Vec<EndpointId>,
}

impl DeviceRelationships {
    pub fn is_empty(&self) -> bool {
        self.cluster_of.is_empty() && self.controlled_by.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMember {
    pub endpoint_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_type_id: Option<String>,
    /// `AVS` for an Alexa built-in device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Whether the device cloud can reach the device (Alexa's `connectivity`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Connectivity {
    #[default]
    Ok,
    Unreachable,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LockState {
    Locked,
    Unlocked,
    /// The lock could not complete its last move.
    Jammed,
}

/// Hue 0–360, saturation and brightness 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Hsb {
    pub hue: f64,
    pub saturation: f64,
    pub brightness: f64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::seed::Seed;

    fn example_devices() -> Vec<Device> {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/example-account.json");
        let json = std::fs::read_to_string(path).expect("example account");
        Seed::from_json(&json).expect("seed").devices
    }

    /// A field added to `Device` must be either part of the definition discovery reads or
    /// one of the state attributes it leaves out.
    #[test]
    fn every_attribute_is_definition_or_state() {
        const STATE: &[&str] = &[
            "connectivity",
            "state",
            "sampledAt",
            "changedBy",
            "thingName",
            "shadowName",
            "confirm",
            "confirmWithin",
            "pending",
            "shadowVersion",
            "pinHash",
            "pinAttempts",
        ];
        for device in example_devices() {
            let serde_json::Value::Object(item) = serde_json::to_value(&device).expect("item")
            else {
                panic!("a device is a map");
            };
            for key in item.keys() {
                assert!(
                    DeviceDefinition::attributes().contains(&key.as_str())
                        || STATE.contains(&key.as_str()),
                    "{key} is neither definition nor state"
                );
            }
        }
    }

    #[test]
    fn the_projection_keeps_the_endpoint() {
        for device in example_devices() {
            let serde_json::Value::Object(mut item) = serde_json::to_value(&device).expect("item")
            else {
                panic!("a device is a map");
            };
            item.retain(|key, _| DeviceDefinition::attributes().contains(&key.as_str()));
            let projected: DeviceDefinition =
                serde_json::from_value(serde_json::Value::Object(item)).expect("projected");
            assert_eq!(projected, device.definition);
        }
    }
}
