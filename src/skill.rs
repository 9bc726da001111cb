//! The skill Lambda's core: raw directive in, answer out, never a panic or a Lambda error.

use serde::Serialize;
use serde_json::value::RawValue;
use tracing::{Instrument, error, info, info_span, warn};

use crate::alexa::directive::{Directive, ReplyTo, Request};
use crate::alexa::event::Addressing;
use crate::clock::Clock;
use crate::cloud::DeviceClouds;
use crate::config::{Config, ConfigError};
use crate::deadline::Deadline;
use crate::error::{Chain, SkillError};
use crate::gateway::Gateway;
use crate::handlers::{self, Services};
use crate::linking::AccountLinking;
use crate::lwa::Lwa;
use crate::metrics;
use crate::runtime::StartError;
use crate::store::Store;

/// The skill, holding what is built once at cold start.
#[derive(Debug)]
pub struct Skill<S> {
    services: Services<S>,
}

impl<S: Store> Skill<S> {
    pub fn new(services: Services<S>) -> Self {
        Self { services }
    }

    /// The skill as configured: Login with Amazon, the gateway, the event region and the
    /// maker's API from `config` (IoT is added by [`Self::with_device_clouds`]).
    pub fn from_config(
        store: S,
        config: &Config,
        http: crate::http::Http,
    ) -> Result<Self, StartError> {
        let lwa = Lwa::from_config(http.clone(), config);
        // The configuration's reader has checked JWKS_JSON already; a `Config` built in code
        // has not.
        let linking =
            AccountLinking::new(&config.linking, http.clone()).map_err(|e| ConfigError {
                name: "JWKS_JSON",
                reason: e.to_string(),
            })?;
        Ok(Self::new(Services {
            store,
            linking,
            lwa,
            clouds: DeviceClouds::from_config(config, None)?,
            gateway: Gateway::new(http, config.event_gateway_url.clone())
                .with_regional_urls(config.regional_gateway_urls.clone()),
            event_region: config.event_region,
            confirm_wait: config.confirm_wait,
            clock: Clock::system(),
        }))
    }

    /// The same skill reading the time from `clock` (a test's, set where it wants).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.services.clock = clock;
        self
    }

    /// The same skill with these device-cloud adapters (IoT needs the SDK's configuration,
    /// which only an async cold start has).
    pub fn with_device_clouds(mut self, clouds: DeviceClouds) -> Self {
        self.services.clouds = clouds;
        self
    }

    pub fn store(&self) -> &S {
        &self.services.store
    }

    /// Answers one directive within Alexa's 8 s (less a margin): [`Self::handle_until`] for a
    /// caller that does not know the invocation's deadline.
    pub async fn handle(&self, raw: &str) -> Box<RawValue> {
        self.handle_until(raw, Deadline::for_directive(None)).await
    }

    /// Answers one directive by `deadline` ([`Deadline::for_directive`]). Whatever the input,
    /// the answer is a well-formed Alexa message: the handler's answer, or an `ErrorResponse`.
    pub async fn handle_until(&self, raw: &str, deadline: Deadline) -> Box<RawValue> {
        let directive = match Directive::parse(raw) {
            Ok(directive) => directive,
            Err(rejected) => {
                warn!(reason = %rejected.error, "directive rejected");
                let error = SkillError::from(rejected.error);
                // Not named by what it claims to be: a malformed message could mint dimensions.
                metrics::directive("other", "other", &error.error_type().name());
                return error_reply(&rejected.reply_to, &error);
            }
        };
        let span = info_span!(
            "directive",
            namespace = %directive.header.namespace,
            name = %directive.header.name,
            message_id = %directive.header.message_id,
        );
        async {
            let (namespace, name) = (&directive.header.namespace, &directive.header.name);
            match self.dispatch(&directive, &deadline).await {
                Ok(reply) => {
                    metrics::directive(namespace, name, "SUCCESS");
                    reply
                }
                Err(e) => {
                    metrics::directive(namespace, name, &e.error_type().name());
                    if e.is_internal() {
                        error!(error = %Chain(&e), "directive failed");
                    } else {
                        info!(error = %e, "directive refused");
                    }
                    error_reply(&ReplyTo::of(&directive), &e)
                }
            }
        }
        .instrument(span)
        .await
    }

    async fn dispatch(
        &self,
        directive: &Directive,
        deadline: &Deadline,
    ) -> Result<Box<RawValue>, SkillError> {
        let services = &self.services;
        let reply_to = ReplyTo::of(directive);
        let to = Addressing {
            correlation_token: reply_to.correlation_token,
            endpoint_id: reply_to.endpoint_id,
        };
        match &directive.request {
            Request::Discover { scope } => {
                reply(&handlers::discovery::discover(services, scope, deadline).await?)
            }
            Request::AcceptGrant { code, grantee } => reply(
                &handlers::accept_grant::accept_grant(services, code, grantee, deadline).await?,
            ),
            Request::ReportState { endpoint_id, token } => reply(
                &handlers::report_state::report_state(services, &to, endpoint_id, token, deadline)
                    .await?,
            ),
            Request::Control {
                endpoint_id,
                token,
                command,
            } => {
                let (header, to) = (&directive.header, &to);
                // A camera's view is asked of the maker's API, not written as a state.
                if command.is_camera() {
                    let answer = handlers::camera::view;
                    reply(
                        &answer(services, to, header, endpoint_id, token, command, deadline)
                            .await?,
                    )
                } else {
                    let answer = handlers::control::control;
                    reply(
                        &answer(services, to, header, endpoint_id, token, command, deadline)
                            .await?,
                    )
                }
            }
        }
    }
}

fn reply<T: Serialize>(message: &T) -> Result<Box<RawValue>, SkillError> {
    Ok(serde_json::value::to_raw_value(message)?)
}

fn error_reply(reply_to: &ReplyTo, error: &SkillError) -> Box<RawValue> {
    // Serializing these plain structs cannot fail; `null` keeps the signature infallible.
    serde_json::value::to_raw_value(&error.to_response(reply_to))
        .unwrap_or_else(|_| RawValue::NULL.to_owned())
}
