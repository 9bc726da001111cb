//! An alarm panel in the device cloud's terms: the alarms it reports, the zones that keep it
//! from arming, and what it refuses, which `crate::error` maps to
//! `Alexa.SecurityPanelController`'s own error types.

use serde::{Deserialize, Serialize};

pub use crate::alexa::security::ArmState;
use crate::ids::EndpointId;

/// An alarm a panel reports: sounding or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Alarm {
    Burglary,
    Fire,
    CarbonMonoxide,
    Water,
}

impl Alarm {
    pub const ALL: [Self; 4] = [
        Self::Burglary,
        Self::Fire,
        Self::CarbonMonoxide,
        Self::Water,
    ];
}

/// A zone (a door, a window) that is open, as the panel reports it: arming needs it closed or
/// bypassed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Zone {
    /// What the customer calls it: Alexa reads it out.
    pub name: String,
    /// Its endpoint, when it is one of the customer's devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_id: Option<EndpointId>,
}

/// What an alarm panel refuses, each with the error type Alexa documents for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PanelRefusal {
    /// `UNAUTHORIZED`: a wrong PIN, no PIN, or PINs refused for now after too many wrong ones.
    #[error("the PIN was not accepted")]
    Unauthorized,
    /// `AUTHORIZATION_REQUIRED`: armed away, asked to arm in another mode; disarm first.
    #[error("the panel is armed away; disarm it first")]
    AuthorizationRequired,
    /// `NOT_READY`: the panel cannot arm now.
    #[error("the panel is not ready")]
    NotReady,
    /// `BYPASS_NEEDED` with the open zones.
    #[error("{} zones are open", .0.len())]
    BypassNeeded(Vec<Zone>),
    /// `UNCLEARED_ALARM`: an alarm sounds.
    #[error("an alarm must be cleared first")]
    UnclearedAlarm,
    /// `UNCLEARED_TROUBLE`: a trouble condition must be cleared first.
    #[error("a trouble condition must be cleared first")]
    UnclearedTrouble,
}
