//! The media vocabularies Alexa's TV and audio interfaces share with the device model: playback
//! operations and states, equalizer bands and modes. Each value's name is written here once.

use serde::{Deserialize, Serialize};

/// What a media device is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlaybackState {
    Playing,
    Paused,
    Stopped,
}

/// A transport operation, as `Alexa.PlaybackController` names its directives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PlaybackOperation {
    Play,
    Pause,
    Stop,
    StartOver,
    Previous,
    Next,
    Rewind,
    FastForward,
}

impl PlaybackOperation {
    pub const ALL: [Self; 8] = [
        Self::Play,
        Self::Pause,
        Self::Stop,
        Self::StartOver,
        Self::Previous,
        Self::Next,
        Self::Rewind,
        Self::FastForward,
    ];

    /// Its name: the directive's, and the device model's.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Play => "Play",
            Self::Pause => "Pause",
            Self::Stop => "Stop",
            Self::StartOver => "StartOver",
            Self::Previous => "Previous",
            Self::Next => "Next",
            Self::Rewind => "Rewind",
            Self::FastForward => "FastForward",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The playback state the operation leaves the device in, if it decides one.
    pub const fn leaves(self) -> Option<PlaybackState> {
        match self {
            Self::Play | Self::StartOver => Some(PlaybackState::Playing),
            Self::Pause => Some(PlaybackState::Paused),
            Self::Stop => Some(PlaybackState::Stopped),
            Self::Previous | Self::Next | Self::Rewind | Self::FastForward => None,
        }
    }
}

/// An equalizer band.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Band {
    Bass,
    Midrange,
    Treble,
}

impl Band {
    pub const ALL: [Self; 3] = [Self::Bass, Self::Midrange, Self::Treble];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Bass => "BASS",
            Self::Midrange => "MIDRANGE",
            Self::Treble => "TREBLE",
        }
    }
}

/// An equalizer's sound mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EqualizerMode {
    Movie,
    Music,
    Night,
    Sport,
    Tv,
}

impl EqualizerMode {
    pub const ALL: [Self; 5] = [Self::Movie, Self::Music, Self::Night, Self::Sport, Self::Tv];

    pub const fn name(self) -> &'static str {
        match self {
            Self::Movie => "MOVIE",
            Self::Music => "MUSIC",
            Self::Night => "NIGHT",
            Self::Sport => "SPORT",
            Self::Tv => "TV",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// Alexa's input names (`Alexa.InputController`): an input is declared by one of these.
pub const INPUT_NAMES: &[&str] = &[
    "AUX 1",
    "AUX 2",
    "AUX 3",
    "AUX 4",
    "AUX 5",
    "AUX 6",
    "AUX 7",
    "BLURAY",
    "CABLE",
    "CD",
    "COAX 1",
    "COAX 2",
    "COMPOSITE 1",
    "DVD",
    "GAME",
    "HD RADIO",
    "HDMI 1",
    "HDMI 2",
    "HDMI 3",
    "HDMI 4",
    "HDMI 5",
    "HDMI 6",
    "HDMI 7",
    "HDMI 8",
    "HDMI 9",
    "HDMI 10",
    "HDMI ARC",
    "INPUT 1",
    "INPUT 2",
    "INPUT 3",
    "INPUT 4",
    "INPUT 5",
    "INPUT 6",
    "INPUT 7",
    "INPUT 8",
    "INPUT 9",
    "INPUT 10",
    "IPOD",
    "LINE 1",
    "LINE 2",
    "LINE 3",
    "LINE 4",
    "LINE 5",
    "LINE 6",
    "LINE 7",
    "MEDIA PLAYER",
    "OPTICAL 1",
    "OPTICAL 2",
    "PHONO",
    "PLAYSTATION",
    "PLAYSTATION 3",
    "PLAYSTATION 4",
    "SATELLITE",
    "SMARTCAST",
    "TUNER",
    "TV",
    "USB DAC",
    "VIDEO 1",
    "VIDEO 2",
    "VIDEO 3",
    "XBOX",
];

/// An input name as compared: upper case, without spaces (Alexa's own sample sends `HDMI1`
/// for `HDMI 1`).
pub fn input_key(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}
