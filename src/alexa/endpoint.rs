//! The endpoint object of discovery and of `AddOrUpdateReport`.

use std::collections::BTreeMap;

use serde::Serialize;

use super::camera::StreamConfiguration;
use super::interface::Interface;
use super::security::ArmState;
use crate::ids::EndpointId;

/// One device (or scene, or group) as Alexa sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    pub endpoint_id: EndpointId,
    pub manufacturer_name: String,
    pub description: String,
    pub friendly_name: String,
    pub display_categories: Vec<String>,
    #[serde(skip_serializing_if = "AdditionalAttributes::is_empty")]
    pub additional_attributes: AdditionalAttributes,
    pub capabilities: Vec<Capability>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub connections: Vec<Connection>,
    #[serde(skip_serializing_if = "Relationships::is_empty")]
    pub relationships: Relationships,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub cookie: BTreeMap<String, String>,
}

/// Identification the Alexa app shows; every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalAttributes {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub software_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_identifier: Option<String>,
}

impl AdditionalAttributes {
    pub fn is_empty(&self) -> bool {
        self.values().iter().all(|(_, v)| v.is_none())
    }

    /// The attributes by their JSON names, for validation.
    pub fn values(&self) -> [(&'static str, Option<&str>); 6] {
        [
            ("manufacturer", self.manufacturer.as_deref()),
            ("model", self.model.as_deref()),
            ("serialNumber", self.serial_number.as_deref()),
            ("firmwareVersion", self.firmware_version.as_deref()),
            ("softwareVersion", self.software_version.as_deref()),
            ("customIdentifier", self.custom_identifier.as_deref()),
        ]
    }
}

/// One interface the endpoint supports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Capability {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub interface: Interface,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    pub version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<CapabilityProperties>,
    /// `Alexa.SceneController` declares these two at the capability level.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supports_deactivation: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proactively_reported: Option<bool>,
    /// The names customers use for a generic controller's setting.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capability_resources: Option<Resources>,
    /// Interface-specific configuration (thermostat modes, a range, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration: Option<Configuration>,
    /// What Alexa's words ("open", "raise", "is it closed?") map to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantics: Option<Semantics>,
    /// `Alexa.PlaybackController`: the operations the device takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supported_operations: Option<Vec<&'static str>>,
    /// `Alexa.InputController`: the inputs the customer can switch to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<InputDeclaration>>,
    /// `Alexa.EqualizerController`'s bands and modes (its own field, plural).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configurations: Option<EqualizerConfigurations>,
    /// `Alexa.CameraStreamController`'s streams.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub camera_stream_configurations: Option<Vec<StreamConfiguration>>,
}

impl Capability {
    /// An interface with the given reportable properties. Every property the skill declares is
    /// both retrievable (answered by ReportState) and proactively reported (sent as ChangeReport).
    pub fn interface(interface: Interface, version: &'static str, props: &[&'static str]) -> Self {
        Self {
            kind: "AlexaInterface",
            interface,
            instance: None,
            version,
            properties: (!props.is_empty()).then(|| CapabilityProperties {
                supported: props
                    .iter()
                    .map(|&name| SupportedProperty { name })
                    .collect(),
                proactively_reported: true,
                retrievable: true,
            }),
            supports_deactivation: None,
            proactively_reported: None,
            capability_resources: None,
            configuration: None,
            semantics: None,
            supported_operations: None,
            inputs: None,
            configurations: None,
            camera_stream_configurations: None,
        }
    }
}

/// One input of `Alexa.InputController`: Alexa's name for it, and the customer's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InputDeclaration {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub friendly_names: Vec<String>,
}

/// `Alexa.EqualizerController`'s `configurations`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EqualizerConfigurations {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bands: Option<EqualizerBands>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modes: Option<EqualizerModes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EqualizerBands {
    pub range: LevelRange,
    pub supported: Vec<Named>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LevelRange {
    pub maximum: i32,
    pub minimum: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EqualizerModes {
    pub supported: Vec<Named>,
}

/// `{"name": …}`, as the equalizer lists its bands and modes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Named {
    pub name: &'static str,
}

/// The `properties` object of a capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CapabilityProperties {
    pub supported: Vec<SupportedProperty>,
    pub proactively_reported: bool,
    pub retrievable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SupportedProperty {
    pub name: &'static str,
}

/// `capabilityResources`, `presetResources` and `modeResources`: what customers call a thing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    pub friendly_names: Vec<FriendlyName>,
}

/// One name: a text in a locale, or one of Alexa's catalogue of names (`Alexa.Setting.FanSpeed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "@type", content = "value", rename_all = "lowercase")]
pub enum FriendlyName {
    Asset {
        #[serde(rename = "assetId")]
        asset_id: String,
    },
    Text {
        locale: String,
        text: String,
    },
}

