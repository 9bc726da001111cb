//! DynamoDB stream batches as the stream Lambda gets them, decoded and planned into reports:
//! never a panic, and every report within Alexa's limits (at most 300 endpoints, 50 ids per
//! DeleteReport, a body of at most 256,000 bytes with the longest access token) and valid JSON;
//! every endpoint sent is one `validate` accepts.
//!
//! Two ways in:
//! - input starting with `{`: raw JSON, `serde_json::from_slice::<StreamEvent>` (when it
//!   parses: the stream Lambda's own decoding of its event),
//!   which is what the seed corpus (`corpus/stream_images/seed-*.json`) holds;
//! - anything else: structured records from `arbitrary` (INSERT/MODIFY/REMOVE or another name;
//!   keys right, missing or garbage; images that are devices, devices with one attribute
//!   replaced by an arbitrary DynamoDB value, or arbitrary attribute maps), each record
//!   repeatable over many endpoint ids so that the 300-endpoint and byte limits are reached.
#![no_main]

use std::collections::BTreeMap;

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::alexa::camera::{
    AudioCodec, Resolution, StreamAuthorization, StreamProtocol, VideoCodec,
};
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::alexa::validate::{self, MAX_ENDPOINTS};
use alexa_smart_home::device::{
    Adapter, Alarm, ArmState, Band, BandLevels, Channel, ClusterMember, Connectivity, Device,
    DeviceCapability, DeviceDefinition, DeviceRelationships, DeviceState, EqualizerMode, Field,
    Hsb, InputSource, LockState, ModeValue, Name, PlaybackOperation, PlaybackState, Preset,
    RangeSemantics, Setpoints, SettingValue, StreamConfiguration, TemperatureScale,
};
use alexa_smart_home::proactive::reports::{DELETE_CHUNK, MAX_REPORT_BYTES, ReportKind};
use alexa_smart_home::stream::changes::{self, StreamEvent};
use alexa_smart_home::stream::reports_for;
use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};

const NOW_MS: i64 = 1_800_000_000_000;
/// Records one input may expand to (a record's copies included): more than twice the
/// 300-endpoint limit of one report.
const MAX_RECORDS: usize = 700;
/// The JSON one input may expand to. Lambda hands a function at most 6 MB, but 2 MB already
/// makes several full 256 KB reports for one customer; at 6 MB and 1,200 records the target ran
/// at ~50 executions/s (and, before any cap, letting copies of 64 KB images pile up ran the
/// harness out of memory).
const MAX_EVENT_BYTES: usize = 2_000_000;
const USERS: [&str; 3] = ["user-a", "user-b", "example-user"];
const NAMES: [&str; 4] = ["Lamp", "Hall Light", "Küche", ""];
const CATEGORIES: [&str; 5] = ["LIGHT", "THERMOSTAT", "VACUUM_CLEANER", "TOASTER", "light"];

#[derive(Arbitrary, Debug)]
struct Input {
    records: Vec<Record>,
}

#[derive(Arbitrary, Debug)]
enum EventName {
    Insert,
    Modify,
    Remove,
    Other(String),
}

/// A value from a small pool (so that records meet on the same customer and endpoint), or any.
#[derive(Arbitrary, Debug)]
enum Pick {
    Pool(u8),
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum Keys {
    Right,
    Missing,
    Garbage(Vec<(String, Attr)>),
}

#[derive(Arbitrary, Debug)]
struct Record {
    name: EventName,
    user: Pick,
    endpoint: Pick,
    keys: Keys,
    old: Option<Image>,
    new: Option<Image>,
    /// The record is repeated for endpoint ids `<id>-0`, `<id>-1`, …
    copies: u8,
}

#[derive(Arbitrary, Debug)]
enum Image {
    Device(Box<DeviceSpec>),
    /// A device item with one attribute set to an arbitrary value (a wrong type, a bad number).
    Patched(Box<DeviceSpec>, String, Attr),
    Garbage(Vec<(String, Attr)>),
}

/// A DynamoDB attribute value, as stream JSON spells it.
#[derive(Arbitrary, Debug)]
enum Attr {
    S(String),
    N(String),
    Bool(bool),
    Null,
    L(Vec<Attr>),
    M(Vec<(String, Attr)>),
    Ss(Vec<String>),
    Ns(Vec<String>),
}

#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Any(String),
    /// Long strings: a character repeated, around and beyond Alexa's limits.
    Repeat(char, u16),
}

