//! The one mapping from the device cloud's model to Alexa's endpoint object.

use tracing::warn;

use super::catalogue::{Interface, Property};
use super::{DeviceCapability, DeviceDefinition, Name, RangeSemantics};
use crate::alexa::endpoint::{
    Action, ActionMapping, AdditionalAttributes, ArmStateValue, AuthorizationType, Capability,
    ClusterMember, Configuration, Endpoint, EndpointRef, EqualizerBands, EqualizerConfigurations,
    EqualizerModes, FriendlyName, InputDeclaration, LevelRange, ModeConfiguration, Named,
    RangeConfiguration, RangePreset, Relationships, Resources, RtcConfiguration,
    SecurityPanelConfiguration, SemanticDirective, SemanticValue, Semantics, State, StateMapping,
    SupportedMode, SupportedRange, ThermostatConfiguration, TimeHoldConfiguration, ValueRange,
};
use crate::alexa::security::{ArmState, FOUR_DIGIT_PIN};
use crate::alexa::validate;

/// The endpoint Alexa discovers for a device: the `Alexa` interface, the interfaces of the
/// device's capabilities, and `Alexa.EndpointHealth` for its connectivity.
pub fn endpoint(device: &DeviceDefinition) -> Endpoint {
    let mut capabilities = Vec::with_capacity(device.capabilities.len() + 2);
    capabilities.push(Capability::interface(Interface::Alexa, "3", &[]));
    for capability in &device.capabilities {
        match interfaces(capability) {
            Some(list) => {
                for c in list {
                    // A device cloud may list a capability twice, or Thermostat together with
                    // TemperatureSensor; Alexa rejects an interface declared twice.
                    if !capabilities
                        .iter()
                        .any(|have| have.interface == c.interface && have.instance == c.instance)
                    {
                        capabilities.push(c);
                    }
                }
            }
            None => warn!(
                endpoint_id = %device.endpoint_id,
                "device lists a capability this skill does not know; it is not declared"
            ),
        }
    }
    // Connectivity only, which is what version 3 of EndpointHealth reports.
    capabilities.push(Capability::interface(
        Interface::EndpointHealth,
        "3",
        &[Property::Connectivity.name()],
    ));

    Endpoint {
        endpoint_id: device.endpoint_id.clone(),
        manufacturer_name: device.manufacturer.clone(),
        description: device.description.clone(),
        friendly_name: device.name.clone(),
        display_categories: display_categories(device),
        additional_attributes: AdditionalAttributes {
            manufacturer: Some(device.manufacturer.clone()),
            model: device.model.clone(),
            serial_number: device.serial_number.clone(),
            firmware_version: device.firmware_version.clone(),
            software_version: device.software_version.clone(),
            custom_identifier: None,
        },
        capabilities,
        connections: Vec::new(),
        relationships: Relationships {
            is_cluster_of: device
                .relationships
                .cluster_of
                .iter()
                .map(|m| ClusterMember {
                    endpoint_id: m.endpoint_id.clone(),
                    endpoint_type_id: m.endpoint_type_id.clone(),
                    source: m.source.clone(),
                })
                .collect(),
            is_controlled_by: device
                .relationships
                .controlled_by
                .iter()
                .map(|id| EndpointRef {
                    endpoint_id: id.clone(),
                })
                .collect(),
        },
        cookie: device.cookie.clone(),
    }
}

/// The device's display categories: its own, but a video doorbell (a doorbell with a camera)
/// is both, camera first, as Amazon documents.
fn display_categories(device: &DeviceDefinition) -> Vec<String> {
    let video_doorbell = device.is_doorbell()
        && device.is_camera()
        && matches!(device.category.as_str(), "DOORBELL" | "CAMERA");
    if video_doorbell {
        vec!["CAMERA".into(), "DOORBELL".into()]
    } else {
        vec![device.category.clone()]
    }
}

/// The endpoint for a device, if Alexa would accept it; a device that breaks one of Alexa's
/// limits is logged with the reason and left out.
pub fn checked_endpoint(device: &DeviceDefinition) -> Option<Endpoint> {
    // A camera's view comes from the maker's API only: declared on another adapter, every
    // "show the camera" would fail.
    if device.is_camera() && device.device_cloud != Some(super::Adapter::Https) {
        warn!(
            endpoint_id = %device.endpoint_id,
            reason = "a camera's streams come from the maker's API: its item must say deviceCloud https",
            "device left out: Alexa would reject it"
        );
        return None;
    }
    let endpoint = endpoint(device);
    match validate::endpoint(&endpoint) {
        Ok(()) => Some(endpoint),
        Err(reason) => {
            warn!(endpoint_id = %device.endpoint_id, %reason, "device left out: Alexa would reject it");
            None
        }
    }
}

