//! The Alexa interfaces the skill speaks, by their namespaces: each namespace is written here
//! once, and directives, events and discovery name interfaces by this type.

use std::fmt;

use serde::{Serialize, Serializer};

/// Declares the interfaces: `Variant = "namespace"`, each with its doc.
macro_rules! interfaces {
    ($( $(#[$doc:meta])* $variant:ident = $namespace:literal ),* $(,)?) => {
        /// An Alexa interface (a namespace of directives and events).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Interface {
            $( $(#[$doc])* $variant, )*
        }

        impl Interface {
            /// Every interface, in declaration order.
            pub const ALL: &[Interface] = &[$( Self::$variant, )*];

            /// The interface's namespace, as discovery declares it and messages name it.
            pub const fn namespace(self) -> &'static str {
                match self {
                    $( Self::$variant => $namespace, )*
                }
            }

            /// The interface a message's namespace names, if the skill knows it.
            pub fn parse(namespace: &str) -> Option<Self> {
                match namespace {
                    $( $namespace => Some(Self::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

interfaces! {
    /// The base interface every endpoint declares: `ReportState`, `Response`, `ChangeReport`,
    /// `DeferredResponse` and `ErrorResponse`.
    Alexa = "Alexa",
    /// `Discover` and its response, `AddOrUpdateReport`, `DeleteReport`.
    Discovery = "Alexa.Discovery",
    /// `AcceptGrant`.
    Authorization = "Alexa.Authorization",
    Power = "Alexa.PowerController",
    Brightness = "Alexa.BrightnessController",
    Percentage = "Alexa.PercentageController",
    PowerLevel = "Alexa.PowerLevelController",
    Color = "Alexa.ColorController",
    ColorTemperature = "Alexa.ColorTemperatureController",
    Thermostat = "Alexa.ThermostatController",
    TemperatureSensor = "Alexa.TemperatureSensor",
    Lock = "Alexa.LockController",
    Scene = "Alexa.SceneController",
    Speaker = "Alexa.Speaker",
    EndpointHealth = "Alexa.EndpointHealth",
    Range = "Alexa.RangeController",
    Mode = "Alexa.ModeController",
    Toggle = "Alexa.ToggleController",
    ContactSensor = "Alexa.ContactSensor",
    MotionSensor = "Alexa.MotionSensor",
    StepSpeaker = "Alexa.StepSpeaker",
    Playback = "Alexa.PlaybackController",
    PlaybackState = "Alexa.PlaybackStateReporter",
    Seek = "Alexa.SeekController",
    Input = "Alexa.InputController",
    Channel = "Alexa.ChannelController",
    Equalizer = "Alexa.EqualizerController",
    TimeHold = "Alexa.TimeHoldController",
    SecurityPanel = "Alexa.SecurityPanelController",
    /// `DoorbellPress` events; no directives, no properties.
    Doorbell = "Alexa.DoorbellEventSource",
    CameraStream = "Alexa.CameraStreamController",
    RtcSession = "Alexa.RTCSessionController",
}

impl Interface {
    /// Whether the interface is a generic controller: declared once per `instance`, which every
    /// directive, context property and ChangeReport of it names.
    pub const fn has_instances(self) -> bool {
        matches!(self, Self::Range | Self::Mode | Self::Toggle)
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.namespace())
    }
}

/// An interface is written as its namespace.
impl Serialize for Interface {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.namespace())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_parses_back_to_its_interface() {
        for interface in Interface::ALL {
            assert_eq!(Interface::parse(interface.namespace()), Some(*interface));
        }
        assert_eq!(Interface::parse("Alexa.PowerControler"), None);
    }
}