#[derive(Arbitrary, Debug)]
enum Cap {
    Power,
    Brightness,
    Percentage,
    PowerLevel,
    Color,
    ColorTemperature(u16, u16),
    Thermostat(Vec<Text>, u8),
    TemperatureSensor,
    Lock,
    Scene(bool),
    Speaker,
    /// A range with an instance from the pool or any, its bounds, and a preset value.
    Range(Text, f64, f64, Option<f64>, bool),
    Mode(Text, Vec<Text>, bool),
    Toggle(Text, bool),
    ContactSensor,
    MotionSensor,
    StepSpeaker(u8),
    /// Operations by index (repeats and none included), and whether it reports its state.
    Playback(Vec<u8>, bool),
    Seek,
    /// Inputs: a name and friendly names, from the pool (clashing ones included) or any.
    Input(Vec<(Text, Vec<Text>)>),
    Channel,
    /// Bands and modes by index, the levels' range, default and step.
    Equalizer(Vec<u8>, i32, i32, i32, i32, Vec<u8>),
    TimeHold(bool),
    /// Arm states and alarms by index (repeats and none included), the exit delay, a PIN.
    SecurityPanel(Vec<u8>, Vec<u8>, u8, bool),
    Doorbell,
    /// Stream configurations: protocols, resolutions, authorizations and codecs by index.
    CameraStream(Vec<(Vec<u8>, Vec<(u32, u32)>, Vec<u8>, Vec<u8>, Vec<u8>)>),
    RtcSession(bool),
    Unknown,
}

#[derive(Arbitrary, Debug)]
enum Setting {
    On(bool),
    Number(f64),
    Mode(Text),
}

#[derive(Arbitrary, Debug)]
struct DeviceSpec {
    /// The image names another customer or endpoint than its keys.
    mismatched: bool,
    name: Text,
    description: Text,
    manufacturer: Text,
    category: Text,
    model: Option<Text>,
    capabilities: Vec<Cap>,
    cookie: Vec<(String, Text)>,
    cluster_of: Vec<(Text, bool)>,
    controlled_by: Vec<Text>,
    unreachable: bool,
    power_on: Option<bool>,
    brightness: Option<u8>,
    color: Option<(f64, f64, f64)>,
    kelvin: Option<u32>,
    setpoint: Option<f64>,
    mode: Option<Text>,
    lock: Option<u8>,
    volume: Option<u8>,
    playback: Option<u8>,
    input: Option<Text>,
    channel: Option<(Option<Text>, Option<Text>)>,
    equalizer_bands: Option<(Option<i32>, Option<i32>, Option<i32>)>,
    equalizer_mode: Option<u8>,
    on_hold: Option<bool>,
    arm_state: Option<u8>,
    alarm: Option<(bool, bool)>,
    pressed_at: Option<i64>,
    /// Where its commands go: by index, `None` the deployment's.
    device_cloud: Option<u8>,
    band: Option<(f64, f64)>,
    contact: Option<bool>,
    motion: Option<bool>,
    settings: Vec<(Text, Setting)>,
    sampled_at: Vec<(u8, i64)>,
    changed_by: Option<u8>,
}

impl Text {
    fn make(&self, pool: &[&str]) -> String {
        match self {
            Text::Pool(i) => pool[usize::from(*i) % pool.len()].to_owned(),
            Text::Any(s) => s.clone(),
            Text::Repeat(c, n) => c.to_string().repeat(usize::from(*n)),
        }
    }
}

