//! The limits Alexa enforces on an endpoint, checked before an endpoint is sent, so that one bad
//! device is left out instead of making Alexa reject a whole discovery answer or report.
//!
//! Sources: the official JSON schema and the limits in Amazon's docs (`shared/alexa/NOTES.md`).

use super::endpoint::{
    ActionMapping, Capability, Configuration, Endpoint, Resources, SupportedRange,
};
use super::interface::Interface;
use super::media::{INPUT_NAMES, input_key};

/// Alexa accepts at most this many endpoints per customer, per `Discover.Response` and per
/// `AddOrUpdateReport`.
pub const MAX_ENDPOINTS: usize = 300;
/// Capabilities per endpoint (docs; the schema does not check it).
pub const MAX_CAPABILITIES: usize = 100;
pub const MAX_ENDPOINT_ID_CHARS: usize = 256;
/// `friendlyName`, `description`, `manufacturerName` (newer docs allow 256 for names; the
/// schema says 128, and the schema is what Alexa validates against).
pub const MAX_NAME_CHARS: usize = 128;
pub const MAX_ATTRIBUTE_CHARS: usize = 256;
/// The serialized cookie; an endpoint over it is silently not discovered by Alexa.
pub const MAX_COOKIE_BYTES: usize = 5000;

/// The display categories of the official schema.
pub const SCHEMA_DISPLAY_CATEGORIES: &[&str] = &[
    "ACTIVITY_TRIGGER",
    "CAMERA",
    "COMPUTER",
    "CONTACT_SENSOR",
    "DOOR",
    "DOORBELL",
    "EXTERIOR_BLIND",
    "FAN",
    "GAME_CONSOLE",
    "GARAGE_DOOR",
    "INTERIOR_BLIND",
    "LAPTOP",
    "LIGHT",
    "MICROWAVE",
    "MOBILE_PHONE",
    "MOTION_SENSOR",
    "MUSIC_SYSTEM",
    "NETWORK_HARDWARE",
    "OTHER",
    "OVEN",
    "PHONE",
    "SCENE_TRIGGER",
    "SCREEN",
    "SECURITY_PANEL",
    "SMARTLOCK",
    "SMARTPLUG",
    "SPEAKER",
    "STREAMING_DEVICE",
    "SWITCH",
    "TABLET",
    "TEMPERATURE_SENSOR",
    "THERMOSTAT",
    "TV",
    "WEARABLE",
];

/// Display categories documented by Amazon after the schema was generated; Alexa accepts them.
pub const NEWER_DISPLAY_CATEGORIES: &[&str] = &[
    "AIR_CONDITIONER",
    "AIR_FRESHENER",
    "AIR_PURIFIER",
    "AIR_QUALITY_MONITOR",
    "CHRISTMAS_TREE",
    "COFFEE_MAKER",
    "DISHWASHER",
    "DRYER",
    "VACUUM_CLEANER",
    "WASHER",
    "WATER_HEATER",
];

const CONNECTION_TYPES: &[&str] = &["TCP_IP", "ZIGBEE", "ZWAVE", "UNKNOWN"];

/// The values the schema allows in `Alexa.ThermostatController`'s `supportedModes`.
pub const THERMOSTAT_MODES: &[&str] = &["AUTO", "COOL", "HEAT", "ECO", "OFF"];

/// Why an endpoint cannot be sent to Alexa.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidEndpoint {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field} has {len} characters, more than {max}")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    #[error("{field} has a character outside [A-Za-z0-9_-=#;:?@&]")]
    BadCharacter { field: &'static str },
    #[error("unknown display category {0:?}")]
    UnknownCategory(String),
    #[error("display category {0:?} is listed twice")]
    DuplicateCategory(String),
    #[error("{0} capabilities, more than {MAX_CAPABILITIES}")]
    TooManyCapabilities(usize),
    #[error("the Alexa interface is missing")]
    MissingAlexaInterface,
    #[error("interface {0} is declared twice")]
    DuplicateCapability(Interface),
    #[error("cookie is {0} bytes serialized, more than {MAX_COOKIE_BYTES}")]
    CookieTooLarge(usize),
    #[error("unknown connection type {0:?}")]
    UnknownConnection(String),
    #[error("thermostat mode {0} is not one of {THERMOSTAT_MODES:?}")]
    UnknownThermostatMode(String),
    #[error("{interface}: {reason}")]
    BadMedia {
        interface: Interface,
        reason: &'static str,
    },
    #[error("{interface} instance {instance:?}: {reason}")]
    BadInstance {
        interface: Interface,
        instance: String,
        reason: &'static str,
    },
}

