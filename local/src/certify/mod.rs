//! `devicectl certify` (`make certify`): the evaluation a maker runs before submitting for
//! certification. Amazon's capability-evaluation test plans ([`plans`]) run against every
//! endpoint of a catalogue that declares their interfaces ([`cases`]), as Amazon's evaluation
//! runs them, through the real skill binary under the local Lambda Runtime API, against the
//! local DynamoDB-compatible server; the Works-with-Alexa rules a machine can check ([`rules`])
//! are held against every message of the run; the [`report`] says what passed and why not.
//!
//! A run has its own tables on the local server (so it never touches the tables of `make run`),
//! links every customer of the catalogue with a token of its own, and enables the skill for
//! them (AcceptGrant, against a fake Login with Amazon) so that the devices table's stream
//! sends ChangeReports to a fake event gateway, where the run reads them. Devices whose
//! commands go through AWS IoT Core are played by a simulated device on moto's shadows: it
//! reports what its shadow's desired state asks (or, to show a broken one, what
//! [`Options::device`] makes of it).

pub mod cases;
pub mod plans;
pub mod report;
pub mod rules;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alexa_smart_home::cloud::{Adapter, DeviceClouds};
use alexa_smart_home::config::Config;
use alexa_smart_home::device::Device;
use alexa_smart_home::http;
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::store::{TokenRecord, tables};
use alexa_smart_home::stream::StreamProcessor;
use serde_json::{Value, json};

use crate::fakes::FakeAmazon;
use crate::pump::{BoxError, Pump, reconcile_function, use_fakes};
use crate::runtime_api::RuntimeApi;
use crate::shadow::LocalShadows;
use crate::stream::{LocalStream, Start};
use plans::{Case, Plan, PlanDirective, Sources};
use report::{CaseResult, EndpointReport, Outcome, Report};
use rules::{Finding, PropertyId};

/// What a simulated IoT device reports when its shadow's desired state is the argument.
pub type DeviceBehaviour = Arc<dyn Fn(&Value) -> Value + Send + Sync>;

/// A device that does what it is asked: it reports its desired state.
pub fn faithful() -> DeviceBehaviour {
    Arc::new(Value::clone)
}

/// What to certify, and with what.
pub struct Options {
    /// The maker's catalogue, in the devices table's format (a seed file; its tokens are not
    /// used: the run links each customer with a token of its own).
    pub catalogue: Seed,
    /// The skill binary (`target/debug/skill`).
    pub skill: PathBuf,
    /// The local server (`DYNAMODB_ENDPOINT` must be set) and the rest of the configuration.
    pub config: Config,
    pub plans: Sources,
    pub device: DeviceBehaviour,
}

