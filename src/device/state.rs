//! A device's state, and its fields as a typed key.
//!
//! The fields are declared once, in the `state_fields!` macro below, which makes the
//! [`DeviceState`] struct (each field's attribute name in the devices table is written there,
//! and nowhere else) and the [`Field`] enum that names them. A patch, a pending command's
//! expectation and a device's report are `DeviceState`s holding only some fields; sample
//! times (`sampledAt`), the pending commands, the shadow bridge and the ChangeReport's diff
//! all key on [`Field`].

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::media::{BandLevels, Channel, DeviceAction, EqualizerMode, PlaybackState};
use super::security::{ArmState, Zone};
use super::{Hsb, LockState};

/// Declares the state fields: `Variant field: Type = "attributeName"`, each with its doc.
macro_rules! state_fields {
    ($(
        $(#[$doc:meta])*
        $variant:ident $field:ident : $ty:ty = $name:literal
    ),* $(,)?) => {
        /// The last known state of the device; a field is absent until the device has reported
        /// it. Its attribute names are [`Field::name`]'s.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        pub struct DeviceState {
            $(
                $(#[$doc])*
                #[serde(rename = $name, default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
            /// The values of range, mode and toggle settings, by instance name. Instance names
            /// contain a dot, which no field above does, so both live in the one `state` map
            /// (and `sampledAt`) and a write of one setting is one attribute, like any other.
            #[serde(flatten)]
            pub settings: BTreeMap<String, SettingValue>,
        }

        /// A field of a device's state (and connectivity, which has a sample time too).
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $( $variant, )*
            /// A range, mode or toggle setting, by instance name.
            Setting(String),
            /// The device's connectivity (an attribute of its own, beside `state`).
            Connectivity,
        }

        impl Field {
            /// Every field of [`DeviceState`] that has a name of its own (not settings).
            pub const NAMED: &[Field] = &[$( Self::$variant, )*];

            /// Its attribute name, in `state` and `sampledAt`.
            pub fn name(&self) -> &str {
                match self {
                    $( Self::$variant => $name, )*
                    Self::Setting(instance) => instance,
                    Self::Connectivity => CONNECTIVITY,
                }
            }

            /// The field an attribute name names (a setting's instance for any other).
            pub fn parse(name: &str) -> Self {
                match name {
                    $( $name => Self::$variant, )*
                    CONNECTIVITY => Self::Connectivity,
                    other => Self::Setting(other.to_owned()),
                }
            }
        }

        impl DeviceState {
            /// The fields it holds a value for, in declaration order, settings last.
            pub fn fields(&self) -> Vec<Field> {
                let mut out = Vec::new();
                $( if self.$field.is_some() { out.push(Field::$variant); } )*
                out.extend(self.settings.keys().cloned().map(Field::Setting));
                out
            }

            /// Whether the two hold the same value (or both none) for `field`.
            pub fn same(&self, other: &Self, field: &Field) -> bool {
                match field {
                    $( Field::$variant => self.$field == other.$field, )*
                    Field::Setting(instance) => {
                        self.settings.get(instance) == other.settings.get(instance)
                    }
                    Field::Connectivity => true,
                }
            }

            /// Takes `other`'s value of `field` (none: leaves its own).
            pub fn take(&mut self, other: &Self, field: &Field) {
                match field {
                    $( Field::$variant => {
                        if other.$field.is_some() {
                            self.$field = other.$field.clone();
                        }
                    } )*
                    Field::Setting(instance) => {
                        if let Some(value) = other.settings.get(instance) {
                            self.settings.insert(instance.clone(), value.clone());
                        }
                    }
                    Field::Connectivity => {}
                }
            }

            /// Sets `field` from a JSON value, if it has the field's type: a device's report,
            /// field by field, so that one mistyped value does not lose the others.
            pub fn set_json(&mut self, field: &Field, value: serde_json::Value) -> bool {
                match field {
                    $( Field::$variant => match serde_json::from_value::<$ty>(value) {
                        Ok(v) => {
                            self.$field = Some(v);
                            true
                        }
                        Err(_) => false,
                    }, )*
                    Field::Setting(instance) => match serde_json::from_value::<SettingValue>(value) {
                        Ok(SettingValue::Other(_)) | Err(_) => false,
                        Ok(v) => {
                            self.settings.insert(instance.clone(), v);
                            true
                        }
                    },
                    Field::Connectivity => false,
                }
            }
        }
    };
}

/// The attribute name of a device's connectivity, beside `state` (and its key in `sampledAt`).
const CONNECTIVITY: &str = "connectivity";

state_fields! {
    PowerOn power_on: bool = "powerOn",
    /// 0–100 %.
    Brightness brightness: u8 = "brightness",
    /// 0–100 %.
    Percentage percentage: u8 = "percentage",
    /// 0–100 %.
    PowerLevel power_level: u8 = "powerLevel",
    Color color: Hsb = "color",
    ColorTemperatureKelvin color_temperature_kelvin: u32 = "colorTemperatureKelvin",
    /// In the thermostat's scale (Celsius for a device without one).
    TargetSetpoint target_setpoint: f64 = "targetSetpoint",
    /// A dual or triple setpoint thermostat's heating setpoint, in its scale.
    LowerSetpoint lower_setpoint: f64 = "lowerSetpoint",
    /// A dual or triple setpoint thermostat's cooling setpoint, in its scale.
    UpperSetpoint upper_setpoint: f64 = "upperSetpoint",
    /// One of the thermostat's `modes`.
    ThermostatMode thermostat_mode: String = "thermostatMode",
    /// In the thermostat's scale (Celsius for a device without one).
    Temperature temperature: f64 = "temperature",
    LockState lock_state: LockState = "lockState",
    /// 0–100.
    Volume volume: u8 = "volume",
    Muted muted: bool = "muted",
    /// A scene's last command: `true` activated, `false` deactivated (not reported to Alexa;
    /// the device cloud acts on it).
    SceneActive scene_active: bool = "sceneActive",
    /// A contact sensor: whether the door or window is open.
    ContactOpen contact_open: bool = "contactOpen",
    MotionDetected motion_detected: bool = "motionDetected",
    /// Battery charge, 0–100 %, of a battery-powered device.
    BatteryLevel battery_level: u8 = "batteryLevel",
    /// The device cloud's word that the battery is too low for the device to act: commands
    /// are answered `ENDPOINT_LOW_POWER`.
    LowBattery low_battery: bool = "lowBattery",
    /// Whether a media device plays, is paused or stopped.
    PlaybackState playback_state: PlaybackState = "playbackState",
    /// Where playback is, in milliseconds from the start of what plays, as of its sample time
    /// (while playing, it moves on from there at normal speed).
    PlaybackPositionMs playback_position_ms: u64 = "playbackPositionMs",
    /// The selected input, by Alexa's name (`HDMI 1`).
    Input input: String = "input",
    Channel channel: Box<Channel> = "channel",
    /// Each band's level, in the equalizer's range.
    EqualizerBands equalizer_bands: BandLevels = "equalizerBands",
    EqualizerMode equalizer_mode: EqualizerMode = "equalizerMode",
    /// A timed job (a robot vacuum's run) held: paused, to resume where it was.
    OnHold on_hold: bool = "onHold",
    /// The last one-off request (a playback operation, volume steps, skipped channels): not
    /// reported to Alexa; the device cloud acts on each new `id`.
    Action action: DeviceAction = "action",
    ArmState arm_state: ArmState = "armState",
    /// An alarm panel's alarms: `true` while it sounds.
    BurglaryAlarm burglary_alarm: bool = "burglaryAlarm",
    FireAlarm fire_alarm: bool = "fireAlarm",
    CarbonMonoxideAlarm carbon_monoxide_alarm: bool = "carbonMonoxideAlarm",
    WaterAlarm water_alarm: bool = "waterAlarm",
    /// The panel's word that it cannot arm now (a sensor fault, a tamper): Arm is refused
    /// `NOT_READY`.
    PanelNotReady panel_not_ready: bool = "panelNotReady",
    /// A trouble condition the panel reports (no mains power, a lost sensor): Arm is refused
    /// `UNCLEARED_TROUBLE` until it is cleared.
    PanelTrouble panel_trouble: bool = "panelTrouble",
    /// The zones open now: Arm is refused `BYPASS_NEEDED`, naming them.
    OpenZones open_zones: Vec<Zone> = "openZones",
    /// When the doorbell was last pressed (Unix ms), as the device side writes it: each new
    /// value is a press, sent to Alexa once as `DoorbellPress` (not a property: a press is an
    /// event, never reported as a state).
    DoorbellPressedAt doorbell_pressed_at: i64 = "doorbellPressedAt",
}

impl DeviceState {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Whether `self` holds every value `expected` holds.
    pub fn holds(&self, expected: &Self) -> bool {
        let fields = expected.fields();
        !fields.is_empty() && fields.iter().all(|f| self.same(expected, f))
    }
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A field is its attribute name (a key of `sampledAt`).
impl Serialize for Field {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Ok(Self::parse(&name))
    }
}

/// The value of a range (a number), mode (its id) or toggle (on or off) setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SettingValue {
    On(bool),
    Number(f64),
    Mode(String),
    /// Anything else a device cloud keeps in `state` (ignored, but kept on decode rather than
    /// failing the whole device).
    Other(serde_json::Value),
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_is_its_attribute_name_both_ways() {
        let state: DeviceState = serde_json::from_value(json!({
            "powerOn": true, "colorTemperatureKelvin": 2700, "Fan.Speed": 3
        }))
        .unwrap();
        let fields = state.fields();
        assert_eq!(
            fields,
            [
                Field::PowerOn,
                Field::ColorTemperatureKelvin,
                Field::Setting("Fan.Speed".into())
            ]
        );
        let json = serde_json::to_value(&state).unwrap();
        for field in &fields {
            assert!(json.get(field.name()).is_some(), "{field}");
            assert_eq!(&Field::parse(field.name()), field);
        }
        assert_eq!(Field::parse("connectivity"), Field::Connectivity);
        let sampled: BTreeMap<Field, i64> =
            serde_json::from_value(json!({"powerOn": 1, "connectivity": 2, "A.B": 3})).unwrap();
        assert_eq!(sampled[&Field::Connectivity], 2);
        assert_eq!(
            serde_json::to_value(&sampled).unwrap(),
            json!({"powerOn": 1, "connectivity": 2, "A.B": 3})
        );
    }

    #[test]
    fn a_report_is_read_field_by_field() {
        let mut state = DeviceState::default();
        assert!(state.set_json(&Field::Brightness, json!(40)));
        assert!(!state.set_json(&Field::Brightness, json!("very")));
        assert!(state.set_json(&Field::Setting("Fan.Speed".into()), json!(3)));
        assert!(!state.set_json(&Field::Setting("x".into()), json!({"a": 1})));
        assert_eq!(state.brightness, Some(40));
        let expected = DeviceState {
            brightness: Some(40),
            ..DeviceState::default()
        };
        assert!(state.holds(&expected));
        assert!(!DeviceState::default().holds(&expected));
        assert!(
            !state.holds(&DeviceState::default()),
            "nothing expected holds nothing"
        );
    }
}