impl Pick {
    fn make(&self, pool: &[&str]) -> String {
        match self {
            Pick::Pool(i) => pool[usize::from(*i) % pool.len()].to_owned(),
            Pick::Any(s) => s.clone(),
        }
    }
}

impl Attr {
    fn json(&self, depth: usize) -> Value {
        if depth > 6 {
            return json!({"NULL": true});
        }
        match self {
            Attr::S(s) => json!({ "S": s }),
            Attr::N(n) => json!({ "N": n }),
            Attr::Bool(b) => json!({ "BOOL": b }),
            Attr::Null => json!({"NULL": true}),
            Attr::L(l) => json!({ "L": l.iter().map(|a| a.json(depth + 1)).collect::<Vec<_>>() }),
            Attr::M(m) => json!({ "M": map(m, depth + 1) }),
            Attr::Ss(s) => json!({ "SS": s }),
            Attr::Ns(s) => json!({ "NS": s }),
        }
    }
}

fn map(attrs: &[(String, Attr)], depth: usize) -> Map<String, Value> {
    attrs
        .iter()
        .map(|(k, a)| (k.clone(), a.json(depth)))
        .collect()
}

impl Cap {
    fn make(&self) -> DeviceCapability {
        match self {
            Cap::Power => DeviceCapability::Power,
            Cap::Brightness => DeviceCapability::Brightness,
            Cap::Percentage => DeviceCapability::Percentage,
            Cap::PowerLevel => DeviceCapability::PowerLevel,
            Cap::Color => DeviceCapability::Color,
            Cap::ColorTemperature(min, max) => DeviceCapability::ColorTemperature {
                min_kelvin: u32::from(*min),
                max_kelvin: u32::from(*max),
            },
            Cap::Thermostat(modes, kind) => DeviceCapability::Thermostat {
                modes: modes
                    .iter()
                    .map(|m| m.make(&["HEAT", "COOL", "AUTO", "CUSTOM"]))
                    .collect(),
                min_setpoint: 7.0,
                max_setpoint: 30.0,
                scale: if kind & 1 == 0 {
                    TemperatureScale::Celsius
                } else {
                    TemperatureScale::Fahrenheit
                },
                setpoints: [Setpoints::Single, Setpoints::Dual, Setpoints::Triple]
                    [usize::from(kind >> 1) % 3],
                minimum_delta: None,
            },
            Cap::Range(instance, min, max, preset, position) => DeviceCapability::Range {
                instance: instance.make(&INSTANCES),
                names: vec![Name::Asset {
                    asset: "Alexa.Setting.FanSpeed".into(),
                }],
                min: *min,
                max: *max,
                precision: 1.0,
                unit: None,
                presets: preset
                    .iter()
                    .map(|&value| Preset {
                        value,
                        names: vec![Name::Asset {
                            asset: "Alexa.Value.High".into(),
                        }],
                    })
                    .collect(),
                default_delta: None,
                semantics: position.then_some(RangeSemantics::Position),
            },
            Cap::Mode(instance, modes, ordered) => DeviceCapability::Mode {
                instance: instance.make(&INSTANCES),
                names: vec![Name::Text {
                    text: "Mode".into(),
                    locale: "en-US".into(),
                }],
                ordered: *ordered,
                modes: modes
                    .iter()
                    .map(|m| ModeValue {
                        value: m.make(&["Position.Up", "Position.Down", ""]),
                        names: vec![Name::Text {
                            text: "m".into(),
                            locale: "en-US".into(),
                        }],
                    })
                    .collect(),
                semantics: None,
            },
            Cap::Toggle(instance, named) => DeviceCapability::Toggle {
                instance: instance.make(&INSTANCES),
                names: if *named {
                    vec![Name::Asset {
                        asset: "Alexa.Setting.Oscillate".into(),
                    }]
                } else {
                    Vec::new()
                },
            },
            Cap::ContactSensor => DeviceCapability::ContactSensor,
            Cap::MotionSensor => DeviceCapability::MotionSensor,
            Cap::TemperatureSensor => DeviceCapability::TemperatureSensor,
            Cap::Lock => DeviceCapability::Lock,
            Cap::Scene(d) => DeviceCapability::Scene {
                supports_deactivation: *d,
            },
            Cap::Speaker => DeviceCapability::Speaker,
            Cap::StepSpeaker(steps) => DeviceCapability::StepSpeaker {
                default_steps: *steps,
            },
            Cap::Playback(operations, reports_state) => DeviceCapability::Playback {
                operations: operations
                    .iter()
                    .map(|i| PlaybackOperation::ALL[usize::from(*i) % PlaybackOperation::ALL.len()])
                    .collect(),
                reports_state: *reports_state,
            },
            Cap::Seek => DeviceCapability::Seek,
            Cap::Input(inputs) => DeviceCapability::Input {
                inputs: inputs
                    .iter()
                    .map(|(name, friendly)| InputSource {
                        name: name.make(&INPUTS),
                        friendly_names: friendly.iter().map(|f| f.make(&INPUTS)).collect(),
                    })
                    .collect(),
            },
            Cap::Channel => DeviceCapability::Channel,
            Cap::Equalizer(bands, min_level, max_level, default_level, level_step, modes) => {
                DeviceCapability::Equalizer {
                    bands: bands
                        .iter()
                        .map(|i| Band::ALL[usize::from(*i) % Band::ALL.len()])
                        .collect(),
                    min_level: *min_level,
                    max_level: *max_level,
                    default_level: *default_level,
                    level_step: *level_step,
                    modes: modes.iter().map(|i| equalizer_mode(*i)).collect(),
                }
            }
            Cap::TimeHold(allow_remote_resume) => DeviceCapability::TimeHold {
                allow_remote_resume: *allow_remote_resume,
            },
            Cap::SecurityPanel(states, alarms, delay, pin) => DeviceCapability::SecurityPanel {
                arm_states: states
                    .iter()
                    .map(|i| ArmState::ALL[usize::from(*i) % ArmState::ALL.len()])
                    .collect(),
                alarms: alarms
                    .iter()
                    .map(|i| Alarm::ALL[usize::from(*i) % Alarm::ALL.len()])
                    .collect(),
                exit_delay_seconds: *delay,
                pin: *pin,
            },
            Cap::Doorbell => DeviceCapability::Doorbell,
            Cap::CameraStream(configs) => DeviceCapability::CameraStream {
                configurations: configs
                    .iter()
                    .map(|(protocols, resolutions, auth, video, audio)| {
                        let pick = |list: &[u8], n: usize| -> Vec<usize> {
                            list.iter().map(|i| usize::from(*i) % n).collect()
                        };
                        StreamConfiguration {
                            protocols: pick(protocols, 1)
                                .iter()
                                .map(|_| StreamProtocol::Rtsp)
                                .collect(),
                            resolutions: resolutions
                                .iter()
                                .map(|(width, height)| Resolution {
                                    width: *width,
                                    height: *height,
                                })
                                .collect(),
                            authorization_types: pick(auth, 3)
                                .iter()
                                .map(|i| {
                                    [
                                        StreamAuthorization::Basic,
                                        StreamAuthorization::Digest,
                                        StreamAuthorization::None,
                                    ][*i]
                                })
                                .collect(),
                            video_codecs: pick(video, 4)
                                .iter()
                                .map(|i| {
                                    [
                                        VideoCodec::H264,
                                        VideoCodec::Mpeg2,
                                        VideoCodec::Mjpeg,
                                        VideoCodec::Jpg,
                                    ][*i]
                                })
                                .collect(),
                            audio_codecs: pick(audio, 3)
                                .iter()
                                .map(|i| [AudioCodec::G711, AudioCodec::Aac, AudioCodec::None][*i])
                                .collect(),
                        }
                    })
                    .collect(),
            },
            Cap::RtcSession(full_duplex_audio) => DeviceCapability::RtcSession {
                full_duplex_audio: *full_duplex_audio,
            },
            Cap::Unknown => DeviceCapability::Unknown,
        }
    }
}

