//! What TVs, AV receivers and media players keep and are asked, in the device cloud's terms:
//! playback, inputs, channels, the equalizer, and the one-off requests (next track, three
//! volume steps up) that leave no state of their own.

use serde::{Deserialize, Serialize};

pub use crate::alexa::media::{Band, EqualizerMode, PlaybackOperation, PlaybackState};

/// A TV channel: as much of it as is known (at least one field, for Alexa to show it).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Channel {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_sign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affiliate_call_sign: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// What the customer called it, when Alexa could not tell which channel that is
    /// (`channelMetadata.name`): the device cloud resolves it. Not reported to Alexa.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Channel {
    /// Whether it names a channel Alexa can be told (number, call sign or URI).
    pub fn is_reportable(&self) -> bool {
        self.number.is_some()
            || self.call_sign.is_some()
            || self.affiliate_call_sign.is_some()
            || self.uri.is_some()
    }
}

/// The level of each band the equalizer has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BandLevels {
    #[serde(rename = "BASS", default, skip_serializing_if = "Option::is_none")]
    pub bass: Option<i32>,
    #[serde(rename = "MIDRANGE", default, skip_serializing_if = "Option::is_none")]
    pub midrange: Option<i32>,
    #[serde(rename = "TREBLE", default, skip_serializing_if = "Option::is_none")]
    pub treble: Option<i32>,
}

impl BandLevels {
    pub fn get(&self, band: Band) -> Option<i32> {
        match band {
            Band::Bass => self.bass,
            Band::Midrange => self.midrange,
            Band::Treble => self.treble,
        }
    }

    pub fn set(&mut self, band: Band, level: i32) {
        let slot = match band {
            Band::Bass => &mut self.bass,
            Band::Midrange => &mut self.midrange,
            Band::Treble => &mut self.treble,
        };
        *slot = Some(level);
    }

    /// The bands with a level, in Alexa's order.
    pub fn levels(&self) -> impl Iterator<Item = (Band, i32)> + '_ {
        Band::ALL
            .into_iter()
            .filter_map(|band| self.get(band).map(|level| (band, level)))
    }
}

/// A one-off request that leaves no state of its own ("next", "three steps louder"). Its `id`
/// is the directive's command id, so that asking the same twice is two changes of the item,
/// each of which the device cloud acts on once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum DeviceAction {
    /// A transport operation.
    Playback {
        id: String,
        operation: PlaybackOperation,
    },
    /// Volume up (positive) or down by steps, for a device that does not know its volume.
    VolumeSteps { id: String, steps: i32 },
    /// Channels up (positive) or down.
    SkipChannels { id: String, count: i32 },
}