/// Checks an endpoint id against the schema's pattern and length.
pub fn endpoint_id(id: &str) -> Result<(), InvalidEndpoint> {
    endpoint_id_field("endpointId", id)
}

fn endpoint_id_field(field: &'static str, id: &str) -> Result<(), InvalidEndpoint> {
    text(field, id, MAX_ENDPOINT_ID_CHARS)?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_-=#;:?@&".contains(c);
    if id.chars().all(allowed) {
        Ok(())
    } else {
        Err(InvalidEndpoint::BadCharacter { field })
    }
}

fn text(field: &'static str, value: &str, max: usize) -> Result<(), InvalidEndpoint> {
    // The schema counts characters (code points), not bytes.
    let len = value.chars().count();
    if len == 0 || value.trim().is_empty() {
        Err(InvalidEndpoint::Empty { field })
    } else if len > max {
        Err(InvalidEndpoint::TooLong { field, len, max })
    } else {
        Ok(())
    }
}

pub fn is_known_category(category: &str) -> bool {
    SCHEMA_DISPLAY_CATEGORIES.contains(&category) || NEWER_DISPLAY_CATEGORIES.contains(&category)
}

/// Checks every limit Alexa applies to one endpoint.
pub fn endpoint(e: &Endpoint) -> Result<(), InvalidEndpoint> {
    endpoint_id(&e.endpoint_id)?;
    text("friendlyName", &e.friendly_name, MAX_NAME_CHARS)?;
    text("description", &e.description, MAX_NAME_CHARS)?;
    text("manufacturerName", &e.manufacturer_name, MAX_NAME_CHARS)?;

    if e.display_categories.is_empty() {
        return Err(InvalidEndpoint::Empty {
            field: "displayCategories",
        });
    }
    // A handful of categories at most: a scan beats hashing.
    for (i, category) in e.display_categories.iter().enumerate() {
        if !is_known_category(category) {
            return Err(InvalidEndpoint::UnknownCategory(category.clone()));
        }
        if e.display_categories[..i].contains(category) {
            return Err(InvalidEndpoint::DuplicateCategory(category.clone()));
        }
    }

    for (field, value) in e.additional_attributes.values() {
        if let Some(value) = value {
            let len = value.chars().count();
            if len > MAX_ATTRIBUTE_CHARS {
                return Err(InvalidEndpoint::TooLong {
                    field,
                    len,
                    max: MAX_ATTRIBUTE_CHARS,
                });
            }
        }
    }

    capabilities(e)?;

    for c in &e.connections {
        if !CONNECTION_TYPES.contains(&c.kind.as_str()) {
            return Err(InvalidEndpoint::UnknownConnection(c.kind.clone()));
        }
    }

    for member in &e.relationships.is_cluster_of {
        // Alexa built-in (AVS) members carry Amazon's ids, which need not follow the skill's
        // endpoint id pattern; the skill's own members must.
        if member.source.as_deref() == Some("AVS") {
            text(
                "isClusterOf.endpointId",
                &member.endpoint_id,
                MAX_ENDPOINT_ID_CHARS,
            )?;
        } else {
            endpoint_id_field("isClusterOf.endpointId", &member.endpoint_id)?;
        }
    }
    for controller in &e.relationships.is_controlled_by {
        endpoint_id_field("isControlledBy.endpointId", &controller.endpoint_id)?;
    }

    if !e.cookie.is_empty() {
        let size = serialized_len(&e.cookie);
        if size > MAX_COOKIE_BYTES {
            return Err(InvalidEndpoint::CookieTooLarge(size));
        }
    }
    Ok(())
}

/// The length of a value's JSON, counted without building it.
fn serialized_len<T: serde::Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

