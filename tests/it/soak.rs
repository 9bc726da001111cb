//! Soak test with faults: random device operations on the real local DynamoDB server, its
//! stream read and redelivered as Lambda does, the stream processor, and fakes of the event
//! gateway and Login with Amazon that fail often and in every way they can. At the end, what
//! the gateway was told must be what DynamoDB holds, for every customer: every endpoint with its
//! latest definition and state, and no endpoint that is gone.
//!
//! Two endpoint slots of every customer are devices behind AWS IoT Core (moto's shadows, the
//! shadow bridge fed as the topic rule would): a lock that must confirm and a light that need
//! not. They take voice commands through the skill, and the simulated device confirms at once,
//! confirms late, fails (a jammed lock, a light that ends elsewhere), or never answers (the
//! lock). Alexa's side then also checks that no asynchronous response claims a lock state the
//! device did not report, and at the end the devices table must hold what each device reported.
//!
//! A third slot is a dimmable lamp behind the maker's HTTPS API, whose cloud records the lamp's
//! own report while it takes a command (or the wall dimmer's, moved at the same moment). The
//! light behind IoT reports on its own in the middle of voice adjustments too. Every voice
//! command is counted where it reaches the device (the maker's API; a proxy in front of the
//! IoT data plane): each one the skill answered must have reached the device exactly once,
//! and none more than once.
//!
//! Whole batches are lost too, as when Lambda's retries run out: the stream moves past them and
//! nothing is sent for them. Once the operations are done (and the faults have stopped), one
//! reconciliation of every customer must leave Alexa with what DynamoDB holds.
//!
//! Short form (in `make test`): 10 customers, 1,000 operations. Long form: `make soak`
//! (50 customers, 10,000 operations, release build). Settings come from the environment:
//! `SOAK_USERS`, `SOAK_OPS`, `SOAK_FAULT_PERCENT` (gateway, default 20), `SOAK_LWA_FAULT_PERCENT`
//! (default 10), `SOAK_DROP_PERCENT` (batches lost, default 3), `SOAK_SEED` (printed on every
//! run, so a failing run can be replayed).
//!
//! No time is asserted: timings are printed only.

use crate::support;

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::cloud::{Adapter, DeviceClouds};
use alexa_smart_home::device::properties::values;
use alexa_smart_home::device::{
    Alarm, ArmState, BandLevels, Channel, Connectivity, Device, DeviceCapability, DeviceDefinition,
    DeviceRelationships, DeviceState, Field, Hsb, LockState, PlaybackState, Setpoints,
    SettingValue, TemperatureScale, mapping,
};
use alexa_smart_home::gateway::{Gateway, GatewayRegion};
use alexa_smart_home::lwa::Lwa;
use alexa_smart_home::proactive::delivery::RetryPolicy;
use alexa_smart_home::reconcile::run::Reconciler;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::dynamo::DynamoStore;
use alexa_smart_home::store::{
    DeviceStore, GrantStore, NewGrant, StateWrite, TokenRecord, unix_seconds,
};
use alexa_smart_home::stream::StreamProcessor;
use alexa_smart_home_local::shadow::LocalShadows;
use alexa_smart_home_local::stream::{LocalStream, Start};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use bytes::Bytes;
use hyper::header::HeaderMap;
use serde_json::{Value, json};
use support::dynamo::TestTables;
use support::faults::{Action, FaultServer};
use support::throttle::ThrottlingProxy;
use support::{devices, schema};

/// The client's timeout for one request; a "slow" answer comes after twice as long.
const CLIENT_TIMEOUT: Duration = Duration::from_millis(200);
const SLOW: Duration = Duration::from_millis(400);
/// Lambda's default batch size for DynamoDB Streams.
const BATCH_SIZE: usize = 100;
/// Endpoint slots per customer: enough for adds and deletes of the same ids to interleave.
const SLOTS: usize = 7;

struct Settings {
    users: usize,
    ops: usize,
    fault_percent: u32,
    lwa_fault_percent: u32,
    drop_percent: u32,
    seed: u64,
}