/// How long one directive may take before the run gives up on the skill.
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs the certification. `Err` is a run that could not be made (no plans, no server, a
/// skill that does not start); a run that finds failures is an `Ok` report that says so.
pub async fn run(options: Options) -> Result<Report, BoxError> {
    let (plans, plans_from) = options.plans.load().await?;
    let mut run = Run::start(options).await?;
    let mut report = Report {
        plans_from: plans_from.display().to_string(),
        ..Report::default()
    };
    let users: Vec<String> = {
        let mut users: Vec<String> = run.devices.keys().map(|(u, _)| u.clone()).collect();
        users.dedup();
        users
    };
    for user in &users {
        run.accept_grant(user).await?;
    }
    run.pump.drain().await?;
    for user in &users {
        for endpoint in run.discover(user).await? {
            report.endpoints.push(run.certify(&endpoint, &plans).await?);
        }
    }
    report.findings = std::mem::take(&mut run.findings);
    report.summarize();
    Ok(report)
}

/// A discovered endpoint, with what the run needs of it.
struct Endpoint {
    user: String,
    id: String,
    cookie: Value,
    properties: Vec<PropertyId>,
    device: Device,
}

/// The skill binary under the Runtime API, the streams, the fakes, the tables.
struct Run {
    api: RuntimeApi,
    skill: Function,
    shadows: LocalShadows<DynamoStore>,
    pump: Pump,
    clouds: DeviceClouds,
    tokens: BTreeMap<String, String>,
    devices: BTreeMap<(String, String), Device>,
    device: DeviceBehaviour,
    findings: Vec<Finding>,
    /// How many gateway events the run has looked at.
    seen_events: usize,
}

/// The skill's process, stopped when dropped.
struct Function(Child);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Run {
    async fn start(options: Options) -> Result<Self, BoxError> {
        let mut config = options.config;
        let endpoint = config
            .dynamodb_endpoint
            .clone()
            .ok_or("certify needs DYNAMODB_ENDPOINT: a local DynamoDB-compatible server")?;
        if config.iot_data_endpoint.is_none() {
            config.iot_data_endpoint = Some(endpoint.clone());
        }
        // Tables of its own, so that a run never touches anybody's devices.
        let prefix = format!(
            "certify-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        config.devices_table = format!("{prefix}-devices");
        config.tokens_table = format!("{prefix}-tokens");
        config.grants_table = format!("{prefix}-grants");
        config.alexa_view_table = format!("{prefix}-alexa-view");
        let sdk = dynamo::sdk_config(&config).await?;
        let client = dynamo::client(&config).await?;
        tables::create(&client, &config).await?;
        let store = DynamoStore::new(client, &config);
        let clouds = DeviceClouds::from_config(&config, Some(&sdk))?;
        let shadows = LocalShadows::new(
            config.iot_data_endpoint.as_deref().unwrap_or(&endpoint),
            &sdk,
            store.clone(),
        );

        let mut tokens = BTreeMap::new();
        let mut devices = BTreeMap::new();
        for device in &options.catalogue.devices {
            store.put_device(device).await?;
            if clouds.adapter_for(device) == Adapter::Iot {
                shadows.create_thing(device.thing()).await?;
            }
            if !tokens.contains_key(device.definition.user_id.as_str()) {
                let token = format!("certify-{}", uuid::Uuid::new_v4().simple());
                let record = TokenRecord {
                    user_id: device.definition.user_id.clone(),
                    expires_at: None,
                };
                store
                    .put_token(&alexa_smart_home::alexa::BearerToken::new(&token), &record)
                    .await?;
                tokens.insert(device.definition.user_id.to_string(), token);
            }
            devices.insert(
                (
                    device.definition.user_id.to_string(),
                    device.definition.endpoint_id.to_string(),
                ),
                device.clone(),
            );
        }

        let fakes = FakeAmazon::start(false).await;
        use_fakes(&mut config, &fakes);
        let region = config.aws_region.clone();
        let grants =
            LocalStream::open(&endpoint, &region, &config.grants_table, Start::Latest).await?;
        let stream =
            LocalStream::open(&endpoint, &region, &config.devices_table, Start::Latest).await?;
        let pump = Pump {
            stream,
            processor: StreamProcessor::from_config(store.clone(), &config, http::client()?),
            grants,
            reconciler: reconcile_function(store.clone(), &config).await?,
            fakes,
        };

        let api = RuntimeApi::start().await?;
        let mut command = api.command(&options.skill, "certify");
        command
            .env("DYNAMODB_ENDPOINT", &endpoint)
            .env("AWS_REGION", &region)
            .env("DEVICES_TABLE", &config.devices_table)
            .env("TOKENS_TABLE", &config.tokens_table)
            .env("GRANTS_TABLE", &config.grants_table)
            .env("ALEXA_VIEW_TABLE", &config.alexa_view_table)
            .env("LWA_TOKEN_URL", &config.lwa_token_url)
            .env(
                "LWA_CLIENT_ID",
                config.lwa_client_id.as_deref().unwrap_or(""),
            )
            .env(
                "LWA_CLIENT_SECRET",
                config
                    .lwa_client_secret
                    .as_ref()
                    .map(|s| s.expose().to_owned())
                    .unwrap_or_default(),
            )
            .env(
                "EVENT_GATEWAY_URL",
                config.event_gateway_url.as_deref().unwrap_or(""),
            )
            .env(
                "IOT_DATA_ENDPOINT",
                config.iot_data_endpoint.as_deref().unwrap_or(""),
            )
            .env("DEVICE_CLOUD", config.device_cloud.to_string())
            .env("AWS_LAMBDA_LOG_LEVEL", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let child = command
            .spawn()
            .map_err(|e| format!("{}: {e}", options.skill.display()))?;
        Ok(Self {
            api,
            skill: Function(child),
            shadows,
            pump,
            clouds,
            tokens,
            devices,
            device: options.device,
            findings: Vec::new(),
            seen_events: 0,
        })
    }

    /// A directive through the skill binary: the answer and how long it took; the messages
    /// rules are checked on it.
    async fn invoke(&mut self, what: &str, directive: &Value) -> Result<Value, BoxError> {
        let started = Instant::now();
        let answer = self
            .api
            .invoke(directive.to_string(), INVOKE_TIMEOUT)
            .await?;
        let elapsed = started.elapsed().as_millis();
        let _alive = &self.skill;
        if answer.is_error {
            return Err(format!(
                "{what}: the skill failed the invocation: {}",
                String::from_utf8_lossy(&answer.body)
            )
            .into());
        }
        let answer: Value = serde_json::from_slice(&answer.body)?;
        let endpoint = answer
            .pointer("/event/endpoint/endpointId")
            .and_then(Value::as_str)
            .map(str::to_owned);
        rules::merge(&mut self.findings, rules::message(what, &answer));
        self.findings
            .extend(rules::timing(what, endpoint.as_deref(), elapsed));
        Ok(answer)
    }

    async fn accept_grant(&mut self, user: &str) -> Result<(), BoxError> {
        let directive = json!({"directive": {
        "header": header("Alexa.Authorization", "AcceptGrant", false),
        "payload": {
            "grant": {"type": "OAuth2.AuthorizationCode", "code": "certify-grant-code"},
            "grantee": {"type": "BearerToken", "token": self.tokens[user]},
        }}});
        let answer = self.invoke("AcceptGrant", &directive).await?;
        if answer["event"]["header"]["name"] != "AcceptGrant.Response" {
            return Err(format!("AcceptGrant for {user} was answered {answer}").into());
        }
        Ok(())
    }

    /// Discovers `user`'s endpoints, holding them to the discovery rules.
    async fn discover(&mut self, user: &str) -> Result<Vec<Endpoint>, BoxError> {
        let directive = json!({"directive": {
            "header": header("Alexa.Discovery", "Discover", false),
            "payload": {"scope": {"type": "BearerToken", "token": self.tokens[user]}}}});
        let answer = self.invoke("Discover", &directive).await?;
        let discovered = answer["event"]["payload"]["endpoints"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let devices = &self.devices;
        let item = |id: &str| {
            devices.get(&(user.to_owned(), id.to_owned())).map(|d| {
                (
                    !d.definition.manufacturer.is_empty(),
                    d.definition.model.is_some(),
                )
            })
        };
        rules::merge(&mut self.findings, rules::endpoints(&discovered, &item));
        let mut endpoints = Vec::new();
        for e in &discovered {
            let id = e["endpointId"].as_str().unwrap_or_default().to_owned();
            let Some(device) = self.devices.get(&(user.to_owned(), id.clone())) else {
                continue;
            };
            endpoints.push(Endpoint {
                user: user.to_owned(),
                cookie: e.get("cookie").cloned().unwrap_or_else(|| json!({})),
                properties: rules::properties(e),
                device: device.clone(),
                id,
            });
        }
        // The catalogue's devices discovery left out are named: Alexa would never see them.
        for ((u, id), _) in self.devices.range((user.to_owned(), String::new())..) {
            if u != user {
                break;
            }
            if !endpoints.iter().any(|e| &e.id == id) {
                rules::merge(
                    &mut self.findings,
                    [Finding {
                        rule: "every device discovered",
                        endpoint: Some(id.clone()),
                        detail:
                            "the device item is not in the Discover answer (see the skill's log)"
                                .into(),
                        first_seen: "Discover".into(),
                        occurrences: 1,
                        warning: false,
                    }],
                );
            }
        }
        Ok(endpoints)
    }

    /// Every case of every plan against `endpoint`.
    async fn certify(
        &mut self,
        endpoint: &Endpoint,
        plans: &[Plan],
    ) -> Result<EndpointReport, BoxError> {
        let adapter = self.clouds.adapter_for(&endpoint.device);
        let mut report = EndpointReport {
            endpoint_id: endpoint.id.clone(),
            name: endpoint.device.definition.name.clone(),
            device_cloud: adapter.to_string(),
            not_run: None,
            cases: Vec::new(),
        };
        if adapter == Adapter::Https {
            report.not_run = Some(
                "its commands go to the maker's HTTPS API, which a local run cannot stand in for: \
                 run your API's own tests, or certify a catalogue with the device's commands \
                 routed through the table or IoT"
                    .into(),
            );
            return Ok(report);
        }
        let mut last = self.report_state(endpoint, "ReportState").await?;
        for plan in plans {
            // A plan none of whose cases apply (a thermostat's for a bulb) is not reported.
            if plan
                .test_cases
                .iter()
                .all(|case| cases::applies(&endpoint.device, case).is_err())
            {
                continue;
            }
            for case in &plan.test_cases {
                let outcome = match cases::applies(&endpoint.device, case) {
                    Err(why) => (Outcome::Skipped(why), Vec::new()),
                    Ok(()) => self.run_case(endpoint, case, &mut last).await?,
                };
                report.cases.push(CaseResult {
                    plan: plan.name.clone(),
                    case: case.name.clone(),
                    outcome: outcome.0,
                    desired: outcome.1,
                });
            }
        }
        Ok(report)
    }

    /// One case: its set-ups, each followed by a ReportState that must report the set-up's
    /// state; its directive; a ReportState that must report every expected state.
    async fn run_case(
        &mut self,
        endpoint: &Endpoint,
        case: &Case,
        last: &mut Value,
    ) -> Result<(Outcome, Vec<Value>), BoxError> {
        let mut desired = Vec::new();
        for setup in &case.initial_setups {
            let what = format!("{} set-up {}", case.name, name_of(&setup.directive));
            let (answer, state) = self
                .step(endpoint, &setup.directive, &what, last, &mut desired)
                .await?;
            if let Some(refused) = refusal(&answer) {
                return Ok((
                    Outcome::Failed(format!("{what}: answered {refused}")),
                    desired,
                ));
            }
            let wanted = &setup.capability_state;
            let tolerance = case.tolerance(&wanted.namespace, &wanted.name);
            let got = cases::reported(&state, wanted);
            if !got.is_some_and(|v| cases::matches(wanted, v, tolerance)) {
                return Ok((
                    Outcome::Failed(format!(
                        "set-up state not reached after {}: {}",
                        name_of(&setup.directive),
                        expected_against(wanted, got)
                    )),
                    desired,
                ));
            }
        }
        let what = format!("{} {}", case.name, name_of(&case.directive));
        let (answer, state) = self
            .step(endpoint, &case.directive, &what, last, &mut desired)
            .await?;
        if let Some(refused) = refusal(&answer) {
            return Ok((
                Outcome::Failed(format!("{what}: answered {refused}")),
                desired,
            ));
        }
        let wrong: Vec<String> = case
            .expected_capability_states
            .iter()
            .filter_map(|wanted| {
                let got = cases::reported(&state, wanted);
                let tolerance = case.tolerance(&wanted.namespace, &wanted.name);
                (!got.is_some_and(|v| cases::matches(wanted, v, tolerance)))
                    .then(|| expected_against(wanted, got))
            })
            .collect();
        Ok((
            if wrong.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed(wrong.join("; "))
            },
            desired,
        ))
    }

    /// A directive of a plan, the device's part (an IoT device reports what it was asked), the
    /// stream's events, and a ReportState: the answer and the state reported. A state that
    /// changed must have been told with a ChangeReport.
    async fn step(
        &mut self,
        endpoint: &Endpoint,
        directive: &PlanDirective,
        what: &str,
        last: &mut Value,
        desired: &mut Vec<Value>,
    ) -> Result<(Value, Value), BoxError> {
        let payload = directive.payload.clone().unwrap_or_else(|| json!({}));
        let message = self.directive(
            endpoint,
            &directive.header.namespace,
            &directive.header.name,
            payload,
        );
        let answer = self.invoke(what, &message).await?;
        if answer["event"]["header"]["name"] == "Response" {
            rules::merge(
                &mut self.findings,
                rules::context(what, &endpoint.id, &answer, &endpoint.properties),
            );
        }
        if self.clouds.adapter_for(&endpoint.device) == Adapter::Iot && refusal(&answer).is_none() {
            let thing = endpoint.device.thing();
            let shadow = endpoint.device.shadow_name.as_deref();
            let asked = self.shadows.desired(thing, shadow).await?;
            let reported = (self.device)(&asked);
            self.shadows.report(thing, shadow, reported).await?;
            desired.push(asked);
        }
        self.pump.drain().await?;
        let state = self.report_state(endpoint, what).await?;
        let events = self.pump.fakes.received();
        let new = events.get(self.seen_events..).unwrap_or_default().to_vec();
        self.seen_events = events.len();
        for event in &new {
            rules::merge(&mut self.findings, rules::message("an event", event));
        }
        if values(&state) != values(last) {
            rules::merge(
                &mut self.findings,
                rules::change_reported(what, &endpoint.id, &new),
            );
        }
        *last = state.clone();
        Ok((answer, state))
    }

    async fn report_state(&mut self, endpoint: &Endpoint, what: &str) -> Result<Value, BoxError> {
        let message = self.directive(endpoint, "Alexa", "ReportState", json!({}));
        let answer = self
            .invoke(&format!("ReportState after {what}"), &message)
            .await?;
        if answer["event"]["header"]["name"] != "StateReport" {
            return Err(format!("ReportState of {} was answered {answer}", endpoint.id).into());
        }
        rules::merge(
            &mut self.findings,
            rules::context(
                &format!("ReportState after {what}"),
                &endpoint.id,
                &answer,
                &endpoint.properties,
            ),
        );
        Ok(answer)
    }

    /// A plan's directive as Alexa sends it: header, endpoint and scope added.
    fn directive(&self, endpoint: &Endpoint, namespace: &str, name: &str, payload: Value) -> Value {
        json!({"directive": {
            "header": header(namespace, name, true),
            "endpoint": {
                "scope": {"type": "BearerToken", "token": self.tokens[&endpoint.user]},
                "endpointId": endpoint.id,
                "cookie": endpoint.cookie,
            },
            "payload": payload,
        }})
    }
}

fn header(namespace: &str, name: &str, correlated: bool) -> Value {
    let mut header = json!({
        "namespace": namespace,
        "name": name,
        "payloadVersion": "3",
        "messageId": uuid::Uuid::new_v4().to_string(),
    });
    if correlated {
        header["correlationToken"] = json!(format!("certify-{}", uuid::Uuid::new_v4().simple()));
    }
    header
}

fn name_of(directive: &PlanDirective) -> String {
    let h = &directive.header;
    format!("{}.{}", h.namespace.trim_start_matches("Alexa."), h.name)
}

/// An ErrorResponse's type and message, if the answer is one.
fn refusal(answer: &Value) -> Option<String> {
    (answer["event"]["header"]["name"] == "ErrorResponse").then(|| {
        format!(
            "{} ({})",
            answer["event"]["payload"]["type"].as_str().unwrap_or("?"),
            answer["event"]["payload"]["message"].as_str().unwrap_or("")
        )
    })
}

fn expected_against(wanted: &plans::State, got: Option<&Value>) -> String {
    let compare = match wanted.compare {
        plans::Compare::EqualTo => "",
        plans::Compare::GreaterThan => "> ",
        plans::Compare::LessThan => "< ",
    };
    format!(
        "expected {}.{} {compare}{}, reported {}",
        wanted.namespace.trim_start_matches("Alexa."),
        wanted.name,
        wanted.value,
        got.map_or_else(|| "nothing".to_owned(), Value::to_string)
    )
}

/// A state report's values, without their sample times: what tells a change.
fn values(state: &Value) -> Vec<(Value, Value, Value, Value)> {
    state["context"]["properties"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["namespace"].clone(),
                p["name"].clone(),
                p["instance"].clone(),
                p["value"].clone(),
            )
        })
        .collect()
}
