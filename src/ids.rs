//! The two ids everything is keyed by, as types of their own, so that a customer's id cannot be
//! passed where an endpoint's is expected (`replace_pending(user, endpoint, …)` in either order
//! used to compile). Both are written as plain strings, in the tables and in Alexa's messages.
//! An id reads as a `&str` (it derefs to one); text becomes an id only by `From`, where it
//! enters: a directive, a table item, the account-linking answer.

use std::borrow::Borrow;
use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new(id: impl Into<String>) -> Self {
                Self(id.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> Self {
                Self(id)
            }
        }

        /// Any text is an id (command-line arguments, say); what an id may hold is Alexa's
        /// rule for endpoint ids, checked where they are sent (`alexa::validate`).
        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;

            fn from_str(id: &str) -> Result<Self, Self::Err> {
                Ok(Self(id.to_owned()))
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> Self {
                Self(id.to_owned())
            }
        }

        /// An id reads as the text it is (logs, keys, comparisons); only the other way, text
        /// into an id, is explicit.
        impl std::ops::Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

id! {
    /// A customer of the device cloud: the user id the maker's account linking resolves a
    /// token to, and the partition key of the devices, grants and Alexa view tables.
    UserId
}

id! {
    /// An endpoint, as Alexa and the devices table name it (a device, scene or group).
    EndpointId
}
