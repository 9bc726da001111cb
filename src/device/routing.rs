//! Where a device's commands go: a value of the device model, which the configuration (the
//! deployment's default) and the device-cloud port (`crate::cloud`, the adapters) both take.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a device's commands go. The deployment chooses one (`DEVICE_CLOUD`); a device item's
/// `deviceCloud` overrides it for that device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Adapter {
    #[default]
    Table,
    Iot,
    Https,
}

impl FromStr for Adapter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Self::Table),
            "iot" => Ok(Self::Iot),
            "https" => Ok(Self::Https),
            other => Err(format!("{other:?} is not one of table, iot, https")),
        }
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Table => "table",
            Self::Iot => "iot",
            Self::Https => "https",
        })
    }
}