fn equalizer_mode(i: u8) -> EqualizerMode {
    EqualizerMode::ALL[usize::from(i) % EqualizerMode::ALL.len()]
}

/// Input names: Alexa's, the same one spelt as Alexa compares it, one Alexa does not have, none.
const INPUTS: [&str; 6] = ["HDMI 1", "HDMI1", "hdmi 1", "TV", "CHROMECAST", ""];

/// Instance names: the same in several capabilities, without a dot, or a state field's name.
const INSTANCES: [&str; 5] = [
    "Fan.Speed",
    "Blind.Lift",
    "GarageDoor.Position",
    "Speed",
    "brightness",
];
/// Field names as a device cloud spells them: a setting's instance and a stray name too.
const FIELDS: [&str; 15] = [
    "powerOn",
    "brightness",
    "color",
    "targetSetpoint",
    "connectivity",
    "lockState",
    "Fan.Speed",
    "contactOpen",
    "lowerSetpoint",
    "playbackState",
    "input",
    "channel",
    "equalizerBands",
    "armState",
    "doorbellPressedAt",
];
const CAUSES: [CauseType; 5] = [
    CauseType::AppInteraction,
    CauseType::PhysicalInteraction,
    CauseType::PeriodicPoll,
    CauseType::RuleTrigger,
    CauseType::VoiceInteraction,
];