/// The Alexa interfaces that one device capability is declared as (`None`: a capability this
/// skill does not know).
fn interfaces(capability: &DeviceCapability) -> Option<Vec<Capability>> {
    let interfaces = capability.interfaces();
    if interfaces.is_empty() {
        return None;
    }
    Some(
        interfaces
            .into_iter()
            .map(|(interface, instance)| declare(capability, interface, instance))
            .collect(),
    )
}

/// One interface of a capability: its properties, and what the interface documents beyond them.
fn declare(
    capability: &DeviceCapability,
    interface: Interface,
    instance: Option<&str>,
) -> Capability {
    let names: Vec<&'static str> = capability
        .properties()
        .iter()
        .filter(|p| p.interface() == interface)
        .map(|p| p.name())
        .collect();
    let mut declared = Capability::interface(interface, "3", &names);
    declared.instance = instance.map(str::to_owned);
    match capability {
        DeviceCapability::Thermostat { modes, .. } if interface == Interface::Thermostat => {
            declared.configuration = Some(Configuration::Thermostat(ThermostatConfiguration {
                supported_modes: modes.clone(),
                supports_scheduling: false,
            }));
        }
        DeviceCapability::Scene {
            supports_deactivation,
        } => {
            declared.supports_deactivation = Some(*supports_deactivation);
            declared.proactively_reported = Some(false);
        }
        DeviceCapability::Range {
            names,
            min,
            max,
            precision,
            unit,
            presets,
            default_delta,
            semantics,
            ..
        } => {
            declared.capability_resources = Some(resources(names));
            declared.configuration = Some(Configuration::Range(RangeConfiguration {
                supported_range: SupportedRange {
                    minimum_value: *min,
                    maximum_value: *max,
                    precision: *precision,
                },
                unit_of_measure: unit.clone(),
                presets: presets
                    .iter()
                    .map(|p| RangePreset {
                        range_value: p.value,
                        preset_resources: resources(&p.names),
                    })
                    .collect(),
            }));
            declared.semantics = semantics.map(|RangeSemantics::Position| {
                let step = range_default_delta(*min, *max, *precision, *default_delta);
                let adjust = |delta| SemanticDirective::AdjustRangeValue {
                    range_value_delta: delta,
                    range_value_delta_default: false,
                };
                Semantics {
                    action_mappings: vec![
                        to_directive(
                            Action::Close,
                            SemanticDirective::SetRangeValue { range_value: *min },
                        ),
                        to_directive(
                            Action::Open,
                            SemanticDirective::SetRangeValue { range_value: *max },
                        ),
                        to_directive(Action::Lower, adjust(-step)),
                        to_directive(Action::Raise, adjust(step)),
                    ],
                    state_mappings: vec![
                        StateMapping::StatesToValue {
                            states: vec![State::Closed],
                            value: SemanticValue::Number(*min),
                        },
                        StateMapping::StatesToRange {
                            states: vec![State::Open],
                            range: ValueRange {
                                minimum_value: min + precision,
                                maximum_value: *max,
                            },
                        },
                    ],
                }
            });
        }
        DeviceCapability::Mode {
            names,
            ordered,
            modes,
            semantics,
            ..
        } => {
            declared.capability_resources = Some(resources(names));
            declared.configuration = Some(Configuration::Mode(ModeConfiguration {
                ordered: *ordered,
                supported_modes: modes
                    .iter()
                    .map(|m| SupportedMode {
                        value: m.value.clone(),
                        mode_resources: resources(&m.names),
                    })
                    .collect(),
            }));
            declared.semantics = semantics.as_ref().map(|s| {
                let set = |mode: &String| SemanticDirective::SetMode { mode: mode.clone() };
                let is = |state, mode: &String| StateMapping::StatesToValue {
                    states: vec![state],
                    value: SemanticValue::Mode(mode.clone()),
                };
                Semantics {
                    action_mappings: vec![
                        to_directive(Action::Close, set(&s.close)),
                        to_directive(Action::Open, set(&s.open)),
                    ],
                    state_mappings: vec![is(State::Closed, &s.close), is(State::Open, &s.open)],
                }
            });
        }
        // Its one event is proactive, declared at the capability's level.
        DeviceCapability::Doorbell => declared.proactively_reported = Some(true),
        DeviceCapability::CameraStream { configurations } => {
            declared.camera_stream_configurations = Some(configurations.clone());
        }
        DeviceCapability::RtcSession { full_duplex_audio } => {
            declared.configuration = Some(Configuration::Rtc(RtcConfiguration {
                is_full_duplex_audio_supported: *full_duplex_audio,
            }));
        }
        DeviceCapability::Toggle { names, .. } => {
            declared.capability_resources = Some(resources(names));
        }
        DeviceCapability::Playback { operations, .. } if interface == Interface::Playback => {
            declared.supported_operations = Some(operations.iter().map(|o| o.name()).collect());
        }
        DeviceCapability::Input { inputs } => {
            declared.inputs = Some(
                inputs
                    .iter()
                    .map(|i| InputDeclaration {
                        name: i.name.clone(),
                        friendly_names: i.friendly_names.clone(),
                    })
                    .collect(),
            );
        }
        DeviceCapability::Equalizer {
            bands,
            min_level,
            max_level,
            modes,
            ..
        } => {
            let named =
                |names: Vec<&'static str>| names.into_iter().map(|name| Named { name }).collect();
            declared.configurations = Some(EqualizerConfigurations {
                bands: (!bands.is_empty()).then(|| EqualizerBands {
                    range: LevelRange {
                        minimum: *min_level,
                        maximum: *max_level,
                    },
                    supported: named(bands.iter().map(|b| b.name()).collect()),
                }),
                modes: (!modes.is_empty()).then(|| EqualizerModes {
                    supported: named(modes.iter().map(|m| m.name()).collect()),
                }),
            });
        }
        DeviceCapability::SecurityPanel {
            arm_states, pin, ..
        } => {
            let mut states: Vec<ArmStateValue> = ArmState::ALL
                .into_iter()
                .filter(|s| *s == ArmState::Disarmed || arm_states.contains(s))
                .map(|value| ArmStateValue { value })
                .collect();
            states.dedup();
            declared.configuration =
                Some(Configuration::SecurityPanel(SecurityPanelConfiguration {
                    supported_arm_states: states,
                    supported_authorization_types: if *pin {
                        vec![AuthorizationType {
                            kind: FOUR_DIGIT_PIN,
                        }]
                    } else {
                        Vec::new()
                    },
                }));
        }
        DeviceCapability::TimeHold {
            allow_remote_resume,
        } => {
            declared.configuration = Some(Configuration::TimeHold(TimeHoldConfiguration {
                allow_remote_resume: *allow_remote_resume,
            }));
        }
        _ => {}
    }
    declared
}

