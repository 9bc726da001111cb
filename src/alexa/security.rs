//! The arm states of `Alexa.SecurityPanelController`, which the device model shares: each
//! name is written here once.

use serde::{Deserialize, Serialize};

/// An alarm panel's arm state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ArmState {
    /// Active, the occupants away.
    ArmedAway,
    /// Active, the occupants at home (Alexa's default when the customer names no mode).
    ArmedStay,
    /// Active, the occupants asleep.
    ArmedNight,
    Disarmed,
}

impl ArmState {
    /// In Alexa's order.
    pub const ALL: [Self; 4] = [
        Self::ArmedAway,
        Self::ArmedStay,
        Self::ArmedNight,
        Self::Disarmed,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Self::ArmedAway => "ARMED_AWAY",
            Self::ArmedStay => "ARMED_STAY",
            Self::ArmedNight => "ARMED_NIGHT",
            Self::Disarmed => "DISARMED",
        }
    }

    pub const fn is_armed(self) -> bool {
        !matches!(self, Self::Disarmed)
    }
}

/// The one authorization type a Disarm carries: the customer's four-digit PIN.
pub const FOUR_DIGIT_PIN: &str = "FOUR_DIGIT_PIN";