/// A capability's `configuration`, shaped as its interface documents it.
///
/// Here and below, an object's fields are in alphabetical order: the JSON, and so the Alexa
/// view's digest of a definition, is byte for byte what builds that wrote it as a `json!` map
/// sent, so that an upgrade does not look like a change of every device with a configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Configuration {
    Thermostat(ThermostatConfiguration),
    Range(RangeConfiguration),
    Mode(ModeConfiguration),
    TimeHold(TimeHoldConfiguration),
    SecurityPanel(SecurityPanelConfiguration),
    Rtc(RtcConfiguration),
}

impl Configuration {
    /// The interface whose configuration it is.
    pub const fn interface(&self) -> Interface {
        match self {
            Self::Thermostat(_) => Interface::Thermostat,
            Self::Range(_) => Interface::Range,
            Self::Mode(_) => Interface::Mode,
            Self::TimeHold(_) => Interface::TimeHold,
            Self::SecurityPanel(_) => Interface::SecurityPanel,
            Self::Rtc(_) => Interface::RtcSession,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RtcConfiguration {
    pub is_full_duplex_audio_supported: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SecurityPanelConfiguration {
    pub supported_arm_states: Vec<ArmStateValue>,
    /// `FOUR_DIGIT_PIN` when Disarm carries the customer's PIN; none, and Alexa asks for its
    /// own voice code instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub supported_authorization_types: Vec<AuthorizationType>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ArmStateValue {
    pub value: ArmState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AuthorizationType {
    #[serde(rename = "type")]
    pub kind: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeHoldConfiguration {
    pub allow_remote_resume: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ThermostatConfiguration {
    /// As the device cloud lists them; [`super::validate`] checks them against the schema's.
    pub supported_modes: Vec<String>,
    pub supports_scheduling: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RangeConfiguration {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presets: Vec<RangePreset>,
    pub supported_range: SupportedRange,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_of_measure: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedRange {
    pub maximum_value: f64,
    pub minimum_value: f64,
    pub precision: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RangePreset {
    pub preset_resources: Resources,
    pub range_value: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModeConfiguration {
    pub ordered: bool,
    pub supported_modes: Vec<SupportedMode>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedMode {
    pub mode_resources: Resources,
    pub value: String,
}

/// A generic controller's semantics: the utterances ("open", "raise") that become its
/// directives, and the states ("is it closed?") its values mean.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Semantics {
    pub action_mappings: Vec<ActionMapping>,
    pub state_mappings: Vec<StateMapping>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "@type")]
pub enum ActionMapping {
    ActionsToDirective {
        actions: Vec<Action>,
        directive: SemanticDirective,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Action {
    #[serde(rename = "Alexa.Actions.Close")]
    Close,
    #[serde(rename = "Alexa.Actions.Open")]
    Open,
    #[serde(rename = "Alexa.Actions.Lower")]
    Lower,
    #[serde(rename = "Alexa.Actions.Raise")]
    Raise,
}

/// The directive an action becomes, with its payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", content = "payload", rename_all_fields = "camelCase")]
pub enum SemanticDirective {
    SetRangeValue {
        range_value: f64,
    },
    AdjustRangeValue {
        range_value_delta: f64,
        range_value_delta_default: bool,
    },
    SetMode {
        mode: String,
    },
}

impl SemanticDirective {
    /// The interface whose directive it is.
    pub const fn interface(&self) -> Interface {
        match self {
            Self::SetRangeValue { .. } | Self::AdjustRangeValue { .. } => Interface::Range,
            Self::SetMode { .. } => Interface::Mode,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "@type")]
pub enum StateMapping {
    StatesToValue {
        states: Vec<State>,
        value: SemanticValue,
    },
    StatesToRange {
        range: ValueRange,
        states: Vec<State>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum State {
    #[serde(rename = "Alexa.States.Closed")]
    Closed,
    #[serde(rename = "Alexa.States.Open")]
    Open,
}

/// A range's number or a mode's value.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SemanticValue {
    Number(f64),
    Mode(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ValueRange {
    pub maximum_value: f64,
    pub minimum_value: f64,
}

/// How the device connects, for devices Alexa can reach directly (Zigbee, Z-Wave, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Connection {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// How this endpoint relates to others: a cluster of (AVS) speakers, or a device controlled
/// by another endpoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Relationships {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub is_cluster_of: Vec<ClusterMember>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub is_controlled_by: Vec<EndpointRef>,
}

impl Relationships {
    pub fn is_empty(&self) -> bool {
        self.is_cluster_of.is_empty() && self.is_controlled_by.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterMember {
    pub endpoint_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint_type_id: Option<String>,
    /// `AVS` for Alexa built-in devices (whose ids are Amazon's, not the skill's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A bare endpoint reference, as in `DeleteReport` and `isControlledBy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointRef {
    pub endpoint_id: EndpointId,
}