impl Settings {
    fn from_env() -> Self {
        fn var<T: std::str::FromStr>(name: &str, default: T) -> T {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(default)
        }
        Self {
            users: var("SOAK_USERS", 10),
            ops: var("SOAK_OPS", 1000),
            fault_percent: var("SOAK_FAULT_PERCENT", 20),
            lwa_fault_percent: var("SOAK_LWA_FAULT_PERCENT", 10),
            drop_percent: var("SOAK_DROP_PERCENT", 3),
            seed: var("SOAK_SEED", fastrand::u64(..)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The event gateway: what Alexa has been told
// ---------------------------------------------------------------------------------------------

/// What Alexa knows of one endpoint: the definition last sent and every property value told.
#[derive(Debug, Default)]
struct Known {
    definition: Value,
    told: BTreeMap<(String, String, Option<String>), Value>,
}

#[derive(Debug, Default)]
struct Fault {
    throttled: u64,
    internal_error: u64,
    unavailable: u64,
    token_refused: u64,
    slow: u64,
    dropped: u64,
}

impl Fault {
    fn total(&self) -> u64 {
        self.throttled
            + self.internal_error
            + self.unavailable
            + self.token_refused
            + self.slow
            + self.dropped
    }
}

#[derive(Debug, Default)]
struct GatewayState {
    alexa: BTreeMap<(String, String), Known>,
    requests: u64,
    accepted: u64,
    faults: Fault,
    /// Events whose content (all but the message id) had been received before: resends by the
    /// processor, and reports rebuilt from redelivered records.
    repeated: u64,
    seen: HashSet<String>,
    /// Messages Alexa would reject, or that break its protocol (a ChangeReport for an endpoint
    /// it was never told of): each must stay empty.
    invalid: Vec<String>,
    by_name: BTreeMap<String, u64>,
    /// What each endpoint was told, in order: printed for an endpoint that ends mismatched.
    history: BTreeMap<(String, String), Vec<String>>,
    /// Deferred directives by correlation token: the customer, the endpoint, and every lock
    /// state the device reported since the directive was sent (what a response may claim).
    deferred: BTreeMap<String, Deferred>,
    /// Doorbell presses accepted: (customer, endpoint, timestamp) → how often.
    presses: BTreeMap<(String, String, String), u32>,
}

#[derive(Debug)]
struct Deferred {
    user: String,
    endpoint_id: String,
    reported: Vec<Value>,
    answered: bool,
}

/// The customer an access token was issued to (the fake LWA names them in it).
fn token_user(token: &str) -> Option<&str> {
    token.strip_prefix("Atza|")?.split('|').next()
}

fn gateway_error(code: &str) -> Value {
    json!({"header": {"namespace": "System", "name": "Exception", "messageId": "m"},
           "payload": {"code": code, "description": "injected by the soak test"}})
}

impl GatewayState {
    fn handle(
        &mut self,
        rng: &mut fastrand::Rng,
        percent: u32,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Action {
        self.requests += 1;
        let fault = rng.u32(0..100) < percent;
        let kind = rng.u32(0..6);
        if fault {
            let f = &mut self.faults;
            match kind {
                0 => {
                    return (
                        f.throttled += 1,
                        Action::answer(429, gateway_error("THROTTLING_EXCEPTION")),
                    )
                        .1;
                }
                1 => {
                    return (
                        f.internal_error += 1,
                        Action::answer(500, gateway_error("INTERNAL_SERVICE_EXCEPTION")),
                    )
                        .1;
                }
                2 => {
                    return (
                        f.unavailable += 1,
                        Action::answer(503, gateway_error("SERVICE_UNAVAILABLE_EXCEPTION")),
                    )
                        .1;
                }
                3 => {
                    return (
                        f.token_refused += 1,
                        Action::answer(401, gateway_error("INVALID_ACCESS_TOKEN_EXCEPTION")),
                    )
                        .1;
                }
                4 => return (f.dropped += 1, Action::Drop).1,
                // Slow: Alexa takes the event, but answers after the client gave up, so it is
                // sent again: the worst case, a duplicate.
                _ => f.slow += 1,
            }
        }
        self.accept(headers, body);
        Action::Answer {
            status: 202,
            body: json!({}),
            delay: if fault { SLOW } else { Duration::ZERO },
        }
    }

    fn accept(&mut self, headers: &HeaderMap, body: &Bytes) {
        self.accepted += 1;
        let event: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return self.invalid.push(format!("not JSON: {e}")),
        };
        if let Err(panic) = std::panic::catch_unwind(|| schema::assert_valid(&event)) {
            let reason = panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "schema".into());
            return self.invalid.push(reason);
        }
        let mut content = event.clone();
        content["event"]["header"]["messageId"] = Value::Null;
        if !self.seen.insert(content.to_string()) {
            self.repeated += 1;
        }
        let header_token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        let name = event["event"]["header"]["name"]
            .as_str()
            .unwrap_or_default();
        *self.by_name.entry(name.to_owned()).or_default() += 1;
        let scope = match name {
            "ChangeReport" | "Response" | "DoorbellPress" => {
                &event["event"]["endpoint"]["scope"]["token"]
            }
            _ => &event["event"]["payload"]["scope"]["token"],
        };
        if scope != header_token {
            return self
                .invalid
                .push(format!("{name}: scope token is not the bearer token"));
        }
        let Some(user) = token_user(header_token) else {
            return self
                .invalid
                .push(format!("{name}: a token the fake LWA never issued"));
        };
        let payload = &event["event"]["payload"];
        match name {
            "AddOrUpdateReport" => {
                for e in payload["endpoints"].as_array().into_iter().flatten() {
                    let key = (
                        user.to_owned(),
                        e["endpointId"].as_str().unwrap_or_default().to_owned(),
                    );
                    let interfaces: Vec<&str> = e["capabilities"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c["interface"].as_str())
                        .collect();
                    let line = format!("AddOrUpdate {} {interfaces:?}", e["friendlyName"]);
                    self.history.entry(key.clone()).or_default().push(line);
                    self.alexa.entry(key).or_default().definition = e.clone();
                }
            }
            "DeleteReport" => {
                for e in payload["endpoints"].as_array().into_iter().flatten() {
                    let key = (
                        user.to_owned(),
                        e["endpointId"].as_str().unwrap_or_default().to_owned(),
                    );
                    self.history
                        .entry(key.clone())
                        .or_default()
                        .push("Delete".into());
                    self.alexa.remove(&key);
                }
            }
            "DoorbellPress" => {
                let id = event["event"]["endpoint"]["endpointId"]
                    .as_str()
                    .unwrap_or_default();
                let key = (user.to_owned(), id.to_owned());
                if !self.alexa.contains_key(&key) {
                    return self.invalid.push(format!(
                        "DoorbellPress for {user}/{id}, which Alexa does not know"
                    ));
                }
                let at = payload["timestamp"].as_str().unwrap_or_default().to_owned();
                self.history
                    .entry(key)
                    .or_default()
                    .push(format!("DoorbellPress {at}"));
                *self
                    .presses
                    .entry((user.to_owned(), id.to_owned(), at))
                    .or_default() += 1;
            }
            "ChangeReport" => {
                let id = event["event"]["endpoint"]["endpointId"]
                    .as_str()
                    .unwrap_or_default();
                let key = (user.to_owned(), id.to_owned());
                let line = format!(
                    "Change {} context {}",
                    payload["change"]["properties"], event["context"]["properties"]
                );
                self.history.entry(key.clone()).or_default().push(line);
                let Some(known) = self.alexa.get_mut(&key) else {
                    return self.invalid.push(format!(
                        "ChangeReport for {user}/{id}, which Alexa does not know"
                    ));
                };
                let changed = payload["change"]["properties"]
                    .as_array()
                    .into_iter()
                    .flatten();
                let unchanged = event["context"]["properties"]
                    .as_array()
                    .into_iter()
                    .flatten();
                for p in changed.chain(unchanged) {
                    let key = (
                        p["namespace"].as_str().unwrap_or_default().to_owned(),
                        p["name"].as_str().unwrap_or_default().to_owned(),
                        p["instance"].as_str().map(str::to_owned),
                    );
                    known.told.insert(key, p["value"].clone());
                }
            }
            "Response" => {
                let token = event["event"]["header"]["correlationToken"]
                    .as_str()
                    .unwrap_or_default();
                let id = event["event"]["endpoint"]["endpointId"]
                    .as_str()
                    .unwrap_or_default();
                let Some(deferred) = self.deferred.get_mut(token) else {
                    return self
                        .invalid
                        .push(format!("Response to {token:?}, which was never deferred"));
                };
                if deferred.user != user || deferred.endpoint_id != id {
                    return self
                        .invalid
                        .push(format!("Response to {token:?} for another endpoint"));
                }
                let claimed = event["context"]["properties"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|p| p["name"] == "lockState")
                    .map(|p| p["value"].clone())
                    .unwrap_or(Value::Null);
                if !deferred.reported.contains(&claimed) {
                    return self.invalid.push(format!(
                        "Response to {token:?} claims {claimed}, which the lock never reported \
                         (it reported {:?})",
                        deferred.reported
                    ));
                }
                deferred.answered = true;
                let key = (user.to_owned(), id.to_owned());
                self.history
                    .entry(key.clone())
                    .or_default()
                    .push(format!("Response {claimed}"));
                self.tell(&key, event["context"]["properties"].as_array());
            }
            other => self.invalid.push(format!("unexpected event {other}")),
        }
    }

    /// Alexa takes the values of an answer or event as the endpoint's current ones.
    fn tell(&mut self, key: &(String, String), properties: Option<&Vec<Value>>) {
        let Some(known) = self.alexa.get_mut(key) else {
            return self.invalid.push(format!(
                "values for {key:?}, an endpoint Alexa does not know"
            ));
        };
        for p in properties.into_iter().flatten() {
            let key = (
                p["namespace"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["instance"].as_str().map(str::to_owned),
            );
            known.told.insert(key, p["value"].clone());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Login with Amazon: refreshes, sometimes failing
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct LwaState {
    requests: u64,
    faults: u64,
    issued: u64,
}

impl LwaState {
    fn handle(&mut self, rng: &mut fastrand::Rng, percent: u32, body: &Bytes) -> Action {
        self.requests += 1;
        let form = String::from_utf8_lossy(body);
        // Refresh tokens are "Atzr|<user>": the user is what follows the encoded "|".
        let Some(user) = form
            .split('&')
            .find_map(|kv| kv.strip_prefix("refresh_token=Atzr%7C"))
        else {
            return Action::answer(400, json!({"error": "invalid_request"}));
        };
        if rng.u32(0..100) < percent {
            self.faults += 1;
            return match rng.u32(0..3) {
                0 => Action::answer(500, json!({"error": "server_error"})),
                1 => Action::answer(503, json!({"error": "temporarily_unavailable"})),
                _ => Action::Drop,
            };
        }
        self.issued += 1;
        // Lifetimes around the refresh margin (300 s), so that some batches refresh and some
        // do not.
        Action::answer(
            200,
            json!({
                "access_token": format!("Atza|{user}|{}", self.issued),
                "refresh_token": format!("Atzr|{user}"),
                "token_type": "bearer",
                "expires_in": rng.u32(280..340),
            }),
        )
    }
}

// ---------------------------------------------------------------------------------------------
// The device cloud: random operations
// ---------------------------------------------------------------------------------------------

const NAMES: [&str; 6] = [
    "Lamp",
    "Hall Light",
    "Küche",
    "Bedroom fan",
    "Porch",
    "Office Plug",
];
const CATEGORIES: [&str; 6] = [
    "LIGHT",
    "SWITCH",
    "SMARTPLUG",
    "THERMOSTAT",
    "SMARTLOCK",
    "SPEAKER",
];

fn capability(rng: &mut fastrand::Rng) -> DeviceCapability {
    let kinds = devices::makers_kinds();
    match rng.usize(0..9 + kinds.len()) {
        0 => DeviceCapability::Power,
        1 => DeviceCapability::Brightness,
        2 => DeviceCapability::Percentage,
        3 => DeviceCapability::Color,
        4 => DeviceCapability::ColorTemperature {
            min_kelvin: 2200,
            max_kelvin: 7000,
        },
        n @ 9.. => kinds[n - 9].clone(),
        5 => DeviceCapability::Thermostat {
            modes: vec!["HEAT".into(), "COOL".into(), "AUTO".into()],
            min_setpoint: 7.0,
            max_setpoint: 30.0,
            scale: TemperatureScale::Celsius,
            setpoints: Setpoints::Single,
            minimum_delta: None,
        },
        6 => DeviceCapability::TemperatureSensor,
        7 => DeviceCapability::Lock,
        _ => DeviceCapability::Speaker,
    }
}

fn capabilities(rng: &mut fastrand::Rng) -> Vec<DeviceCapability> {
    let mut out: Vec<DeviceCapability> = Vec::new();
    for _ in 0..rng.usize(1..4) {
        let c = capability(rng);
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// A new device that Alexa accepts (the soak is about delivery; validation has its own tests).
fn new_device(rng: &mut fastrand::Rng, user: &str, slot: usize) -> Device {
    loop {
        let d = Device {
            definition: DeviceDefinition {
                user_id: user.into(),
                endpoint_id: format!("ep-{slot}").into(),
                name: NAMES[rng.usize(..NAMES.len())].into(),
                description: "Soak test device".into(),
                manufacturer: "Example Devices".into(),
                model: None,
                serial_number: None,
                firmware_version: None,
                software_version: None,
                category: CATEGORIES[rng.usize(..CATEGORIES.len())].into(),
                capabilities: capabilities(rng),
                relationships: DeviceRelationships::default(),
                cookie: BTreeMap::new(),
                device_cloud: None,
            },
            connectivity: Connectivity::Ok,
            state: DeviceState::default(),
            sampled_at: BTreeMap::new(),
            changed_by: None,
            ..Device::default()
        };
        if mapping::checked_endpoint(&d.definition).is_some() {
            return d;
        }
    }
}

/// The next doorbell press's time: a second apart, so that each press has its own timestamp
/// (`DoorbellPress` carries whole seconds).
static NEXT_PRESS: AtomicI64 = AtomicI64::new(1_900_000_000_000);

/// Sets one reported value, as a device does when it changes.
fn change_state(rng: &mut fastrand::Rng, d: &mut Device) {
    let s = &mut d.state;
    let field = match d
        .definition
        .capabilities
        .get(rng.usize(..=d.definition.capabilities.len()))
    {
        None => {
            d.connectivity = if rng.bool() {
                Connectivity::Ok
            } else {
                Connectivity::Unreachable
            };
            "connectivity"
        }
        Some(DeviceCapability::Power) => (s.power_on = Some(rng.bool()), "powerOn").1,
        Some(DeviceCapability::Brightness) => {
            (s.brightness = Some(rng.u8(0..=100)), "brightness").1
        }
        Some(DeviceCapability::Percentage) => {
            (s.percentage = Some(rng.u8(0..=100)), "percentage").1
        }
        Some(DeviceCapability::PowerLevel) => {
            (s.power_level = Some(rng.u8(0..=100)), "powerLevel").1
        }
        Some(DeviceCapability::Color) => {
            let color = Hsb {
                hue: f64::from(rng.u16(0..360)),
                saturation: f64::from(rng.u8(0..=100)) / 100.0,
                brightness: f64::from(rng.u8(0..=100)) / 100.0,
            };
            (s.color = Some(color), "color").1
        }
        Some(DeviceCapability::ColorTemperature { .. }) => {
            (
                s.color_temperature_kelvin = Some(rng.u32(2200..=7000)),
                "colorTemperatureKelvin",
            )
                .1
        }
        Some(DeviceCapability::Thermostat {
            setpoints: Setpoints::Dual,
            ..
        }) => {
            let lower = f64::from(rng.u8(55..=70));
            s.lower_setpoint = Some(lower);
            (
                s.upper_setpoint = Some(lower + f64::from(rng.u8(3..=10))),
                "upperSetpoint",
            )
                .1
        }
        Some(DeviceCapability::Thermostat { .. }) => {
            if rng.bool() {
                (
                    s.target_setpoint = Some(f64::from(rng.u8(14..=28))),
                    "targetSetpoint",
                )
                    .1
            } else {
                let mode = ["HEAT", "COOL", "AUTO"][rng.usize(..3)];
                (s.thermostat_mode = Some(mode.into()), "thermostatMode").1
            }
        }
        Some(DeviceCapability::TemperatureSensor) => {
            (
                s.temperature = Some(f64::from(rng.i8(-10..=35)) + 0.5),
                "temperature",
            )
                .1
        }
        Some(DeviceCapability::Lock) => {
            let lock = [LockState::Locked, LockState::Unlocked, LockState::Jammed][rng.usize(..3)];
            (s.lock_state = Some(lock), "lockState").1
        }
        Some(DeviceCapability::Speaker) => {
            if rng.bool() {
                (s.volume = Some(rng.u8(0..=100)), "volume").1
            } else {
                (s.muted = Some(rng.bool()), "muted").1
            }
        }
        Some(DeviceCapability::Range { instance, .. }) => {
            let values: Vec<f64> = devices::RANGE_VALUES
                .iter()
                .filter(|(i, _)| i == instance)
                .map(|(_, v)| *v)
                .collect();
            let value = SettingValue::Number(values[rng.usize(..values.len())]);
            (
                s.settings.insert(instance.clone(), value),
                instance.as_str(),
            )
                .1
        }
        Some(DeviceCapability::Mode {
            instance, modes, ..
        }) => {
            let mode = SettingValue::Mode(modes[rng.usize(..modes.len())].value.clone());
            (s.settings.insert(instance.clone(), mode), instance.as_str()).1
        }
        Some(DeviceCapability::Toggle { instance, .. }) => {
            let on = SettingValue::On(rng.bool());
            (s.settings.insert(instance.clone(), on), instance.as_str()).1
        }
        Some(DeviceCapability::ContactSensor) => {
            (s.contact_open = Some(rng.bool()), "contactOpen").1
        }
        Some(DeviceCapability::MotionSensor) => {
            (s.motion_detected = Some(rng.bool()), "motionDetected").1
        }
        Some(DeviceCapability::Playback {
            reports_state: true,
            ..
        }) => {
            let state = [
                PlaybackState::Playing,
                PlaybackState::Paused,
                PlaybackState::Stopped,
            ][rng.usize(..3)];
            (s.playback_state = Some(state), "playbackState").1
        }
        Some(DeviceCapability::Input { inputs }) => {
            let input = inputs[rng.usize(..inputs.len())].name.clone();
            (s.input = Some(input), "input").1
        }
        Some(DeviceCapability::Channel) => {
            let channel = Channel {
                number: Some(rng.u16(1..1000).to_string()),
                ..Channel::default()
            };
            (s.channel = Some(Box::new(channel)), "channel").1
        }
        Some(DeviceCapability::Equalizer {
            bands,
            min_level,
            max_level,
            modes,
            ..
        }) => {
            if rng.bool() && !modes.is_empty() || bands.is_empty() {
                let mode = modes[rng.usize(..modes.len())];
                (s.equalizer_mode = Some(mode), "equalizerMode").1
            } else {
                let mut levels = BandLevels::default();
                for band in bands {
                    levels.set(*band, rng.i32(*min_level..=*max_level));
                }
                (s.equalizer_bands = Some(levels), "equalizerBands").1
            }
        }
        Some(DeviceCapability::SecurityPanel {
            arm_states, alarms, ..
        }) => match alarms.get(rng.usize(..=alarms.len())) {
            Some(Alarm::Burglary) => (s.burglary_alarm = Some(rng.bool()), "burglaryAlarm").1,
            Some(Alarm::Fire) => (s.fire_alarm = Some(rng.bool()), "fireAlarm").1,
            Some(Alarm::CarbonMonoxide) => {
                (
                    s.carbon_monoxide_alarm = Some(rng.bool()),
                    "carbonMonoxideAlarm",
                )
                    .1
            }
            Some(Alarm::Water) => (s.water_alarm = Some(rng.bool()), "waterAlarm").1,
            None => {
                let mut states = arm_states.clone();
                states.push(ArmState::Disarmed);
                let state = states[rng.usize(..states.len())];
                (s.arm_state = Some(state), "armState").1
            }
        },
        Some(DeviceCapability::Doorbell) => {
            (
                s.doorbell_pressed_at = Some(NEXT_PRESS.fetch_add(1000, Ordering::SeqCst)),
                "doorbellPressedAt",
            )
                .1
        }
        // Nothing to report: a new capability with state is to be added above.
        Some(
            DeviceCapability::Scene { .. }
            | DeviceCapability::CameraStream { .. }
            | DeviceCapability::RtcSession { .. }
            | DeviceCapability::StepSpeaker { .. }
            | DeviceCapability::Playback { .. }
            | DeviceCapability::Seek
            | DeviceCapability::TimeHold { .. }
            | DeviceCapability::Unknown,
        ) => return,
    };
    d.sampled_at
        .insert(Field::parse(field), Clock::system().now_ms());
    d.changed_by = [
        None,
        Some(CauseType::PhysicalInteraction),
        Some(CauseType::AppInteraction),
        Some(CauseType::PeriodicPoll),
        Some(CauseType::VoiceInteraction),
    ][rng.usize(..5)];
}

// ---------------------------------------------------------------------------------------------
// Devices behind AWS IoT Core: voice commands through the skill, a simulated device answering
// ---------------------------------------------------------------------------------------------

/// The slots of every customer that are devices behind IoT: a lock that must confirm, and a
/// light that need not.
const IOT_LOCK: usize = 0;
const IOT_LIGHT: usize = 1;
/// The slot of every customer that is a lamp behind the maker's HTTPS API.
const HTTPS_LAMP: usize = 2;
/// How long the lock may take: short, so that some late confirmations miss the deadline.
const LOCK_CONFIRM_SECS: u32 = 2;
const MAKER_SECRET: &str = "soak-maker-secret";

fn is_iot(slot: usize) -> bool {
    slot == IOT_LOCK || slot == IOT_LIGHT
}

/// The slots whose commands go to a device cloud other than the table.
fn is_remote(slot: usize) -> bool {
    is_iot(slot) || slot == HTTPS_LAMP
}

fn thing_of(user: &str, slot: usize) -> String {
    format!("{user}-ep-{slot}")
}

fn skill_token(user: &str) -> String {
    format!("skill-token-{user}")
}

fn remote_device(rng: &mut fastrand::Rng, user: &str, slot: usize) -> Device {
    let mut d = new_device(rng, user, slot);
    if slot == HTTPS_LAMP {
        d.definition.category = "LIGHT".into();
        d.definition.capabilities = vec![DeviceCapability::Power, DeviceCapability::Brightness];
        d.definition.device_cloud = Some(Adapter::Https);
        d.state = DeviceState {
            power_on: Some(true),
            brightness: Some(rng.u8(0..=100)),
            ..DeviceState::default()
        };
        return d;
    }
    if slot == IOT_LOCK {
        d.definition.category = "SMARTLOCK".into();
        d.definition.capabilities = vec![DeviceCapability::Lock];
        d.confirm_within = Some(LOCK_CONFIRM_SECS);
    } else {
        // A colour bulb with tunable white: the light rules of every one of its capabilities.
        d.definition.category = "LIGHT".into();
        d.definition.capabilities = vec![
            DeviceCapability::Power,
            DeviceCapability::Brightness,
            DeviceCapability::Color,
            DeviceCapability::ColorTemperature {
                min_kelvin: 1000,
                max_kelvin: 10000,
            },
        ];
    }
    d.definition.device_cloud = Some(Adapter::Iot);
    d.thing_name = Some(thing_of(user, slot));
    d
}

/// The soak's own model of a light, written apart from the skill's planner: what `name` with
/// `payload` asks of a bulb in `bulb`'s state (the desired state its shadow should get). Amazon's
/// capability evaluations expect it: 0 % is off and the brightness is kept for coming back on;
/// brightness, colour and white turn an off bulb on (an off bulb is at 0 %); warmer and cooler
/// step through 2200, 2700, 4000, 5500 and 7000 K, then to the bulb's ends.
fn light_model(bulb: &Device, name: &str, payload: &Value) -> Value {
    let state = &bulb.state;
    let is_on = state.power_on == Some(true);
    let is_off = state.power_on == Some(false);
    let mut asked = serde_json::Map::new();
    let mut turn_on = |asked: &mut serde_json::Map<String, Value>| {
        asked.insert("powerOn".into(), json!(true));
        if state.brightness == Some(0) && !asked.contains_key("brightness") {
            asked.insert("brightness".into(), json!(100));
        }
    };
    let brightness =
        |asked: &mut serde_json::Map<String, Value>,
         to: i64,
         turn_on: &mut dyn FnMut(&mut serde_json::Map<String, Value>)| {
            if to == 0 {
                asked.insert("powerOn".into(), json!(false));
            } else {
                asked.insert("brightness".into(), json!(to));
                if !is_on {
                    turn_on(asked);
                }
            }
        };
    match name {
        "TurnOn" => turn_on(&mut asked),
        "TurnOff" => {
            asked.insert("powerOn".into(), json!(false));
        }
        "SetBrightness" => {
            let to = payload["brightness"].as_i64().unwrap();
            brightness(&mut asked, to, &mut turn_on);
        }
        "AdjustBrightness" => {
            let from = if is_off {
                0
            } else {
                i64::from(state.brightness.unwrap_or(if is_on { 100 } else { 0 }))
            };
            let to = (from + payload["brightnessDelta"].as_i64().unwrap()).clamp(0, 100);
            brightness(&mut asked, to, &mut turn_on);
        }
        "SetColor" => {
            asked.insert("color".into(), payload["color"].clone());
            if !is_on {
                turn_on(&mut asked);
            }
        }
        _ => {
            let (min, max) = bulb
                .definition
                .capabilities
                .iter()
                .find_map(|c| match c {
                    DeviceCapability::ColorTemperature {
                        min_kelvin,
                        max_kelvin,
                    } => Some((*min_kelvin, *max_kelvin)),
                    _ => None,
                })
                .unwrap();
            let mut steps = vec![min, 2200, 2700, 4000, 5500, 7000, max];
            steps.retain(|k| (min..=max).contains(k));
            steps.sort_unstable();
            steps.dedup();
            let now = state
                .color_temperature_kelvin
                .unwrap_or(steps[steps.len() / 2])
                .clamp(min, max);
            let to = match name {
                "SetColorTemperature" => {
                    u32::try_from(payload["colorTemperatureInKelvin"].as_u64().unwrap()).unwrap()
                }
                "IncreaseColorTemperature" => {
                    steps.iter().copied().find(|&k| k > now).unwrap_or(now)
                }
                _ => steps
                    .iter()
                    .rev()
                    .copied()
                    .find(|&k| k < now)
                    .unwrap_or(now),
            };
            asked.insert("colorTemperatureKelvin".into(), json!(to));
            if !is_on {
                turn_on(&mut asked);
            }
        }
    }
    Value::Object(asked)
}

/// A random state the device may report on its own.
fn physical_report(rng: &mut fastrand::Rng, slot: usize) -> Value {
    if slot == HTTPS_LAMP {
        return json!({"brightness": rng.u8(0..=100)});
    }
    if slot == IOT_LOCK {
        let lock = ["LOCKED", "UNLOCKED", "JAMMED"][rng.usize(..3)];
        json!({ "lockState": lock })
    } else if rng.bool() {
        json!({"powerOn": rng.bool()})
    } else {
        json!({"brightness": rng.u8(0..=100)})
    }
}

#[derive(Debug, Default)]
struct IotCounts {
    voice: u64,
    not_yet_discovered: u64,
    answered: u64,
    deferred: u64,
    errors: BTreeMap<String, u64>,
    confirmed: u64,
    late: u64,
    failed: u64,
    never: u64,
    reports: u64,
    /// Relative commands ("brighter by 10") that reached a device, and of them those the
    /// device reported on its own while taking.
    relative: u64,
    relative_raced: u64,
    /// Directives whose command reached the device other than once (twice or more; or, for
    /// one Alexa heard success of, never): each must stay empty.
    not_once: Vec<String>,
    /// Commands to the IoT bulb whose desired state was checked against the soak's own model
    /// of a light (those no report raced), and those where the two differ (must stay empty).
    light_checked: u64,
    light_rules: Vec<String>,
}

/// A report the device makes later.
struct Late {
    user: String,
    slot: usize,
    report: Value,
}

/// The maker's cloud behind its HTTPS API: the lamps it runs, and what it received.
#[derive(Debug, Default)]
struct MakerCloud {
    /// Each lamp's state as the lamp has it, by (user, endpoint id).
    lamps: BTreeMap<(String, String), serde_json::Map<String, Value>>,
    /// Commands received, and how often each command id came.
    received: u64,
    by_command: BTreeMap<String, u32>,
    /// How each command was taken: the lamp's own report recorded while taking it, the wall
    /// dimmer's (moved at the same moment), or a 200 with the lamp's state.
    reported_while_taking: u64,
    wall_dimmer: u64,
    confirmed: u64,
}

impl MakerCloud {
    /// The lamp's state after `patch`.
    fn apply(&mut self, user: &str, endpoint: &str, patch: &Value) -> Value {
        let lamp = self
            .lamps
            .entry((user.to_owned(), endpoint.to_owned()))
            .or_default();
        for (field, value) in patch.as_object().into_iter().flatten() {
            lamp.insert(field.clone(), value.clone());
        }
        Value::Object(lamp.clone())
    }
}

/// The maker's API, as a maker's cloud behaves: it checks the signature, has the lamp apply
/// the command, and either records the lamp's report in the devices table while it takes the
/// command (answering 202), or answers 200 with the lamp's state.
async fn makers_api(
    store: DynamoStore,
    cloud: Arc<Mutex<MakerCloud>>,
    rng: Arc<Mutex<fastrand::Rng>>,
    headers: HeaderMap,
    body: Bytes,
) -> Action {
    let now = unix_seconds(SystemTime::now());
    if alexa_smart_home::cloud::https::verify_request(MAKER_SECRET.as_bytes(), &headers, &body, now)
        .is_err()
    {
        return Action::answer(401, json!({}));
    }
    let command: Value = serde_json::from_slice(&body).unwrap();
    let (user, endpoint) = (
        command["userId"].as_str().unwrap().to_owned(),
        command["endpointId"].as_str().unwrap().to_owned(),
    );
    let how = rng.lock().unwrap().u32(0..10);
    let (report, answer) = {
        let mut cloud = cloud.lock().unwrap();
        cloud.received += 1;
        *cloud
            .by_command
            .entry(command["commandId"].as_str().unwrap().to_owned())
            .or_default() += 1;
        let applied = cloud.apply(&user, &endpoint, &command["desired"]);
        match how {
            0..=3 => {
                cloud.reported_while_taking += 1;
                (Some(applied), Action::answer(202, json!({})))
            }
            4..=6 => {
                cloud.confirmed += 1;
                (None, Action::answer(200, json!({ "state": applied })))
            }
            _ => {
                cloud.wall_dimmer += 1;
                let wall = json!({"brightness": rng.lock().unwrap().u8(0..=100)});
                (
                    Some(cloud.apply(&user, &endpoint, &wall)),
                    Action::answer(202, json!({})),
                )
            }
        }
    };
    if let Some(report) = report {
        let patch: DeviceState = serde_json::from_value(report).unwrap();
        store
            .update_state(
                &user.as_str().into(),
                &endpoint.as_str().into(),
                &StateWrite::report(
                    patch,
                    CauseType::PhysicalInteraction,
                    Clock::system().now_ms(),
                ),
            )
            .await
            .unwrap();
    }
    answer
}

/// The skill with its IoT and HTTPS adapters, the simulated devices, and Alexa's side of the
/// answers.
struct IotSim {
    skill: Skill<DynamoStore>,
    store: DynamoStore,
    shadows: LocalShadows<DynamoStore>,
    /// In front of the IoT data plane for the skill only: its requests are the commands sent.
    iot_commands: ThrottlingProxy,
    maker: Arc<Mutex<MakerCloud>>,
    gateway: Arc<Mutex<GatewayState>>,
    late: Vec<Late>,
    counts: IotCounts,
    next: u64,
}

impl IotSim {
    /// The device reports `reported` to its shadow; the lock states reported are what the
    /// responses to its deferred directives may claim.
    async fn report(&mut self, user: &str, slot: usize, reported: Value) {
        if let Some(lock) = reported.get("lockState") {
            let endpoint_id = format!("ep-{slot}");
            let mut g = self.gateway.lock().unwrap();
            for d in g.deferred.values_mut() {
                if d.user == user && d.endpoint_id == endpoint_id {
                    d.reported.push(lock.clone());
                }
            }
        }
        if slot == HTTPS_LAMP {
            let endpoint = format!("ep-{slot}");
            let state = self.maker.lock().unwrap().apply(user, &endpoint, &reported);
            let patch: DeviceState = serde_json::from_value(state).unwrap();
            self.store
                .update_state(
                    &user.into(),
                    &endpoint.as_str().into(),
                    &StateWrite::report(
                        patch,
                        CauseType::PhysicalInteraction,
                        Clock::system().now_ms(),
                    ),
                )
                .await
                .unwrap();
        } else {
            self.shadows
                .report(&thing_of(user, slot), None, reported)
                .await
                .unwrap();
        }
        self.counts.reports += 1;
    }

    /// The commands sent to devices so far: through IoT, and to the maker's API.
    fn commands_sent(&self) -> u64 {
        let iot = self
            .iot_commands
            .stats()
            .by_operation
            .get("<none>")
            .map_or(0, |c| c.requests);
        iot + self.maker.lock().unwrap().received
    }

    /// A voice command through the skill, and the device's behaviour after it.
    async fn voice(&mut self, rng: &mut fastrand::Rng, user: &str, slot: usize) {
        let key = (user.to_owned(), format!("ep-{slot}"));
        // Alexa sends directives only for endpoints it has discovered.
        if !self.gateway.lock().unwrap().alexa.contains_key(&key) {
            self.counts.not_yet_discovered += 1;
            return;
        }
        self.next += 1;
        let token = format!("ct-{}", self.next);
        // `expect`: what the device reports once it did it (`Null` for an adjustment: the
        // value the skill computed, read from the shadow's desired state).
        let (namespace, name, payload, expect) = if slot == IOT_LOCK {
            if rng.bool() {
                (
                    "Alexa.LockController",
                    "Lock",
                    json!({}),
                    json!({"lockState": "LOCKED"}),
                )
            } else {
                (
                    "Alexa.LockController",
                    "Unlock",
                    json!({}),
                    json!({"lockState": "UNLOCKED"}),
                )
            }
        } else {
            let kinds = if slot == IOT_LIGHT { 9 } else { 5 };
            match rng.u32(0..kinds) {
                5 => {
                    let hue = f64::from(rng.u32(0..360));
                    (
                        "Alexa.ColorController",
                        "SetColor",
                        json!({"color": {"hue": hue, "saturation": 1.0, "brightness": 1.0}}),
                        Value::Null,
                    )
                }
                6 => (
                    "Alexa.ColorTemperatureController",
                    "SetColorTemperature",
                    json!({"colorTemperatureInKelvin": rng.u32(10..=100) * 100}),
                    Value::Null,
                ),
                7 => (
                    "Alexa.ColorTemperatureController",
                    "IncreaseColorTemperature",
                    json!({}),
                    Value::Null,
                ),
                8 => (
                    "Alexa.ColorTemperatureController",
                    "DecreaseColorTemperature",
                    json!({}),
                    Value::Null,
                ),
                0 => (
                    "Alexa.PowerController",
                    "TurnOn",
                    json!({}),
                    json!({"powerOn": true}),
                ),
                1 => (
                    "Alexa.PowerController",
                    "TurnOff",
                    json!({}),
                    json!({"powerOn": false}),
                ),
                2 => {
                    let b = rng.u8(0..=100);
                    (
                        "Alexa.BrightnessController",
                        "SetBrightness",
                        json!({"brightness": b}),
                        json!({"brightness": b}),
                    )
                }
                _ => {
                    let delta = rng.i32(5..=40) * if rng.bool() { 1 } else { -1 };
                    (
                        "Alexa.BrightnessController",
                        "AdjustBrightness",
                        json!({"brightnessDelta": delta}),
                        Value::Null,
                    )
                }
            }
        };
        let relative = matches!(
            name,
            "AdjustBrightness" | "IncreaseColorTemperature" | "DecreaseColorTemperature"
        );
        let directive = json!({"directive": {
            "header": {"namespace": namespace, "name": name, "payloadVersion": "3",
                "messageId": uuid::Uuid::new_v4().to_string(), "correlationToken": token},
            "endpoint": {"scope": {"type": "BearerToken", "token": skill_token(user)},
                "endpointId": key.1},
            "payload": payload}});
        let sent_before = self.commands_sent();
        // The light behind IoT reports on its own in the middle of half its adjustments: the
        // report lands before the skill's read, between the read and the command, or between
        // the command and the record.
        let race = (relative && slot == IOT_LIGHT && rng.bool())
            .then(|| (physical_report(rng, slot), rng.u64(0..4)));
        // What the soak's own model of a light asks of the bulb, from the state the skill will
        // read (when no report races the command, that state is the table's now).
        let modelled = if slot == IOT_LIGHT && race.is_none() {
            let bulb = self
                .store
                .device(&user.into(), &key.1.as_str().into())
                .await
                .unwrap();
            bulb.map(|b| light_model(&b, name, &payload))
        } else {
            None
        };
        let raw = directive.to_string();
        let answer = match race.clone() {
            None => self.skill.handle(&raw).await,
            Some((report, after_ms)) => {
                let thing = thing_of(user, slot);
                let (answer, reported) = tokio::join!(self.skill.handle(&raw), async {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    self.shadows.report(&thing, None, report).await
                });
                reported.unwrap();
                self.counts.reports += 1;
                answer
            }
        };
        let answer: Value = serde_json::from_str(answer.get()).unwrap();
        let sent = self.commands_sent() - sent_before;
        self.counts.voice += 1;
        if let Err(panic) = std::panic::catch_unwind(|| schema::assert_valid(&answer)) {
            let reason = panic.downcast_ref::<String>().cloned().unwrap_or_default();
            self.gateway
                .lock()
                .unwrap()
                .invalid
                .push(format!("answer: {reason}"));
        }
        let answered = answer["event"]["header"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let success = answered == "Response" || answered == "DeferredResponse";
        if sent > 1 || (success && sent != 1) {
            self.counts.not_once.push(format!(
                "{user}/{}: {name} {payload} reached the device {sent} times, answered {answered}",
                key.1
            ));
        }
        // What the skill asked the device for: the shadow document it sent.
        let desired = (is_iot(slot) && sent == 1).then(|| {
            let body = self
                .iot_commands
                .last_body()
                .expect("the command's document");
            let document: Value = serde_json::from_slice(&body).unwrap();
            document["state"]["desired"].clone()
        });
        if let (Some(model), Some(desired)) = (&modelled, &desired) {
            self.counts.light_checked += 1;
            if model != desired {
                self.counts.light_rules.push(format!(
                    "{user}/{}: {name} {payload}: the bulb was asked {desired}, a light's rules \
                     say {model}",
                    key.1
                ));
            }
        }
        if relative && sent == 1 {
            self.counts.relative += 1;
            self.counts.relative_raced += u64::from(race.is_some() || slot == HTTPS_LAMP);
        }
        match answered.as_str() {
            "Response" => {
                self.counts.answered += 1;
                {
                    let mut g = self.gateway.lock().unwrap();
                    g.history
                        .entry(key.clone())
                        .or_default()
                        .push(format!("voice {name}: Response"));
                    g.tell(&key, answer["context"]["properties"].as_array());
                }
                // The maker's cloud has recorded the lamp's state already.
                if slot == HTTPS_LAMP {
                    return;
                }
                // What the device was asked for: the desired state the skill sent.
                let expect = desired.clone().unwrap_or(expect);
                // A light answered from the accepted command: the device follows, later, or
                // ends elsewhere (its report corrects Alexa).
                match rng.u32(0..10) {
                    0..=4 => {
                        (
                            self.counts.confirmed += 1,
                            self.report(user, slot, expect).await,
                        )
                            .0
                    }
                    5..=7 => {
                        (
                            self.counts.late += 1,
                            self.late.push(Late {
                                user: user.into(),
                                slot,
                                report: expect,
                            }),
                        )
                            .0
                    }
                    _ => {
                        self.counts.failed += 1;
                        // Every field it was asked to change ends other than asked.
                        let mut elsewhere = serde_json::Map::new();
                        for (field, asked) in expect.as_object().into_iter().flatten() {
                            let other = match field.as_str() {
                                "powerOn" => json!(!asked.as_bool().unwrap_or_default()),
                                "brightness" => {
                                    json!((asked.as_u64().unwrap_or_default() + 37) % 101)
                                }
                                "colorTemperatureKelvin" => {
                                    json!(if asked == 2700 { 4000 } else { 2700 })
                                }
                                "color" => {
                                    json!({"hue": (asked["hue"].as_f64().unwrap_or_default() + 90.0) % 360.0, "saturation": 1.0, "brightness": 1.0})
                                }
                                _ => asked.clone(),
                            };
                            elsewhere.insert(field.clone(), other);
                        }
                        let elsewhere = Value::Object(elsewhere);
                        self.report(user, slot, elsewhere).await;
                    }
                }
            }
            "DeferredResponse" => {
                self.counts.deferred += 1;
                self.gateway.lock().unwrap().deferred.insert(
                    token,
                    Deferred {
                        user: user.into(),
                        endpoint_id: key.1.clone(),
                        reported: Vec::new(),
                        answered: false,
                    },
                );
                match rng.u32(0..20) {
                    0..=7 => {
                        (
                            self.counts.confirmed += 1,
                            self.report(user, slot, expect).await,
                        )
                            .0
                    }
                    8..=12 => {
                        (
                            self.counts.late += 1,
                            self.late.push(Late {
                                user: user.into(),
                                slot,
                                report: expect,
                            }),
                        )
                            .0
                    }
                    13..=15 => {
                        self.counts.failed += 1;
                        self.report(user, slot, json!({"lockState": "JAMMED"}))
                            .await;
                    }
                    _ => self.counts.never += 1,
                }
            }
            _ => {
                let kind = answer["event"]["payload"]["type"]
                    .as_str()
                    .unwrap_or_default();
                *self.counts.errors.entry(kind.to_owned()).or_default() += 1;
            }
        }
    }

    /// One late report, if any is due.
    async fn flush_one(&mut self, rng: &mut fastrand::Rng) -> bool {
        if self.late.is_empty() {
            return false;
        }
        let late = self.late.remove(rng.usize(..self.late.len()));
        self.report(&late.user, late.slot, late.report).await;
        true
    }
}

#[derive(Debug, Default)]
struct OpCounts {
    add: u64,
    rename: u64,
    capabilities: u64,
    state: u64,
    delete: u64,
    /// Each doorbell press made (customer, endpoint, time): `true` while it must ring, `false`
    /// once its doorbell was deleted or redefined as no doorbell (a press whose record is in
    /// the same batch as that rings for nothing, and is dropped).
    presses: BTreeMap<(String, String, i64), bool>,
}

impl OpCounts {
    /// The endpoint's presses so far need not ring any more.
    fn may_not_ring(&mut self, user: &str, endpoint_id: &str) {
        for ((u, e, _), must) in self.presses.iter_mut() {
            if u == user && e == endpoint_id {
                *must = false;
            }
        }
    }
}

/// Runs `settings.ops` random operations, one DynamoDB write each, as fast as the server
/// takes them, while the stream runs.
/// What the device cloud did to each endpoint, in order: printed for a mismatched one.
type CloudLog = BTreeMap<(String, String), Vec<String>>;

async fn device_cloud(
    store: DynamoStore,
    users: Vec<String>,
    ops: usize,
    seed: u64,
    mut sim: IotSim,
) -> (OpCounts, CloudLog, IotSim) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut cloud: BTreeMap<(usize, usize), Device> = BTreeMap::new();
    let mut counts = OpCounts::default();
    let mut log = CloudLog::new();
    for _ in 0..ops {
        let key = (rng.usize(..users.len()), rng.usize(..SLOTS));
        let log_key = (users[key.0].clone(), format!("ep-{}", key.1));
        if is_remote(key.1) {
            let (user, slot) = (users[key.0].as_str(), key.1);
            let known = cloud.contains_key(&key);
            let line = if !known {
                let d = remote_device(&mut rng, user, slot);
                store.put_device(&d).await.unwrap();
                cloud.insert(key, d.clone());
                counts.add += 1;
                if slot == HTTPS_LAMP {
                    // The maker's cloud wrote the lamp with its state.
                    let state = serde_json::to_value(&d.state).unwrap();
                    sim.maker
                        .lock()
                        .unwrap()
                        .apply(user, &d.definition.endpoint_id, &state);
                    format!("add (HTTPS), state {state}")
                } else {
                    // The device reports its state as it comes online.
                    let initial = physical_report(&mut rng, slot);
                    sim.report(user, slot, initial.clone()).await;
                    format!("add (IoT), reports {initial}")
                }
            } else {
                match rng.u32(0..10) {
                    0 => {
                        // Read fresh: the skill, the bridge and the stream write this item too.
                        let Some(mut d) = store
                            .device(&user.into(), &log_key.1.as_str().into())
                            .await
                            .unwrap()
                        else {
                            continue;
                        };
                        d.definition.name = NAMES[rng.usize(..NAMES.len())].into();
                        store.put_device(&d).await.unwrap();
                        counts.rename += 1;
                        format!("rename {:?}", d.definition.name)
                    }
                    1 => {
                        store
                            .delete_device(&user.into(), &log_key.1.as_str().into())
                            .await
                            .unwrap();
                        cloud.remove(&key);
                        sim.maker
                            .lock()
                            .unwrap()
                            .lamps
                            .remove(&(user.to_owned(), log_key.1.clone()));
                        counts.delete += 1;
                        "delete".into()
                    }
                    2..=5 => {
                        sim.voice(&mut rng, user, slot).await;
                        "voice".into()
                    }
                    6..=7 => {
                        let report = physical_report(&mut rng, slot);
                        sim.report(user, slot, report.clone()).await;
                        counts.state += 1;
                        format!("reports {report}")
                    }
                    _ => {
                        if !sim.flush_one(&mut rng).await {
                            sim.voice(&mut rng, user, slot).await;
                        }
                        "late report or voice".into()
                    }
                }
            };
            log.entry(log_key).or_default().push(line);
            continue;
        }
        let Some(mut d) = cloud.get(&key).cloned() else {
            let d = new_device(&mut rng, &users[key.0], key.1);
            store.put_device(&d).await.unwrap();
            let line = format!(
                "add {:?} {:?}",
                d.definition.name, d.definition.capabilities
            );
            log.entry(log_key).or_default().push(line);
            cloud.insert(key, d);
            counts.add += 1;
            continue;
        };
        let pressed_before = d.state.doorbell_pressed_at;
        let line = match rng.u32(0..10) {
            0..=1 => {
                d.definition.name = NAMES[rng.usize(..NAMES.len())].into();
                counts.rename += 1;
                format!("rename {:?}", d.definition.name)
            }
            2 => loop {
                d.definition.capabilities = capabilities(&mut rng);
                if !d.definition.is_doorbell() {
                    counts.may_not_ring(&log_key.0, &log_key.1);
                }
                if mapping::checked_endpoint(&d.definition).is_some() {
                    counts.capabilities += 1;
                    break format!("capabilities {:?}", d.definition.capabilities);
                }
            },
            3 => {
                store
                    .delete_device(&d.definition.user_id, &d.definition.endpoint_id)
                    .await
                    .unwrap();
                counts.may_not_ring(&log_key.0, &log_key.1);
                log.entry(log_key).or_default().push("delete".into());
                cloud.remove(&key);
                counts.delete += 1;
                continue;
            }
            _ => {
                change_state(&mut rng, &mut d);
                counts.state += 1;
                if let Some(at) = d.state.doorbell_pressed_at
                    && pressed_before != Some(at)
                {
                    counts
                        .presses
                        .insert((log_key.0.clone(), log_key.1.clone(), at), true);
                }
                format!("state {:?} {:?}", d.state, d.connectivity)
            }
        };
        store.put_device(&d).await.unwrap();
        log.entry(log_key).or_default().push(line);
        cloud.insert(key, d);
    }
    // Every late report is made before the end.
    while sim.flush_one(&mut rng).await {}
    (counts, log, sim)
}

// ---------------------------------------------------------------------------------------------
// The soak
// ---------------------------------------------------------------------------------------------

/// Differences between what DynamoDB holds for `user` and what Alexa was told.
/// How the final property values were checked.
#[derive(Debug, Default)]
struct Checked {
    told: u64,
    by_report_state: u64,
}

fn mismatches(
    user: &str,
    devices: &[Device],
    alexa: &BTreeMap<(String, String), Known>,
    checked: &mut Checked,
) -> Vec<String> {
    let mut out = Vec::new();
    let expected: BTreeMap<&str, &Device> = devices
        .iter()
        .filter(|d| mapping::checked_endpoint(&d.definition).is_some())
        .map(|d| (d.definition.endpoint_id.as_str(), d))
        .collect();
    let told: BTreeMap<&str, &Known> = alexa
        .iter()
        .filter(|((u, _), _)| u == user)
        .map(|((_, id), k)| (id.as_str(), k))
        .collect();
    for id in told.keys() {
        if !expected.contains_key(id) {
            out.push(format!(
                "{user}/{id}: a ghost (Alexa has it, DynamoDB does not)"
            ));
        }
    }
    for (id, d) in &expected {
        let Some(known) = told.get(id) else {
            out.push(format!("{user}/{id}: never told to Alexa"));
            continue;
        };
        let definition = serde_json::to_value(mapping::endpoint(&d.definition)).unwrap();
        if known.definition != definition {
            out.push(format!(
                "{user}/{id}: Alexa has the definition {} but DynamoDB {}",
                known.definition, definition
            ));
        }
        for reading in values(d) {
            let (namespace, name) = (reading.namespace(), reading.name());
            let value = reading.value.to_json();
            let instance = reading.property.instance().map(str::to_owned);
            let key = (namespace.to_owned(), name.to_owned(), instance);
            // A value Alexa was never told since it learnt of the endpoint is one it asks for
            // with ReportState, which answers the current value: a new endpoint's state comes
            // that way, and a ChangeReport for it is not sent when the add and the change are
            // coalesced in one batch. Every value Alexa was told must be the current one.
            match known.told.get(&key) {
                None => checked.by_report_state += 1,
                Some(told) if *told == value => checked.told += 1,
                Some(told) => out.push(format!(
                    "{user}/{id}: {namespace}.{name} is {value} but Alexa was told {told}"
                )),
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_change_is_lost_under_faults() {
    let settings = Settings::from_env();
    eprintln!(
        "soak: {} customers, {} operations, gateway faults {} %, LWA faults {} %, batches lost {} %, \
         SOAK_SEED={}",
        settings.users,
        settings.ops,
        settings.fault_percent,
        settings.lwa_fault_percent,
        settings.drop_percent,
        settings.seed
    );
    let started = std::time::Instant::now();

    // Faults stop (set to 0) for the final reconciliation.
    let gateway_faults = Arc::new(AtomicU32::new(settings.fault_percent));
    let lwa_faults = Arc::new(AtomicU32::new(settings.lwa_fault_percent));
    let gateway_state = Arc::new(Mutex::new(GatewayState::default()));
    let gateway = {
        let state = gateway_state.clone();
        let rng = Mutex::new(fastrand::Rng::with_seed(settings.seed ^ 1));
        let percent = gateway_faults.clone();
        FaultServer::start(move |headers, body| {
            let mut rng = rng.lock().unwrap();
            let percent = percent.load(Ordering::SeqCst);
            state
                .lock()
                .unwrap()
                .handle(&mut rng, percent, headers, body)
        })
        .await
    };
    let lwa_state = Arc::new(Mutex::new(LwaState::default()));
    let lwa = {
        let state = lwa_state.clone();
        let rng = Mutex::new(fastrand::Rng::with_seed(settings.seed ^ 2));
        let percent = lwa_faults.clone();
        FaultServer::start(move |_, body| {
            let mut rng = rng.lock().unwrap();
            let percent = percent.load(Ordering::SeqCst);
            state.lock().unwrap().handle(&mut rng, percent, body)
        })
        .await
    };

    let tables = TestTables::new().await;
    let store = tables.store.clone();
    let users: Vec<String> = (0..settings.users).map(|i| format!("soak-u{i}")).collect();
    let mut rng = fastrand::Rng::with_seed(settings.seed ^ 3);
    for user in &users {
        // Some grants already expired, some about to: refreshes happen from the first batch.
        let expires_in = rng.i64(-600..900);
        store
            .put_grant(NewGrant {
                user_id: user.as_str().into(),
                access_token: Secret::new(format!("Atza|{user}|initial")),
                refresh_token: Secret::new(format!("Atzr|{user}")),
                expires_at: unix_seconds(SystemTime::now()) + expires_in,
                region: GatewayRegion::NorthAmerica,
                granted_at: alexa_smart_home::clock::Clock::system().now_ms(),
            })
            .await
            .unwrap();
    }

    let shadows = support::iot::shadows(store.clone(), &tables.config).await;
    for user in &users {
        store
            .put_token(
                &Secret::new(skill_token(user)),
                &TokenRecord {
                    user_id: user.as_str().into(),
                    expires_at: None,
                },
            )
            .await
            .unwrap();
        for slot in [IOT_LOCK, IOT_LIGHT] {
            shadows.create_thing(&thing_of(user, slot)).await.unwrap();
        }
    }
    // The maker's cloud behind its API, and the skill wired to it and, through a counting
    // proxy, to the IoT data plane.
    let maker = Arc::new(Mutex::new(MakerCloud::default()));
    let makers_api_server = {
        let (store, maker) = (store.clone(), maker.clone());
        let rng = Arc::new(Mutex::new(fastrand::Rng::with_seed(settings.seed ^ 5)));
        FaultServer::start_async(move |headers, body| {
            Box::pin(makers_api(
                store.clone(),
                maker.clone(),
                rng.clone(),
                headers,
                body,
            ))
        })
        .await
    };
    let iot_commands = ThrottlingProxy::start(support::iot::endpoint())
        .await
        .unwrap();
    let mut skill_config = support::iot::with_iot(&tables.config);
    skill_config.iot_data_endpoint = Some(iot_commands.url());
    skill_config.device_api_url = Some(format!("{}/commands", makers_api_server.uri()));
    skill_config.device_api_secret = Some(Secret::new(MAKER_SECRET));
    let sdk = alexa_smart_home::store::dynamo::sdk_config(&skill_config)
        .await
        .unwrap();
    let skill = Skill::from_config(
        store.clone(),
        &skill_config,
        alexa_smart_home::http::client().unwrap(),
    )
    .unwrap()
    .with_device_clouds(DeviceClouds::from_config(&skill_config, Some(&sdk)).unwrap());
    let sim = IotSim {
        skill,
        store: store.clone(),
        shadows,
        iot_commands,
        maker: maker.clone(),
        gateway: gateway_state.clone(),
        late: Vec::new(),
        counts: IotCounts::default(),
        next: 0,
    };

    // A client that gives up quickly, so that slow answers are timeouts; resends without the
    // production's 1 s spacing, so that the soak takes minutes, not hours.
    let http = reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .unwrap();
    let lwa_client = Lwa::new(
        http.clone(),
        format!("{}/auth/o2/token", lwa.uri()),
        Some("client-id".into()),
        Some(Secret::new("client-secret")),
    );
    let gateway_client = Gateway::new(http, Some(format!("{}/v3/events", gateway.uri())));
    let policy = RetryPolicy {
        resends: 3,
        min_delay: Duration::from_millis(5),
        jitter: Duration::from_millis(5),
    };
    let processor = StreamProcessor::new(
        store.clone(),
        lwa_client.clone(),
        gateway_client.clone(),
        tables.config.stream_concurrency,
        policy.clone(),
    );
    let mut stream = LocalStream::open(
        tables.config.dynamodb_endpoint.as_deref().unwrap(),
        &tables.config.aws_region,
        &tables.config.devices_table,
        Start::Latest,
    )
    .await
    .unwrap();

    let written = Arc::new(AtomicBool::new(false));
    let cloud = {
        let (store, users, written) = (store.clone(), users.clone(), written.clone());
        let (ops, seed) = (settings.ops, settings.seed);
        tokio::spawn(async move {
            let done = device_cloud(store, users, ops, seed, sim).await;
            written.store(true, Ordering::SeqCst);
            done
        })
    };

    // The stream, as Lambda's event source mapping runs it with ReportBatchItemFailures: a
    // batch that names a failed record is delivered again from that record, until it succeeds.
    let (mut batches, mut redeliveries, mut records) = (0u64, 0u64, 0u64);
    let (mut lost_batches, mut lost_records) = (0u64, 0u64);
    // The presses the lost batches carried: a press is an event, which reconciliation never
    // replays, so these need not ring.
    let mut lost_presses: Vec<(String, String, i64)> = Vec::new();
    let mut drops = fastrand::Rng::with_seed(settings.seed ^ 4);
    loop {
        let finished = written.load(Ordering::SeqCst);
        let batch = stream.next_batch(BATCH_SIZE).await.unwrap();
        if batch.records.is_empty() {
            stream
                .done(&DynamoDbEventResponse::default())
                .await
                .unwrap();
            if finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        batches += 1;
        records += batch.records.len() as u64;
        // Lambda's retries of this batch ran out: it goes to the dead-letter queue, and the
        // stream moves on without it.
        if drops.u32(0..100) < settings.drop_percent {
            lost_batches += 1;
            lost_records += batch.records.len() as u64;
            for r in &batch.records {
                if let Ok(d) = serde_dynamo::from_item::<_, Device>(r.change.new_image.clone())
                    && let Some(at) = d.state.doorbell_pressed_at
                {
                    lost_presses.push((
                        d.definition.user_id.to_string(),
                        d.definition.endpoint_id.to_string(),
                        at,
                    ));
                }
            }
            stream.give_up().await.unwrap().expect("a failure record");
            continue;
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let response = processor.process(batch, deadline).await;
        if !response.batch_item_failures.is_empty() {
            redeliveries += 1;
        }
        stream.done(&response).await.unwrap();
        // A runaway guard, far above any healthy run: every operation's record failing twice.
        assert!(
            redeliveries <= 2 * settings.ops as u64 + 100,
            "the stream is not making progress: {redeliveries} redeliveries"
        );
    }
    let (ops, cloud_log, sim) = cloud.await.unwrap();

    // One reconciliation of every customer, the faults over: what the lost batches carried
    // (and anything else the stream could not deliver) reaches Alexa now.
    gateway_faults.store(0, Ordering::SeqCst);
    lwa_faults.store(0, Ordering::SeqCst);
    let reconciler = Reconciler::new(
        store.clone(),
        lwa_client,
        gateway_client,
        policy,
        &tables.config,
    );
    let reconciled = reconciler
        .customers(
            users.iter().map(|u| u.as_str().into()).collect(),
            tokio::time::Instant::now() + Duration::from_secs(300),
        )
        .await;
    assert!(reconciled.is_complete(), "{reconciled:?}");

    // Every customer's devices, read back from DynamoDB, against what Alexa was told.
    let mut accounts = Vec::new();
    for user in &users {
        accounts.push((
            user,
            store
                .devices::<Device>(&user.as_str().into())
                .await
                .unwrap(),
        ));
    }
    // What each device behind IoT last reported to its shadow.
    let mut shadow_reported = BTreeMap::new();
    for (_, devices) in &accounts {
        for d in devices
            .iter()
            .filter(|d| d.definition.device_cloud == Some(Adapter::Iot))
        {
            let shadow = sim.shadows.shadow(d.thing(), None).await.unwrap();
            let reported = shadow
                .as_ref()
                .and_then(|s| s.pointer("/state/reported"))
                .cloned()
                .unwrap_or(Value::Null);
            shadow_reported.insert(d.thing().to_owned(), reported);
        }
    }
    let gateway_state = gateway_state.lock().unwrap();
    let mut found: Vec<String> = Vec::new();
    let mut endpoints = 0;
    let mut checked = Checked::default();
    for (user, devices) in &accounts {
        endpoints += devices.len();
        found.extend(mismatches(
            user,
            devices,
            &gateway_state.alexa,
            &mut checked,
        ));
    }
    // The devices behind IoT: the table holds what each device reported to its shadow.
    for (user, devices) in &accounts {
        for d in devices
            .iter()
            .filter(|d| d.definition.device_cloud == Some(Adapter::Iot))
        {
            let reported = &shadow_reported[d.thing()];
            let Value::Object(state) = serde_json::to_value(&d.state).unwrap() else {
                continue;
            };
            for (field, value) in state {
                if reported.get(&field) != Some(&value) {
                    found.push(format!(
                        "{user}/{}: the table holds {field} = {value}, the device reported {}",
                        d.definition.endpoint_id, reported[&field]
                    ));
                }
            }
        }
    }
    // The lamps behind the maker's API: the table holds the lamp's state, and no command id
    // came twice.
    {
        let maker = maker.lock().unwrap();
        for (user, devices) in &accounts {
            for d in devices
                .iter()
                .filter(|d| d.definition.device_cloud == Some(Adapter::Https))
            {
                let Some(lamp) = maker
                    .lamps
                    .get(&((*user).clone(), d.definition.endpoint_id.to_string()))
                else {
                    continue;
                };
                let Value::Object(state) = serde_json::to_value(&d.state).unwrap() else {
                    continue;
                };
                for (field, value) in lamp {
                    if state.get(field) != Some(value) {
                        found.push(format!(
                            "{user}/{}: the table holds {field} = {:?}, the lamp has {value}",
                            d.definition.endpoint_id,
                            state.get(field)
                        ));
                    }
                }
            }
        }
        for (id, times) in &maker.by_command {
            if *times > 1 {
                found.push(format!(
                    "command {id} reached the maker's API {times} times"
                ));
            }
        }
        eprintln!(
            "lamps behind the maker's API: {} commands, {} with the lamp's report recorded while \
             taking them, {} with the wall dimmer's, {} confirmed with a 200",
            maker.received, maker.reported_while_taking, maker.wall_dimmer, maker.confirmed
        );
    }
    // Every press rang, once: a press not lost with its batch, of a doorbell still one at the
    // end, reached the gateway; nothing rang that was not pressed; and a press the gateway took
    // twice is one whose first 202 came after the client gave up (a slow fault), resent.
    let timestamp = |at: i64| {
        chrono::DateTime::<chrono::Utc>::from_timestamp_millis(at)
            .unwrap()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let made: BTreeMap<(String, String, String), bool> = ops
        .presses
        .iter()
        .map(|((u, e, at), must)| {
            let lost = lost_presses.contains(&(u.clone(), e.clone(), *at));
            ((u.clone(), e.clone(), timestamp(*at)), *must && !lost)
        })
        .collect();
    let rang = &gateway_state.presses;
    for (press, must) in &made {
        if *must && !rang.contains_key(press) {
            found.push(format!("press {press:?} never rang"));
        }
    }
    for press in rang.keys() {
        if !made.contains_key(press) {
            found.push(format!("press {press:?} rang but was never made"));
        }
    }
    let twice: u32 = rang.values().map(|n| n - 1).sum();
    if u64::from(twice) > gateway_state.faults.slow {
        found.push(format!(
            "{twice} presses rang again, more than the {} slow answers could resend",
            gateway_state.faults.slow
        ));
    }
    let unrung = made.keys().filter(|p| !rang.contains_key(*p)).count();
    eprintln!(
        "doorbells: {} presses made, {} rang, {twice} rang again after a slow answer; {unrung} \
         never rang, each of a doorbell deleted or redefined after it, or lost with its batch",
        made.len(),
        rang.len()
    );
    found.extend(sim.counts.not_once.iter().cloned());
    found.extend(sim.counts.light_rules.iter().cloned());
    let deferred = gateway_state.deferred.len();
    let answered = gateway_state
        .deferred
        .values()
        .filter(|d| d.answered)
        .count();
    let c = &sim.counts;
    eprintln!(
        "devices behind IoT: {} voice commands ({} for endpoints not yet discovered, skipped): \
         {} answered at once, {} deferred ({answered} of {deferred} answered asynchronously), \
         errors {:?}; the devices confirmed {}, late {}, failed {}, never {}; {} device reports; \
         {} relative commands each applied once ({} with the device reporting while taking it), \
         {} not once; {} commands to the bulb checked against a light's rules, {} differing",
        c.voice + c.not_yet_discovered,
        c.not_yet_discovered,
        c.answered,
        c.deferred,
        c.errors,
        c.confirmed,
        c.late,
        c.failed,
        c.never,
        c.reports,
        c.relative,
        c.relative_raced,
        c.not_once.len(),
        c.light_checked,
        c.light_rules.len(),
    );
    let lwa_state = lwa_state.lock().unwrap();
    let g = &*gateway_state;
    let f = &g.faults;
    eprintln!(
        "soak figures ({:.1} s):\n\
         operations: {} (add {}, rename {}, capabilities {}, state {}, delete {})\n\
         stream: {records} records in {batches} batches, {redeliveries} redelivered from a failed record, \
         {lost_batches} batches ({lost_records} records) lost\n\
         reconciliation: {} customers, {} in sync, sent {} definitions, {} states, {} deletes\n\
         gateway: {} requests, {} accepted, {} faults injected ({:.1} %): 429 {}, 500 {}, 503 {}, 401 {}, \
         slow {}, dropped {}\n\
         events accepted: {:?}; {} repeated content (resends and redeliveries)\n\
         LWA: {} requests, {} faults, {} tokens issued\n\
         final: {endpoints} endpoints in DynamoDB, {} known to Alexa; property values: {} as told, \
         {} never told (ReportState answers them); {} mismatches, {} invalid messages",
        started.elapsed().as_secs_f64(),
        settings.ops,
        ops.add,
        ops.rename,
        ops.capabilities,
        ops.state,
        ops.delete,
        reconciled.customers,
        reconciled.in_sync,
        reconciled.upserts,
        reconciled.states,
        reconciled.deletes,
        g.requests,
        g.accepted,
        f.total(),
        100.0 * f.total() as f64 / g.requests.max(1) as f64,
        f.throttled,
        f.internal_error,
        f.unavailable,
        f.token_refused,
        f.slow,
        f.dropped,
        g.by_name,
        g.repeated,
        lwa_state.requests,
        lwa_state.faults,
        lwa_state.issued,
        g.alexa.len(),
        checked.told,
        checked.by_report_state,
        found.len(),
        g.invalid.len(),
    );
    assert!(g.invalid.is_empty(), "invalid messages: {:#?}", g.invalid);
    for m in found.iter().take(3) {
        let key = m.split(':').next().unwrap().split_once('/').unwrap();
        let key = (key.0.to_owned(), key.1.to_owned());
        eprintln!(
            "{m}\n  device cloud: {:#?}\n  Alexa was told: {:#?}",
            cloud_log.get(&key),
            g.history.get(&key)
        );
    }
    assert!(
        found.is_empty(),
        "{} mismatches: {:#?}",
        found.len(),
        &found[..found.len().min(20)]
    );
    // The soak proves something only if the faults were there to survive.
    if settings.fault_percent > 0 {
        assert!(
            f.throttled > 0 && f.token_refused > 0 && f.slow > 0 && f.dropped > 0,
            "{f:?}"
        );
    }
    assert!(endpoints > 0 && g.accepted > 0);
    // The lost batches must have been there to repair.
    if settings.drop_percent > 0 && batches >= 100 {
        assert!(lost_batches > 0);
    }
    // The IoT paths must have been taken, or the soak says nothing of them.
    assert!(
        c.deferred > 0 && answered > 0 && c.answered > 0 && c.failed > 0,
        "{c:?}"
    );
    // And so must the races of a device reporting while it takes a relative command.
    assert!(c.relative > 0 && c.relative_raced > 0, "{c:?}");
    // And the bulb's commands must have been held to a light's rules.
    assert!(c.light_checked > 0, "{c:?}");
}
