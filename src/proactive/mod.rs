//! Proactive events to Alexa's event gateway: building them within Alexa's limits
//! ([`reports`]) and delivering them as the gateway's error codes say ([`delivery`]). The
//! stream Lambda sends discovery changes and ChangeReports this way; the skill Lambda sends
//! the DeleteReport of a ghost device.

pub mod delivery;
pub mod reports;