impl DeviceSpec {
    fn make(&self, user: &str, endpoint_id: &str) -> Device {
        let (user, endpoint_id) = if self.mismatched {
            (format!("{user}-other"), endpoint_id.to_owned())
        } else {
            (user.to_owned(), endpoint_id.to_owned())
        };
        let ids = ["lamp-1", "tv", "amzn1.alexa.endpoint.x", "bad id"];
        Device {
            definition: DeviceDefinition {
                user_id: user.into(),
                endpoint_id: endpoint_id.into(),
                name: self.name.make(&NAMES),
                description: self.description.make(&["Smart bulb", "", " "]),
                manufacturer: self.manufacturer.make(&["Acme", ""]),
                model: self.model.as_ref().map(|m| m.make(&["A19"])),
                serial_number: None,
                firmware_version: None,
                software_version: None,
                category: self.category.make(&CATEGORIES),
                capabilities: self.capabilities.iter().map(Cap::make).collect(),
                relationships: DeviceRelationships {
                    cluster_of: self
                        .cluster_of
                        .iter()
                        .map(|(id, avs)| ClusterMember {
                            endpoint_id: id.make(&ids),
                            endpoint_type_id: None,
                            source: avs.then(|| "AVS".to_owned()),
                        })
                        .collect(),
                    controlled_by: self
                        .controlled_by
                        .iter()
                        .map(|id| id.make(&ids).into())
                        .collect(),
                },
                cookie: self
                    .cookie
                    .iter()
                    .map(|(k, v)| (k.clone(), v.make(&["hub-7"])))
                    .collect::<BTreeMap<_, _>>(),
                device_cloud: self
                    .device_cloud
                    .map(|i| [Adapter::Table, Adapter::Iot, Adapter::Https][usize::from(i) % 3]),
            },
            connectivity: if self.unreachable {
                Connectivity::Unreachable
            } else {
                Connectivity::Ok
            },
            state: DeviceState {
                power_on: self.power_on,
                brightness: self.brightness,
                color: self.color.map(|(hue, saturation, brightness)| Hsb {
                    hue,
                    saturation,
                    brightness,
                }),
                color_temperature_kelvin: self.kelvin,
                target_setpoint: self.setpoint,
                thermostat_mode: self.mode.as_ref().map(|m| m.make(&["HEAT", "COOL"])),
                lock_state: self.lock.map(|l| match l % 3 {
                    0 => LockState::Locked,
                    1 => LockState::Unlocked,
                    _ => LockState::Jammed,
                }),
                volume: self.volume,
                playback_state: self.playback.map(|p| match p % 3 {
                    0 => PlaybackState::Playing,
                    1 => PlaybackState::Paused,
                    _ => PlaybackState::Stopped,
                }),
                input: self.input.as_ref().map(|i| i.make(&INPUTS)),
                channel: self.channel.as_ref().map(|(number, call_sign)| {
                    Box::new(Channel {
                        number: number.as_ref().map(|n| n.make(&["7", "13.1", ""])),
                        call_sign: call_sign.as_ref().map(|c| c.make(&["KABC", ""])),
                        ..Channel::default()
                    })
                }),
                equalizer_bands: self
                    .equalizer_bands
                    .map(|(bass, midrange, treble)| BandLevels {
                        bass,
                        midrange,
                        treble,
                    }),
                equalizer_mode: self.equalizer_mode.map(equalizer_mode),
                on_hold: self.on_hold,
                arm_state: self
                    .arm_state
                    .map(|i| ArmState::ALL[usize::from(i) % ArmState::ALL.len()]),
                burglary_alarm: self.alarm.map(|a| a.0),
                fire_alarm: self.alarm.map(|a| a.1),
                doorbell_pressed_at: self.pressed_at,
                lower_setpoint: self.band.map(|b| b.0),
                upper_setpoint: self.band.map(|b| b.1),
                contact_open: self.contact,
                motion_detected: self.motion,
                settings: self
                    .settings
                    .iter()
                    .map(|(instance, value)| {
                        let value = match value {
                            Setting::On(on) => SettingValue::On(*on),
                            Setting::Number(n) => SettingValue::Number(*n),
                            Setting::Mode(m) => {
                                SettingValue::Mode(m.make(&["Position.Up", "Position.Down"]))
                            }
                        };
                        (instance.make(&INSTANCES), value)
                    })
                    .collect(),
                ..DeviceState::default()
            },
            sampled_at: self
                .sampled_at
                .iter()
                .map(|(f, at)| (Field::parse(FIELDS[usize::from(*f) % FIELDS.len()]), *at))
                .collect(),
            changed_by: self
                .changed_by
                .map(|c| CAUSES[usize::from(c) % CAUSES.len()]),
            ..Device::default()
        }
    }
}