/// How far a range moves when the customer names no amount: the device's own default, or a
/// tenth of the range rounded to whole steps (at least one step).
pub fn range_default_delta(min: f64, max: f64, precision: f64, default_delta: Option<f64>) -> f64 {
    default_delta.unwrap_or_else(|| {
        let steps = ((max - min) / 10.0 / precision).round().max(1.0);
        steps * precision
    })
}

/// `capabilityResources` (or `presetResources`, `modeResources`): the names, as Alexa spells them.
fn resources(names: &[Name]) -> Resources {
    Resources {
        friendly_names: names
            .iter()
            .map(|name| match name {
                Name::Asset { asset } => FriendlyName::Asset {
                    asset_id: asset.clone(),
                },
                Name::Text { text, locale } => FriendlyName::Text {
                    text: text.clone(),
                    locale: locale.clone(),
                },
            })
            .collect(),
    }
}

fn to_directive(action: Action, directive: SemanticDirective) -> ActionMapping {
    ActionMapping::ActionsToDirective {
        actions: vec![action],
        directive,
    }
}

/// The endpoints Alexa can accept for these devices, in the order given (the table's
/// endpoint id order, so the same 300 are chosen every time when there are more).
/// A device that breaks one of Alexa's limits is logged with the reason and left out.
pub fn discoverable<'a>(devices: impl IntoIterator<Item = &'a DeviceDefinition>) -> Vec<Endpoint> {
    let mut endpoints: Vec<Endpoint> = devices.into_iter().filter_map(checked_endpoint).collect();
    if endpoints.len() > validate::MAX_ENDPOINTS {
        warn!(
            endpoints = endpoints.len(),
            sent = validate::MAX_ENDPOINTS,
            "account has more valid endpoints than Alexa accepts; the rest are not discovered"
        );
        endpoints.truncate(validate::MAX_ENDPOINTS);
    }
    endpoints
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{
        Connectivity, Device, DeviceRelationships, DeviceState, ModeSemantics, ModeValue, Preset,
        Setpoints, TemperatureScale,
    };

    fn light() -> Device {
        Device {
            definition: DeviceDefinition {
                user_id: "u".into(),
                endpoint_id: "light-1".into(),
                name: "Lamp".into(),
                description: "Acme bulb".into(),
                manufacturer: "Acme".into(),
                model: Some("A19".into()),
                serial_number: None,
                firmware_version: None,
                software_version: None,
                category: "LIGHT".into(),
                capabilities: vec![
                    DeviceCapability::Power,
                    DeviceCapability::Brightness,
                    DeviceCapability::Power,
                ],
                relationships: DeviceRelationships::default(),
                cookie: Default::default(),
                device_cloud: None,
            },
            connectivity: Connectivity::Ok,
            state: DeviceState::default(),
            sampled_at: Default::default(),
            changed_by: None,
            ..Device::default()
        }
    }

    #[test]
    fn always_declares_alexa_and_endpoint_health() {
        let e = endpoint(&light().definition);
        let names: Vec<_> = e.capabilities.iter().map(|c| c.interface).collect();
        assert_eq!(
            names,
            [
                Interface::Alexa,
                Interface::Power,
                Interface::Brightness,
                Interface::EndpointHealth
            ]
        );
        assert_eq!(validate::endpoint(&e), Ok(()));
    }

    #[test]
    fn thermostat_with_sensor_declares_sensor_once() {
        let mut d = light();
        d.definition.capabilities = vec![
            DeviceCapability::Thermostat {
                modes: vec!["HEAT".into()],
                min_setpoint: 7.0,
                max_setpoint: 30.0,
                scale: TemperatureScale::Celsius,
                setpoints: Setpoints::Single,
                minimum_delta: None,
            },
            DeviceCapability::TemperatureSensor,
        ];
        let e = endpoint(&d.definition);
        let sensors = e
            .capabilities
            .iter()
            .filter(|c| c.interface == Interface::TemperatureSensor)
            .count();
        assert_eq!(sensors, 1);
        assert_eq!(validate::endpoint(&e), Ok(()));
    }

    #[test]
    fn unknown_capabilities_are_left_out() {
        let mut d = light();
        d.definition.capabilities = vec![DeviceCapability::Unknown];
        assert_eq!(endpoint(&d.definition).capabilities.len(), 2);
    }

    /// The configuration, semantics and names serialize with their keys in alphabetical order,
    /// as the `json!` maps of earlier builds did: the view's digests of definitions stay the same.
    #[test]
    fn configuration_keys_are_in_the_order_earlier_builds_wrote() {
        let names = || {
            vec![
                Name::Asset {
                    asset: "Alexa.Setting.Opening".into(),
                },
                Name::Text {
                    text: "blind".into(),
                    locale: "en-US".into(),
                },
            ]
        };
        let mut d = light();
        d.definition.capabilities = vec![
            DeviceCapability::Range {
                instance: "Blind.Lift".into(),
                names: names(),
                min: 0.0,
                max: 100.0,
                precision: 1.0,
                unit: Some("Alexa.Unit.Percent".into()),
                presets: vec![Preset {
                    value: 100.0,
                    names: names(),
                }],
                default_delta: None,
                semantics: Some(RangeSemantics::Position),
            },
            DeviceCapability::Mode {
                instance: "Door.Position".into(),
                names: names(),
                ordered: false,
                modes: vec![ModeValue {
                    value: "Position.Up".into(),
                    names: names(),
                }],
                semantics: Some(ModeSemantics {
                    open: "Position.Up".into(),
                    close: "Position.Up".into(),
                }),
            },
            DeviceCapability::Thermostat {
                modes: vec!["HEAT".into()],
                min_setpoint: 7.0,
                max_setpoint: 30.0,
                scale: TemperatureScale::Celsius,
                setpoints: Setpoints::Single,
                minimum_delta: None,
            },
        ];
        let e = endpoint(&d.definition);
        let sorted = |json: String| {
            let value: serde_json::Value = serde_json::from_str(&json).unwrap();
            assert_eq!(json, value.to_string());
        };
        let mut seen = 0;
        for c in &e.capabilities {
            for part in [
                c.configuration
                    .as_ref()
                    .map(|v| serde_json::to_string(v).unwrap()),
                c.semantics
                    .as_ref()
                    .map(|v| serde_json::to_string(v).unwrap()),
                c.capability_resources
                    .as_ref()
                    .map(|v| serde_json::to_string(v).unwrap()),
            ]
            .into_iter()
            .flatten()
            {
                sorted(part);
                seen += 1;
            }
        }
        assert_eq!(seen, 7, "{e:?}");
        assert_eq!(validate::endpoint(&e), Ok(()));
    }
}