fn capabilities(e: &Endpoint) -> Result<(), InvalidEndpoint> {
    let count = e.capabilities.len();
    if count > MAX_CAPABILITIES {
        return Err(InvalidEndpoint::TooManyCapabilities(count));
    }
    if !e
        .capabilities
        .iter()
        .any(|c| c.interface == Interface::Alexa)
    {
        return Err(InvalidEndpoint::MissingAlexaInterface);
    }
    // Typically 3 to 8 capabilities: a quadratic scan is cheaper than hashing them.
    for (i, c) in e.capabilities.iter().enumerate() {
        let earlier: &[Capability] = &e.capabilities[..i];
        if earlier
            .iter()
            .any(|o| o.interface == c.interface && o.instance == c.instance)
        {
            return Err(InvalidEndpoint::DuplicateCapability(c.interface));
        }
        if c.configuration
            .as_ref()
            .is_some_and(|config| config.interface() != c.interface)
        {
            return Err(bad(c, "configuration of another interface"));
        }
        if let Some(instance) = &c.instance {
            if earlier
                .iter()
                .any(|o| o.instance.as_ref() == Some(instance))
            {
                return Err(bad(c, "used by two capabilities"));
            }
            generic(c, instance)?;
        } else if c.interface.has_instances() {
            return Err(bad(c, "a generic controller needs an instance"));
        }
        media(c)?;
        if let Some(Configuration::Thermostat(config)) = &c.configuration {
            for mode in &config.supported_modes {
                if !THERMOSTAT_MODES.contains(&mode.as_str()) {
                    return Err(InvalidEndpoint::UnknownThermostatMode(format!("{mode:?}")));
                }
            }
        }
    }
    Ok(())
}

