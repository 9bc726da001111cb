//! The Alexa interfaces the skill declares, by their namespaces.

/// An Alexa interface the skill declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Interface {
    Power,
    Brightness,
    Percentage,
    Color,
    ColorTemperature,
    Thermostat,
    TemperatureSensor,
    Lock,
    Scene,
    Speaker,
    EndpointHealth,
    Range,
    Mode,
    Toggle,
    ContactSensor,
    MotionSensor,
}

impl Interface {
    /// The interface's namespace, as discovery declares it and messages name it.
    pub const fn namespace(self) -> &'static str {
        match self {
            Self::Power => "Alexa.PowerController",
            Self::Brightness => "Alexa.BrightnessController",
            Self::Percentage => "Alexa.PercentageController",
            Self::Color => "Alexa.ColorController",
            Self::ColorTemperature => "Alexa.ColorTemperatureController",
            Self::Thermostat => "Alexa.ThermostatController",
            Self::TemperatureSensor => "Alexa.TemperatureSensor",
            Self::Lock => "Alexa.LockController",
            Self::Scene => "Alexa.SceneController",
            Self::Speaker => "Alexa.Speaker",
            Self::EndpointHealth => "Alexa.EndpointHealth",
            Self::Range => "Alexa.RangeController",
            Self::Mode => "Alexa.ModeController",
            Self::Toggle => "Alexa.ToggleController",
            Self::ContactSensor => "Alexa.ContactSensor",
            Self::MotionSensor => "Alexa.MotionSensor",
        }
    }
}

impl Interface {
    /// Whether the interface is a generic controller: declared once per `instance`, which every
    /// directive, context property and ChangeReport of it names.
    pub const fn has_instances(self) -> bool {
        matches!(self, Self::Range | Self::Mode | Self::Toggle)
    }
}