impl Image {
    fn json(&self, user: &str, endpoint_id: &str) -> Value {
        let device = |spec: &DeviceSpec| {
            serde_dynamo::to_item::<_, serde_dynamo::Item>(spec.make(user, endpoint_id))
                .ok()
                .and_then(|item| serde_json::to_value(item).ok())
                .unwrap_or_else(|| json!({}))
        };
        match self {
            Image::Device(spec) => device(spec),
            Image::Patched(spec, attribute, value) => {
                let mut item = device(spec);
                item[attribute.as_str()] = value.json(0);
                item
            }
            Image::Garbage(attrs) => Value::Object(map(attrs, 0)),
        }
    }
}

impl Record {
    /// Appends the record and its copies to `out`, within [`MAX_RECORDS`] and, counting the
    /// JSON of each record as that of the first, [`MAX_EVENT_BYTES`] (`bytes` so far).
    fn expand(&self, seq: &mut u64, out: &mut Vec<Value>, bytes: &mut usize) {
        let user = self.user.make(&USERS);
        let base = self.endpoint.make(&["lamp-1", "lamp-2", "thermostat"]);
        let mut record_bytes = None;
        for copy in 0..=usize::from(self.copies) {
            if out.len() >= MAX_RECORDS {
                return;
            }
            let endpoint_id = if self.copies == 0 {
                base.clone()
            } else {
                format!("{base}-{copy}")
            };
            *seq += 1;
            let keys = match &self.keys {
                Keys::Right => {
                    json!({"userId": {"S": user}, "endpointId": {"S": endpoint_id}})
                }
                Keys::Missing => json!({}),
                Keys::Garbage(attrs) => Value::Object(map(attrs, 0)),
            };
            let mut change = json!({
                "Keys": keys,
                "SequenceNumber": seq.to_string(),
                "SizeBytes": 100,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
                "ApproximateCreationDateTime": 1_700_000_000.0,
            });
            if let Some(old) = &self.old {
                change["OldImage"] = old.json(&user, &endpoint_id);
            }
            if let Some(new) = &self.new {
                change["NewImage"] = new.json(&user, &endpoint_id);
            }
            let name = match &self.name {
                EventName::Insert => "INSERT",
                EventName::Modify => "MODIFY",
                EventName::Remove => "REMOVE",
                EventName::Other(name) => name.as_str(),
            };
            let record = json!({
                "eventID": seq.to_string(),
                "eventName": name,
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": change,
            });
            let size = *record_bytes.get_or_insert_with(|| record.to_string().len());
            if *bytes + size > MAX_EVENT_BYTES {
                return;
            }
            *bytes += size;
            out.push(record);
        }
    }
}