/// What the schema leaves out of the media interfaces' declarations: operations, inputs from
/// Alexa's list and each once (as Alexa compares them), and an equalizer with something to set.
fn media(c: &Capability) -> Result<(), InvalidEndpoint> {
    let bad = |reason| {
        Err(InvalidEndpoint::BadMedia {
            interface: c.interface,
            reason,
        })
    };
    match c.interface {
        Interface::Playback => {
            let ops = c.supported_operations.as_deref().unwrap_or_default();
            if ops.is_empty() {
                return bad("no supportedOperations");
            }
            if ops.iter().enumerate().any(|(i, op)| ops[..i].contains(op)) {
                return bad("an operation is listed twice");
            }
        }
        Interface::Input => {
            let inputs = c.inputs.as_deref().unwrap_or_default();
            if inputs.is_empty() {
                return bad("no inputs");
            }
            let mut keys: Vec<String> = Vec::new();
            for input in inputs {
                if !INPUT_NAMES.contains(&input.name.as_str()) {
                    return bad("an input's name is not one of Alexa's input names");
                }
                for name in std::iter::once(&input.name).chain(&input.friendly_names) {
                    let key = input_key(name);
                    if key.is_empty() || keys.contains(&key) {
                        return bad("an input name is empty or names two inputs");
                    }
                    keys.push(key);
                }
            }
        }
        Interface::CameraStream => {
            let configs = c
                .camera_stream_configurations
                .as_deref()
                .unwrap_or_default();
            if configs.is_empty() {
                return bad("no cameraStreamConfigurations");
            }
            for config in configs {
                if !(listed_once(&config.protocols)
                    && listed_once(&config.resolutions)
                    && listed_once(&config.authorization_types)
                    && listed_once(&config.video_codecs)
                    && listed_once(&config.audio_codecs))
                {
                    return bad("a stream configuration lists nothing, or a value twice");
                }
                if config
                    .resolutions
                    .iter()
                    .any(|r| r.width == 0 || r.height == 0)
                {
                    return bad("a resolution is empty");
                }
            }
        }
        Interface::SecurityPanel => {
            let Some(Configuration::SecurityPanel(config)) = &c.configuration else {
                return bad("no configuration");
            };
            // Amazon asks for DISARMED and at least one armed state.
            if !config
                .supported_arm_states
                .iter()
                .any(|s| s.value.is_armed())
            {
                return bad("no armed state");
            }
        }
        Interface::Equalizer => {
            let Some(config) = &c.configurations else {
                return bad("no configurations");
            };
            if config.bands.is_none() && config.modes.is_none() {
                return bad("neither bands nor modes");
            }
            if let Some(bands) = &config.bands {
                let names = &bands.supported;
                if names
                    .iter()
                    .enumerate()
                    .any(|(i, b)| names[..i].contains(b))
                {
                    return bad("a band is listed twice");
                }
                if bands.range.minimum >= bands.range.maximum {
                    return bad("the bands' range needs minimum < maximum");
                }
            }
            if let Some(modes) = &config.modes {
                let names = &modes.supported;
                if names
                    .iter()
                    .enumerate()
                    .any(|(i, m)| names[..i].contains(m))
                {
                    return bad("a mode is listed twice");
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// At least one value, and none twice (the schema's `uniqueItems`).
fn listed_once<T: PartialEq>(list: &[T]) -> bool {
    !list.is_empty() && list.iter().enumerate().all(|(i, v)| !list[..i].contains(v))
}

/// Longest instance name accepted (the docs give none; this keeps state keys short).
pub const MAX_INSTANCE_CHARS: usize = 64;

fn bad(c: &Capability, reason: &'static str) -> InvalidEndpoint {
    InvalidEndpoint::BadInstance {
        interface: c.interface,
        instance: c.instance.clone().unwrap_or_default(),
        reason,
    }
}

/// What the schema leaves out of a generic controller: the instance's form, names on every
/// setting, mode and preset, presets within the range, and semantics that use only directives
/// the interface has.
fn generic(c: &Capability, instance: &str) -> Result<(), InvalidEndpoint> {
    // `Namespace.Name`: the dot keeps instance names apart from the device model's state fields.
    let part = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-')
    };
    if !c.interface.has_instances() {
        return Err(bad(c, "this interface has no instances"));
    }
    if instance.chars().count() > MAX_INSTANCE_CHARS
        || !instance.contains('.')
        || !instance.split('.').all(part)
    {
        return Err(bad(c, "not of the form Name.Setting ([A-Za-z0-9_-] parts)"));
    }
    let named = |resources: &Resources| !resources.friendly_names.is_empty();
    if !c.capability_resources.as_ref().is_some_and(named) {
        return Err(bad(c, "no friendly names"));
    }
    match (c.interface, &c.configuration) {
        (Interface::Range, Some(Configuration::Range(config))) => {
            let SupportedRange {
                minimum_value: min,
                maximum_value: max,
                precision,
            } = config.supported_range;
            if !(min < max && precision > 0.0 && precision <= max - min) {
                return Err(bad(
                    c,
                    "supportedRange needs min < max and 0 < precision <= max - min",
                ));
            }
            for preset in &config.presets {
                if !(min..=max).contains(&preset.range_value) {
                    return Err(bad(c, "a preset lies outside the range"));
                }
                if !named(&preset.preset_resources) {
                    return Err(bad(c, "a preset has no names"));
                }
            }
        }
        (Interface::Range, _) => return Err(bad(c, "no supportedRange")),
        (Interface::Mode, Some(Configuration::Mode(config))) => {
            let modes = &config.supported_modes;
            if modes.is_empty() {
                return Err(bad(c, "no supportedModes"));
            }
            for (i, mode) in modes.iter().enumerate() {
                if mode.value.is_empty() || !named(&mode.mode_resources) {
                    return Err(bad(c, "a mode has no value or no names"));
                }
                if modes[..i].iter().any(|m| m.value == mode.value) {
                    return Err(bad(c, "a mode is listed twice"));
                }
            }
        }
        (Interface::Mode, _) => return Err(bad(c, "no supportedModes")),
        _ => {}
    }
    for mapping in c.semantics.iter().flat_map(|s| &s.action_mappings) {
        let ActionMapping::ActionsToDirective { directive, .. } = mapping;
        if directive.interface() != c.interface {
            return Err(bad(
                c,
                "semantics name a directive the interface does not have",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alexa::endpoint::*;

    fn valid() -> Endpoint {
        Endpoint {
            endpoint_id: "light-1".into(),
            manufacturer_name: "Acme".into(),
            description: "Acme bulb".into(),
            friendly_name: "Lamp".into(),
            display_categories: vec!["LIGHT".into()],
            additional_attributes: AdditionalAttributes::default(),
            capabilities: vec![Capability::interface(Interface::Alexa, "3", &[])],
            connections: vec![],
            relationships: Relationships::default(),
            cookie: Default::default(),
        }
    }

    #[test]
    fn accepts_valid_endpoint() {
        assert_eq!(endpoint(&valid()), Ok(()));
    }

    #[test]
    fn endpoint_id_rules() {
        assert!(endpoint_id("a-Z_0=#;:?@&").is_ok());
        assert!(endpoint_id("has space").is_err());
        assert!(endpoint_id("dot.ted").is_err());
        assert!(endpoint_id("").is_err());
        assert!(endpoint_id(&"x".repeat(256)).is_ok());
        assert!(endpoint_id(&"x".repeat(257)).is_err());
    }

    #[test]
    fn names_count_characters_not_bytes() {
        let mut e = valid();
        e.friendly_name = "é".repeat(128);
        assert_eq!(endpoint(&e), Ok(()));
        e.friendly_name.push('é');
        assert!(matches!(
            endpoint(&e),
            Err(InvalidEndpoint::TooLong {
                field: "friendlyName",
                ..
            })
        ));
    }

    #[test]
    fn rejects_each_broken_field() {
        type Breaker = fn(&mut Endpoint);
        let cases: Vec<(Breaker, &str)> = vec![
            (|e| e.friendly_name = "  ".into(), "friendlyName"),
            (|e| e.description = "d".repeat(129), "description"),
            (|e| e.manufacturer_name.clear(), "manufacturerName"),
            (|e| e.display_categories.clear(), "displayCategories"),
            (|e| e.display_categories = vec!["TOASTER".into()], "TOASTER"),
            (|e| e.display_categories.push("LIGHT".into()), "twice"),
            (
                |e| e.additional_attributes.model = Some("m".repeat(257)),
                "model",
            ),
            (|e| e.capabilities.clear(), "Alexa interface"),
            // Found by tests/properties.rs: a device cloud's "CUSTOM" (or "heat") mode passed,
            // and the schema rejected the whole Discover.Response.
            (
                |e| {
                    let mut t = Capability::interface(Interface::Thermostat, "3", &[]);
                    t.configuration = Some(Configuration::Thermostat(ThermostatConfiguration {
                        supported_modes: vec!["HEAT".into(), "CUSTOM".into()],
                        supports_scheduling: false,
                    }));
                    e.capabilities.push(t)
                },
                "thermostat mode \"CUSTOM\"",
            ),
            (
                |e| {
                    e.capabilities
                        .push(Capability::interface(Interface::Alexa, "3", &[]))
                },
                "twice",
            ),
            (
                |e| {
                    e.capabilities
                        .extend((0..100).map(|_| Capability::interface(Interface::Power, "3", &[])))
                },
                "capabilities",
            ),
            (
                |e| {
                    e.cookie.insert("k".into(), "v".repeat(5000));
                },
                "cookie",
            ),
            (
                |e| {
                    e.relationships.is_controlled_by.push(EndpointRef {
                        endpoint_id: "bad id".into(),
                    })
                },
                "isControlledBy",
            ),
            (
                |e| {
                    e.connections.push(Connection {
                        kind: "BLE".into(),
                        mac_address: None,
                        home_id: None,
                        node_id: None,
                        value: None,
                    })
                },
                "connection",
            ),
        ];
        for (breaker, expected) in cases {
            let mut e = valid();
            breaker(&mut e);
            let err = endpoint(&e).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
    }

    #[test]
    fn avs_cluster_members_keep_amazon_ids() {
        let mut e = valid();
        e.relationships.is_cluster_of.push(ClusterMember {
            endpoint_id: "amzn1.alexa.endpoint.abc".into(),
            endpoint_type_id: Some("AVS_SPEAKER".into()),
            source: Some("AVS".into()),
        });
        assert_eq!(endpoint(&e), Ok(()));
    }

    #[test]
    fn newer_categories_are_accepted() {
        let mut e = valid();
        e.display_categories = vec!["VACUUM_CLEANER".into()];
        assert_eq!(endpoint(&e), Ok(()));
    }
}
