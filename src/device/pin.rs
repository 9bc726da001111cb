//! An alarm panel's PIN as a device item keeps it: only a salted Argon2 hash, in the PHC string
//! format (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) that any language's Argon2 library writes,
//! so that a table read, a backup or a log line never holds a PIN. A four-digit PIN has 10,000
//! values: the hash only slows a stolen table down; the wrong-PIN limit
//! (`handlers::security_panel`) is what stops guessing by voice.

use std::fmt;

use argon2::{Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier};
use serde::{Deserialize, Serialize};

use crate::alexa::Secret;

/// The most a hash may ask of a verification: a maker chooses the parameters, but a hash that
/// asks for gigabytes must not take the Lambda down (64 MiB, 10 passes, 4 lanes; Argon2's
/// recommended 19 MiB and 2 passes are well inside).
pub const MAX_MEMORY_KIB: u32 = 64 * 1024;
pub const MAX_PASSES: u32 = 10;
pub const MAX_LANES: u32 = 4;

/// A PIN's hash, as the item's `pinHash` holds it. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PinHash(String);

impl fmt::Debug for PinHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinHash(…)")
    }
}

/// Why a hash cannot be checked: the device item is wrong, not the customer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinHashError {
    #[error("pinHash is not an Argon2 PHC string")]
    Unreadable,
    #[error(
        "pinHash asks for more than {MAX_MEMORY_KIB} KiB, {MAX_PASSES} passes or {MAX_LANES} lanes"
    )]
    TooCostly,
}

impl PinHash {
    /// The hash of `pin` with a fresh 16-byte salt and Argon2id's recommended parameters: what
    /// `devicectl hash-pin` prints for a device cloud to store.
    pub fn of(pin: &str) -> Self {
        let salt = *uuid::Uuid::new_v4().as_bytes();
        let hash = Argon2::default()
            .hash_password_with_salt(pin.as_bytes(), &salt)
            .unwrap_or_else(|_| {
                unreachable!("a 16-byte salt and the default parameters are valid")
            });
        Self(hash.to_string())
    }

    /// Whether `pin` is the PIN hashed, in constant time. Slow on purpose (tens of ms): call it
    /// off the async workers.
    pub fn verify(&self, pin: &Secret) -> Result<bool, PinHashError> {
        let hash = PasswordHash::new(&self.0).map_err(|_| PinHashError::Unreadable)?;
        let params = Params::try_from(&hash).map_err(|_| PinHashError::Unreadable)?;
        if params.m_cost() > MAX_MEMORY_KIB
            || params.t_cost() > MAX_PASSES
            || params.p_cost() > MAX_LANES
        {
            return Err(PinHashError::TooCostly);
        }
        Ok(Argon2::default()
            .verify_password(pin.expose().as_bytes(), &hash)
            .is_ok())
    }
}

/// Whether `pin` has the shape Alexa's `FOUR_DIGIT_PIN` has.
pub fn is_four_digits(pin: &str) -> bool {
    pin.len() == 4 && pin.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_pin_only_and_shows_nothing() {
        let hash = PinHash::of("4321");
        assert!(hash.0.starts_with("$argon2id$"));
        assert!(!hash.0.contains("4321"));
        assert_eq!(hash.verify(&Secret::new("4321")), Ok(true));
        assert_eq!(hash.verify(&Secret::new("1234")), Ok(false));
        assert_ne!(PinHash::of("4321"), hash, "each hash has its own salt");
        assert_eq!(format!("{hash:?}"), "PinHash(…)");
    }

    #[test]
    fn a_broken_or_costly_hash_is_the_item_s_fault() {
        let broken = PinHash("4321".into());
        assert_eq!(
            broken.verify(&Secret::new("4321")),
            Err(PinHashError::Unreadable)
        );
        let costly = PinHash::of("4321").0.replace("m=19456", "m=4194304");
        assert_eq!(
            PinHash(costly).verify(&Secret::new("4321")),
            Err(PinHashError::TooCostly)
        );
    }

    #[test]
    fn four_digits() {
        assert!(is_four_digits("0000"));
        assert!(!is_four_digits("123"));
        assert!(!is_four_digits("12a4"));
        assert!(!is_four_digits("١٢٣٤"));
    }
}