fn check(event: StreamEvent) {
    let token = BearerToken::new(format!("Atza|{}", "x".repeat(2043)));
    let records = event.records.len();
    let batch = changes::decode(event);
    assert_eq!(batch.sequence_numbers.len(), records);
    for user in &batch.users {
        let mut presses = Vec::new();
        for report in reports_for(user, NOW_MS, |_| true) {
            let body = report.body(&token);
            assert!(
                body.len() <= MAX_REPORT_BYTES,
                "{} bytes, {} endpoints",
                body.len(),
                report.len()
            );
            serde_json::from_slice::<Value>(&body).expect("a report body is JSON");
            assert!(!report.is_empty());
            match &report.kind {
                ReportKind::AddOrUpdate(endpoints) => {
                    assert!(endpoints.len() <= MAX_ENDPOINTS);
                    for e in endpoints {
                        assert_eq!(validate::endpoint(e), Ok(()));
                    }
                }
                ReportKind::Delete(ids) => assert!(ids.len() <= DELETE_CHUNK),
                ReportKind::Change(_) => {}
                ReportKind::Response(_) => panic!("reports_for plans no asynchronous response"),
                // A press is of a doorbell Alexa accepts, and each rings once per batch.
                ReportKind::DoorbellPress(p) => {
                    let change = user
                        .endpoints
                        .iter()
                        .find(|c| c.endpoint_id == p.endpoint_id)
                        .expect("a press of an endpoint of the batch");
                    assert!(change.after_is_discoverable());
                    assert!(change.after().is_some_and(|d| d.definition.is_doorbell()));
                    let event: Value = serde_json::from_slice(&body).unwrap();
                    let stamp = event["event"]["payload"]["timestamp"].as_str().unwrap();
                    assert!(stamp.len() == 20 && stamp.ends_with('Z'), "{stamp}");
                    presses.push((p.endpoint_id.clone(), p.at_ms));
                }
            }
        }
        let mut distinct = presses.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            presses.len(),
            "a press rings twice in one batch"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        if let Ok(event) = serde_json::from_slice::<StreamEvent>(data) {
            check(event);
        }
        return;
    }
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut records = Vec::new();
    let (mut seq, mut bytes) = (1_000_000, 0);
    for r in &input.records {
        r.expand(&mut seq, &mut records, &mut bytes);
    }
    let mut event = Map::new();
    event.insert("Records".into(), Value::Array(records));
    if let Ok(event) = serde_json::from_value::<StreamEvent>(Value::Object(event)) {
        check(event);
    }
});
