//! `devicectl`: the device cloud's side, for local runs: create the tables, seed an account,
//! change devices, issue account-linking tokens, and send a directive through the skill.

// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::event::CauseType;
use alexa_smart_home::alexa::{BearerToken, Secret};
use alexa_smart_home::clock::Clock;
use alexa_smart_home::cloud::https::HttpsApi;
use alexa_smart_home::cloud::{Adapter, DeviceClouds};
use alexa_smart_home::config::Config;
use alexa_smart_home::config::linking::default_jwks_url;
use alexa_smart_home::device::properties::reportable;
use alexa_smart_home::device::{Connectivity, Device, DeviceCapability, DeviceState, LockState};
use alexa_smart_home::http;
use alexa_smart_home::ids::{EndpointId, UserId};
use alexa_smart_home::linking::{JwksSource, JwtConfig, LinkingConfig};
use alexa_smart_home::reconcile::trigger::Trigger;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::store::{
    DeviceStore, GrantStore, Segment, StateOutcome, StateWrite, TokenRecord, tables, unix_seconds,
};
use alexa_smart_home::stream::StreamProcessor;
use alexa_smart_home_local::certify;
use alexa_smart_home_local::fakes::FakeAmazon;
use alexa_smart_home_local::idp::{self, IdentityProvider};
use alexa_smart_home_local::maker::FakeMaker;
use alexa_smart_home_local::pump::{Pump, reconcile_function, use_fakes};
use alexa_smart_home_local::shadow::LocalShadows;
use alexa_smart_home_local::stream::{LocalStream, Start};
use alexa_smart_home_local::telemetry;
use clap::{Parser, Subcommand};

/// Configuration comes from the same environment variables as the Lambdas (docs/configuration.md).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Argon2 hash of an alarm panel's PIN, read from standard input (so that it stays
    /// out of the shell's history), for the device item's `pinHash`.
    HashPin,
    /// Create the tables if they are missing, then write the devices and tokens of a seed file.
    Setup {
        #[arg(long)]
        seed: Option<PathBuf>,
    },
    /// Send a directive (a JSON file, e.g. from events/) through the skill and print the answer.
    Invoke {
        file: PathBuf,
        /// Authorize it with a JWT for this customer instead of the file's token: a stand-in
        /// identity provider starts on 127.0.0.1, signs the token, and the skill runs with
        /// ACCOUNT_LINKING=jwt, fetching the stand-in's key set to check it.
        #[arg(long, value_name = "USER")]
        jwt_for: Option<String>,
        /// Print only the answer's name and, for Discover, its endpoint ids.
        #[arg(long)]
        summary: bool,
    },
    /// Run Amazon's capability-evaluation test plans and the checkable Works-with-Alexa rules
    /// against a catalogue (a seed file in the devices table's format), through the skill
    /// binary, on fresh tables of the local server; print the report, write it as JSON, and
    /// fail if anything failed (docs/certification.md).
    Certify {
        #[arg(long, default_value = "fixtures/example-account.json")]
        seed: PathBuf,
        /// Where the JSON report goes.
        #[arg(long, default_value = "target/certify/report.json")]
        json: PathBuf,
        /// The skill binary; by default the one beside devicectl.
        #[arg(long)]
        skill: Option<PathBuf>,
    },
    /// Run the stand-in identity provider on 127.0.0.1 until Ctrl-C: it serves its key set,
    /// userinfo, and tokens (`issue-token --jwt`), and prints the skill's settings for it.
    Idp {
        #[arg(long, default_value_t = 8766)]
        port: u16,
    },
    /// Print a customer's devices as the table holds them.
    List {
        #[arg(long)]
        user: UserId,
    },
    /// Create or replace a device from a JSON file in the device table's format.
    PutDevice { file: PathBuf },
    /// Add (or replace) a device from flags.
    AddDevice {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
        #[arg(long)]
        name: String,
        /// An Alexa display category.
        #[arg(long, default_value = "LIGHT")]
        category: String,
        /// A capability as the devices table names it (`power`, `brightness`, …: the device
        /// model's list of interfaces, docs/device-model.md); repeatable. Range, mode and
        /// toggle settings need their names and values: write those with put-device.
        #[arg(long = "capability", default_value = "power")]
        capabilities: Vec<String>,
        #[arg(long, default_value = "Example Devices")]
        manufacturer: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// Rename a device (what Alexa calls its friendly name).
    RenameDevice {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
        #[arg(long)]
        name: String,
    },
    /// Delete a device.
    DeleteDevice {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
    },
    /// Change a device's state as the device itself (or its app) would: each `--set` is a
    /// state field and a JSON value (`powerOn=true`, `brightness=40`, `thermostatMode=HEAT`).
    SetState {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
        #[arg(long = "set", required = true)]
        values: Vec<String>,
        /// What caused the change (the ChangeReport's cause).
        #[arg(long, default_value = "PHYSICAL_INTERACTION")]
        cause: String,
    },
    /// Play the device: report state as the device does, through its AWS IoT shadow when it is
    /// routed through IoT (the bridge then writes it into the table), else into the table.
    Report {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
        #[arg(long = "set", required = true)]
        values: Vec<String>,
    },
    /// Play the device: confirm its pending commands (it reports what each asked for).
    Confirm {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
    },
    /// Play the device: fail its pending commands. A lock reports `JAMMED`; another device
    /// reports where it ended up (`--set`). Alexa hears it, never what was asked for.
    Fail {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
        #[arg(long = "set")]
        values: Vec<String>,
    },
    /// Mark a device reachable (`OK`) or not (`UNREACHABLE`), as the device cloud would.
    SetConnectivity {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
        status: String,
        #[arg(long, default_value = "PERIODIC_POLL")]
        cause: String,
    },
    /// Print a device's state, and the properties Alexa is told.
    ShowState {
        #[arg(long)]
        user: UserId,
        #[arg(long)]
        endpoint_id: EndpointId,
    },
    /// Issue an account-linking token for a customer and print it: into the tokens table, or
    /// with `--jwt`, a JWT from a running `devicectl idp`.
    IssueToken {
        #[arg(long)]
        user: UserId,
        /// Ask the stand-in identity provider at this address (`devicectl idp`) for a JWT.
        #[arg(long, value_name = "IDP_URL", num_args = 0..=1, default_missing_value = "http://127.0.0.1:8766")]
        jwt: Option<String>,
        /// The token; a random one when absent.
        #[arg(long)]
        token: Option<String>,
        /// Lifetime in seconds; the token never expires when absent.
        #[arg(long)]
        expires_in: Option<u64>,
    },
    /// Reconcile customers: compare what Alexa was told with the devices table and send the
    /// difference to a fake event gateway on 127.0.0.1 (printed), as the reconcile Lambda does.
    Reconcile {
        /// A customer to reconcile (repeatable).
        #[arg(long, required_unless_present = "all")]
        user: Vec<UserId>,
        /// Every customer with a grant, as a scheduled pass reaches them.
        #[arg(long, conflicts_with = "user")]
        all: bool,
    },
    /// The proactive path, locally: fake LWA and event gateway on 127.0.0.1, the customer's
    /// AcceptGrant, then the devices table's stream through the stream processor, printing every
    /// event the gateway receives. Runs until Ctrl-C; change devices from another terminal.
    LocalEvents {
        /// The AcceptGrant directive to send first.
        #[arg(
            long,
            default_value = "events/Authorization/Authorization.AcceptGrant.request.json"
        )]
        accept_grant: PathBuf,
        /// Add `porch-light` and delete `kitchen-plug` of the example account, turn the living
        /// room light on by voice and dim it at the switch, open the front door, set the fan
        /// speed, lock the front door through its (simulated) AWS IoT device, show the reports,
        /// and exit.
        #[arg(long)]
        demo: bool,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    telemetry::init_cli();
    match run(Cli::parse().command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("devicectl: {e}");
            ExitCode::FAILURE
        }
    }
}

use alexa_smart_home_local::pump::BoxError;

async fn run(command: Command) -> Result<(), BoxError> {
    // The identity provider's commands need no tables.
    let command = match command {
        Command::HashPin => {
            let mut pin = String::new();
            std::io::stdin().read_line(&mut pin)?;
            let pin = pin.trim();
            if !alexa_smart_home::device::pin::is_four_digits(pin) {
                return Err("a PIN is four digits".into());
            }
            let hash = alexa_smart_home::device::pin::PinHash::of(pin);
            println!(
                "{}",
                serde_json::to_value(&hash)?.as_str().unwrap_or_default()
            );
            return Ok(());
        }
        Command::Idp { port } => {
            let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
            let idp = IdentityProvider::start_on(listener, jsonwebtoken::Algorithm::RS256).await;
            eprintln!(
                "stand-in identity provider on {issuer} (Ctrl-C stops it). The skill's settings:\n  \
                 ACCOUNT_LINKING=jwt TOKEN_ISSUER={issuer} TOKEN_AUDIENCE={aud}\n\
                 A token: devicectl issue-token --jwt {issuer} --user example-user",
                issuer = idp.issuer(),
                aud = idp::AUDIENCE,
            );
            tokio::signal::ctrl_c().await?;
            return Ok(());
        }
        Command::IssueToken {
            user,
            jwt: Some(idp_url),
            expires_in,
            ..
        } => {
            let asked = serde_json::json!({"sub": user, "expires_in": expires_in.unwrap_or(3600)});
            let answer: serde_json::Value = reqwest::Client::new()
                .post(format!("{}/issue", idp_url.trim_end_matches('/')))
                .json(&asked)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            let token = answer["access_token"]
                .as_str()
                .ok_or("the identity provider answered no access_token")?;
            println!("{token}");
            return Ok(());
        }
        other => other,
    };
    let mut config = Config::from_env()?;
    // Locally, the IoT shadows are on the local server too: moto serves both.
    if config.iot_data_endpoint.is_none() {
        config.iot_data_endpoint = config.dynamodb_endpoint.clone();
    }
    let sdk = dynamo::sdk_config(&config).await?;
    let store = DynamoStore::new(dynamo::client(&config).await?, &config);
    let clouds = DeviceClouds::from_config(&config, Some(&sdk))?;
    let shadows = || {
        config
            .iot_data_endpoint
            .as_deref()
            .map(|endpoint| LocalShadows::new(endpoint, &sdk, store.clone()))
            .ok_or("IOT_DATA_ENDPOINT (or DYNAMODB_ENDPOINT) names no local IoT server")
    };
    match command {
        Command::Setup { seed } => {
            tables::create(store.client(), &config).await?;
            if let Some(path) = seed {
                let seed = Seed::from_json(&read(&path)?)?;
                seed.apply(&store).await?;
                for device in &seed.devices {
                    if clouds.adapter_for(device) == Adapter::Iot {
                        shadows()?.create_thing(device.thing()).await?;
                    }
                }
                eprintln!(
                    "seeded {} device(s) and {} token(s) from {}",
                    seed.devices.len(),
                    seed.tokens.len(),
                    path.display()
                );
            }
        }
        Command::Invoke {
            file,
            jwt_for,
            summary,
        } => {
            let mut directive = read(&file)?;
            // Kept for as long as the skill may fetch its key set.
            let mut _idp = None;
            if let Some(user) = jwt_for {
                let idp = IdentityProvider::start(jsonwebtoken::Algorithm::RS256).await;
                config.linking = LinkingConfig::Jwt(local_jwt_config(&idp.issuer()));
                let token = idp.access_token(&user);
                directive = with_token(&directive, &token)?;
                eprintln!(
                    "stand-in identity provider at {}: a JWT for {user}, signed with key {}; \
                     ACCOUNT_LINKING=jwt",
                    idp.issuer(),
                    idp.signing_key().kid
                );
                _idp = Some(idp);
            }
            let skill =
                Skill::from_config(store, &config, http::client()?)?.with_device_clouds(clouds);
            let answer = skill.handle(&directive).await;
            if let Some(idp) = &_idp {
                eprintln!(
                    "the skill fetched the key set {} time(s) to check the token",
                    idp.key_set_fetches()
                );
            }
            if summary {
                print_summary(answer.get())?;
            } else {
                print_pretty(answer.get())?;
            }
        }
        Command::List { user } => {
            let devices = store.devices::<Device>(&user).await?;
            print_pretty(&serde_json::to_string(&devices)?)?;
        }
        Command::PutDevice { file } => {
            let device: Device = serde_json::from_str(&read(&file)?)?;
            store.put_device(&device).await?;
        }
        Command::AddDevice {
            user,
            endpoint_id,
            name,
            category,
            capabilities,
            manufacturer,
            description,
        } => {
            let capabilities = capabilities
                .iter()
                .map(|c| capability(c))
                .collect::<Result<Vec<_>, _>>()?;
            let device: Device = serde_json::from_value(serde_json::json!({
                "userId": user,
                "endpointId": endpoint_id,
                "description": description.unwrap_or_else(|| format!("{name} by {manufacturer}")),
                "name": name,
                "manufacturer": manufacturer,
                "category": category,
                "capabilities": capabilities,
            }))?;
            store.put_device(&device).await?;
        }
        Command::RenameDevice {
            user,
            endpoint_id,
            name,
        } => {
            let mut device = store
                .device(&user, &endpoint_id)
                .await?
                .ok_or_else(|| format!("no device {endpoint_id} for {user}"))?;
            device.definition.name = name;
            store.put_device(&device).await?;
        }
        Command::DeleteDevice { user, endpoint_id } => {
            store.delete_device(&user, &endpoint_id).await?
        }
        Command::SetState {
            user,
            endpoint_id,
            values,
            cause,
        } => {
            let state = parse_state(&values)?;
            write_state(&store, &user, &endpoint_id, state, None, &cause).await?;
        }
        Command::Report {
            user,
            endpoint_id,
            values,
        } => {
            let device = find(&store, &user, &endpoint_id).await?;
            let state = parse_state(&values)?;
            device_reports(&store, &clouds, &shadows, &device, state).await?;
        }
        Command::Confirm { user, endpoint_id } => {
            let device = find(&store, &user, &endpoint_id).await?;
            if device.pending.is_empty() {
                return Err(format!("{endpoint_id} has no command waiting for it").into());
            }
            for pending in &device.pending {
                device_reports(&store, &clouds, &shadows, &device, pending.expect.clone()).await?;
            }
        }
        Command::Fail {
            user,
            endpoint_id,
            values,
        } => {
            let device = find(&store, &user, &endpoint_id).await?;
            let state = if !values.is_empty() {
                parse_state(&values)?
            } else if device.pending.iter().any(|p| p.expect.lock_state.is_some()) {
                DeviceState {
                    lock_state: Some(LockState::Jammed),
                    ..DeviceState::default()
                }
            } else {
                return Err("say where the device ended up: --set FIELD=VALUE".into());
            };
            device_reports(&store, &clouds, &shadows, &device, state).await?;
        }
        Command::SetConnectivity {
            user,
            endpoint_id,
            status,
            cause,
        } => {
            let connectivity: Connectivity =
                serde_json::from_value(serde_json::Value::from(status))?;
            write_state(
                &store,
                &user,
                &endpoint_id,
                DeviceState::default(),
                Some(connectivity),
                &cause,
            )
            .await?;
        }
        Command::ShowState { user, endpoint_id } => {
            let device = store
                .device(&user, &endpoint_id)
                .await?
                .ok_or_else(|| format!("no device {endpoint_id} for {user}"))?;
            let properties = reportable(&device, Clock::system().now_ms());
            let view = serde_json::json!({
                "state": device.state,
                "connectivity": device.connectivity,
                "sampledAt": device.sampled_at,
                "changedBy": device.changed_by,
                "alexaProperties": properties,
            });
            print_pretty(&view.to_string())?;
        }
        Command::Reconcile { user, all } => {
            let fakes = FakeAmazon::start(true).await;
            use_fakes(&mut config, &fakes);
            let function = reconcile_function(store, &config).await?;
            // Every customer now, whatever the scheduled passes have done (a scheduled invocation
            // does nothing while the last pass is done and the next not due).
            let trigger = if all {
                let (mut users, mut cursor) = (Vec::new(), None);
                loop {
                    let (page, next) = function
                        .reconciler()
                        .store()
                        .customers(Segment::ALL, cursor.as_deref(), 1000)
                        .await?;
                    users.extend(page);
                    cursor = next;
                    if cursor.is_none() {
                        break Trigger::Customers(users);
                    }
                }
            } else {
                Trigger::Customers(user)
            };
            let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
            let summary = function.handle(trigger, deadline).await;
            print_pretty(&summary.to_string())?;
        }
        Command::LocalEvents { accept_grant, demo } => {
            let shadows = shadows()?;
            local_events(config, store, clouds, shadows, &accept_grant, demo).await?
        }
        Command::Certify { seed, json, skill } => {
            let skill = match skill {
                Some(path) => path,
                None => std::env::current_exe()?.with_file_name("skill"),
            };
            let options = certify::Options {
                catalogue: Seed::from_json(&read(&seed)?)?,
                skill,
                config,
                plans: certify::plans::Sources::for_repository(&std::env::current_dir()?),
                device: certify::faithful(),
            };
            let report = certify::run(options).await?;
            print!("{}", report.text());
            if let Some(dir) = json.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&json, serde_json::to_string_pretty(&report)?)?;
            eprintln!("the report as JSON: {}", json.display());
            if !report.summary.passed_all {
                return Err("the certification failed (see the report above)".into());
            }
        }
        Command::HashPin | Command::Idp { .. } | Command::IssueToken { jwt: Some(_), .. } => {
            unreachable!("answered before the tables are needed")
        }
        Command::IssueToken {
            user,
            token,
            expires_in,
            jwt: None,
        } => {
            let token = BearerToken::new(
                token.unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string()),
            );
            let expires_at =
                expires_in.map(|s| unix_seconds(SystemTime::now() + Duration::from_secs(s)));
            store
                .put_token(
                    &token,
                    &TokenRecord {
                        user_id: user,
                        expires_at,
                    },
                )
                .await?;
            // Printing the token is the point of this command; it goes nowhere else.
            println!("{}", token.expose());
        }
    }
    Ok(())
}

/// The skill's `jwt` settings for the stand-in identity provider at `issuer`.
fn local_jwt_config(issuer: &str) -> JwtConfig {
    JwtConfig {
        issuer: issuer.to_owned(),
        audience: idp::AUDIENCE.to_owned(),
        algorithms: vec![
            jsonwebtoken::Algorithm::RS256,
            jsonwebtoken::Algorithm::ES256,
        ],
        user_claim: "sub".to_owned(),
        required_scopes: Vec::new(),
        leeway: Duration::from_secs(30),
        key_set: JwksSource::Url(default_jwks_url(issuer)),
        refetch_interval: Duration::from_secs(60),
        timeout: Duration::from_secs(2),
    }
}

/// `directive` (JSON) with its bearer token (of the scope or the grantee) replaced.
fn with_token(directive: &str, token: &str) -> Result<String, BoxError> {
    let mut v: serde_json::Value = serde_json::from_str(directive)?;
    for at in [
        "/directive/payload/scope/token",
        "/directive/endpoint/scope/token",
        "/directive/payload/grantee/token",
    ] {
        if let Some(slot) = v.pointer_mut(at) {
            *slot = serde_json::Value::from(token);
        }
    }
    Ok(v.to_string())
}

/// A state from `FIELD=VALUE` pairs, each value JSON (or else a string).
fn parse_state(values: &[String]) -> Result<DeviceState, BoxError> {
    let mut patch = serde_json::Map::new();
    for pair in values {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("{pair:?} is not FIELD=VALUE"))?;
        let value = serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::from(value));
        patch.insert(key.to_owned(), value);
    }
    let state: DeviceState = serde_json::from_value(serde_json::Value::Object(patch.clone()))?;
    // Fields the model does not know would be silently dropped, or kept as a setting no
    // capability reads: refuse them. Settings are named by their instance, which has a dot
    // (`Fan.Speed=3`).
    if let serde_json::Value::Object(known) = serde_json::to_value(&state)?
        && let Some(unknown) = patch.keys().find(|k| {
            !known.contains_key(*k) || (state.settings.contains_key(*k) && !k.contains('.'))
        })
    {
        return Err(format!("unknown state field {unknown:?}").into());
    }
    Ok(state)
}

async fn find(
    store: &DynamoStore,
    user: &UserId,
    endpoint_id: &EndpointId,
) -> Result<Device, BoxError> {
    Ok(store
        .device(user, endpoint_id)
        .await?
        .ok_or_else(|| format!("no device {endpoint_id} for {user}"))?)
}

/// The device reports `state`: to its shadow when it is routed through IoT (the topic rule
/// then hands the shadow's documents to the bridge), else straight into the table.
async fn device_reports(
    store: &DynamoStore,
    clouds: &DeviceClouds,
    shadows: &impl Fn() -> Result<LocalShadows<DynamoStore>, &'static str>,
    device: &Device,
    state: DeviceState,
) -> Result<(), BoxError> {
    if clouds.adapter_for(device) == Adapter::Iot {
        let outcome = shadows()?
            .report(
                device.thing(),
                device.shadow_name.as_deref(),
                serde_json::to_value(&state)?,
            )
            .await?;
        eprintln!("shadow of {} updated; bridge: {outcome:?}", device.thing());
        Ok(())
    } else {
        write_state(
            store,
            &device.definition.user_id,
            &device.definition.endpoint_id,
            state,
            None,
            "PHYSICAL_INTERACTION",
        )
        .await
    }
}

/// Writes a device-side state change, as the device cloud does when a device reports.
async fn write_state(
    store: &DynamoStore,
    user: &UserId,
    endpoint_id: &EndpointId,
    patch: DeviceState,
    connectivity: Option<Connectivity>,
    cause: &str,
) -> Result<(), BoxError> {
    let cause: CauseType = serde_json::from_value(serde_json::Value::from(cause))?;
    let write = StateWrite {
        patch,
        connectivity,
        expected: None,
        cause,
        at_ms: Clock::system().now_ms(),
        shadow_version: None,
        unless_reported: None,
        answered: false,
    };
    match store.update_state(user, endpoint_id, &write).await? {
        StateOutcome::Written(_) => Ok(()),
        StateOutcome::Missing => Err(format!("no device {endpoint_id} for {user}").into()),
        StateOutcome::Conflict => Err("the state changed meanwhile".into()),
    }
}

/// A capability from its devices-table name; a thermostat gets the common modes.
fn capability(name: &str) -> Result<serde_json::Value, BoxError> {
    let value = match name {
        "thermostat" => serde_json::json!({"type": name, "modes": ["HEAT", "COOL", "AUTO", "OFF"]}),
        _ => serde_json::json!({"type": name}),
    };
    match serde_json::from_value::<DeviceCapability>(value.clone())? {
        DeviceCapability::Unknown => Err(format!("unknown capability {name:?}").into()),
        _ => Ok(value),
    }
}

async fn local_events(
    mut config: Config,
    store: DynamoStore,
    clouds: DeviceClouds,
    shadows: LocalShadows<DynamoStore>,
    accept_grant: &PathBuf,
    demo: bool,
) -> Result<(), BoxError> {
    let endpoint = config
        .dynamodb_endpoint
        .clone()
        .ok_or("local-events needs DYNAMODB_ENDPOINT (a local DynamoDB-compatible server)")?;
    let fakes = FakeAmazon::start(true).await;
    use_fakes(&mut config, &fakes);
    eprintln!(
        "fake LWA at {}, fake gateway at {}",
        fakes.lwa_token_url(),
        fakes.gateway_url()
    );
    // The grants table's stream triggers the reconciler, as in AWS: AcceptGrant's write asks
    // for the customer's reconciliation, which tells Alexa the whole account.
    let grants = LocalStream::open(
        &endpoint,
        &config.aws_region,
        &config.grants_table,
        Start::Latest,
    )
    .await?;
    let reconciler = reconcile_function(store.clone(), &config).await?;

    // The maker's API, for the cameras' streams (and any device routed to it).
    let maker = FakeMaker::start(true).await;
    let mut clouds = clouds;
    clouds.https = Some(std::sync::Arc::new(HttpsApi::new(
        maker.url(),
        Secret::new(alexa_smart_home_local::maker::SECRET),
        config.device_api_timeout,
    )?));
    eprintln!("fake maker's API at {}", maker.url());
    let skill =
        Skill::from_config(store.clone(), &config, http::client()?)?.with_device_clouds(clouds);
    eprintln!("AcceptGrant from {}:", accept_grant.display());
    print_pretty(skill.handle(&read(accept_grant)?).await.get())?;

    const USER: &str = "example-user";
    if demo {
        // A device left over from an earlier demo would make the add a no-op update.
        store
            .delete_device(&USER.into(), &"porch-light".into())
            .await?;
    }
    let stream = LocalStream::open(
        &endpoint,
        &config.aws_region,
        &config.devices_table,
        Start::Latest,
    )
    .await?;
    let processor = StreamProcessor::from_config(store.clone(), &config, http::client()?);
    let mut pump = Pump {
        stream,
        processor,
        grants,
        reconciler,
        fakes,
    };
    if demo {
        eprintln!(
            "\n== the grants table's stream: the reconciler tells Alexa the whole account =="
        );
        pump.until(|e| e["event"]["header"]["name"] == "AddOrUpdateReport")
            .await?;
    }
    if !demo {
        eprintln!("watching the devices table's stream; press Ctrl-C to stop");
        let mut interrupted = std::pin::pin!(tokio::signal::ctrl_c());
        loop {
            tokio::select! {
                _ = &mut interrupted => return Ok(()),
                pumped = pump.once() => if !pumped? {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                },
            }
        }
    }

    eprintln!("\n== the device cloud adds porch-light and deletes kitchen-plug of {USER} ==");
    let porch: Device = serde_json::from_value(serde_json::json!({
        "userId": USER, "endpointId": "porch-light", "name": "Porch Light",
        "description": "Outdoor smart bulb by Example Devices", "manufacturer": "Example Devices",
        "category": "LIGHT", "capabilities": [{"type": "power"}, {"type": "brightness"}],
    }))?;
    store.put_device(&porch).await?;
    store
        .delete_device(&USER.into(), &"kitchen-plug".into())
        .await?;
    pump.until(|e| has_endpoint(e, "AddOrUpdateReport", "porch-light"))
        .await?;
    pump.until(|e| has_endpoint(e, "DeleteReport", "kitchen-plug"))
        .await?;

    let file = "events/PowerController/PowerController.TurnOn.request.json";
    eprintln!("\n== Alexa: \"turn on the living room light\" ({file}) ==");
    let turn_on = read(&PathBuf::from(file))?;
    print_pretty(skill.handle(&turn_on).await.get())?;
    pump.until(|e| is_change(e, "living-room-light", "VOICE_INTERACTION"))
        .await?;

    eprintln!("\n== the light itself: dimmed to 30 % at its wall switch ==");
    let dimmed = DeviceState {
        brightness: Some(30),
        ..DeviceState::default()
    };
    write_state(
        &store,
        &USER.into(),
        &"living-room-light".into(),
        dimmed,
        None,
        "PHYSICAL_INTERACTION",
    )
    .await?;
    pump.until(|e| is_change(e, "living-room-light", "PHYSICAL_INTERACTION"))
        .await?;

    eprintln!("\n== the front door opens: its contact sensor reports it ==");
    let opened = DeviceState {
        contact_open: Some(true),
        ..DeviceState::default()
    };
    write_state(
        &store,
        &USER.into(),
        &"front-door-contact".into(),
        opened,
        None,
        "PHYSICAL_INTERACTION",
    )
    .await?;
    pump.until(|e| is_change(e, "front-door-contact", "PHYSICAL_INTERACTION"))
        .await?;

    let file = "events/RangeController/RangeController.SetRangeValue.request.json";
    eprintln!("\n== Alexa: \"set the bedroom fan speed to 3\" ({file}) ==");
    let speed = read(&PathBuf::from(file))?;
    print_pretty(skill.handle(&speed).await.get())?;
    pump.until(|e| is_change(e, "bedroom-fan", "VOICE_INTERACTION"))
        .await?;

    eprintln!(
        "\n== the front door lock is connected through AWS IoT Core (thing front-door-lock); \
         someone unlocks it by hand =="
    );
    let mut lock = store
        .device(&USER.into(), &"front-door-lock".into())
        .await?
        .ok_or("the example account has no front-door-lock")?;
    lock.definition.device_cloud = Some(Adapter::Iot);
    lock.thing_name = Some("front-door-lock".into());
    lock.pending.clear();
    store.put_device(&lock).await?;
    shadows.create_thing(lock.thing()).await?;
    shadows
        .report(
            lock.thing(),
            None,
            serde_json::json!({"lockState": "UNLOCKED"}),
        )
        .await?;
    pump.until(|e| is_change(e, "front-door-lock", "PHYSICAL_INTERACTION"))
        .await?;

    let file = "events/LockController/LockController.Lock.request.json";
    eprintln!("\n== Alexa: \"lock the front door\" ({file}): the lock must confirm ==");
    let lock_directive = read(&PathBuf::from(file))?;
    let correlation = serde_json::from_str::<serde_json::Value>(&lock_directive)?
        ["directive"]["header"]["correlationToken"]
        .clone();
    print_pretty(skill.handle(&lock_directive).await.get())?;
    eprintln!(
        "desired state of the shadow: {}",
        shadows.desired(lock.thing(), None).await?
    );
    // The pending command's own record: nothing to tell Alexa yet.
    pump.once().await?;
    eprintln!("\n== the lock turns its bolt (2 s), then reports LOCKED to its shadow ==");
    tokio::time::sleep(Duration::from_secs(2)).await;
    shadows
        .report(
            lock.thing(),
            None,
            serde_json::json!({"lockState": "LOCKED"}),
        )
        .await?;
    pump.until(|e| {
        e["event"]["header"]["name"] == "Response"
            && e["event"]["header"]["correlationToken"] == correlation
    })
    .await?;
    pump.until(|e| is_change(e, "front-door-lock", "VOICE_INTERACTION"))
        .await?;

    eprintln!("\n== someone presses the front door bell: the device side records the press ==");
    let pressed = DeviceState {
        doorbell_pressed_at: Some(Clock::system().now_ms()),
        ..DeviceState::default()
    };
    write_state(
        &store,
        &USER.into(),
        &"front-door-doorbell".into(),
        pressed,
        None,
        "PHYSICAL_INTERACTION",
    )
    .await?;
    pump.until(|e| {
        e["event"]["header"]["name"] == "DoorbellPress"
            && e["event"]["endpoint"]["endpointId"] == "front-door-doorbell"
    })
    .await?;

    let file =
        "events/CameraStreamController/CameraStreamController.InitializeCameraStreams.request.json";
    eprintln!("\n== Alexa: \"show the front door camera\" ({file}, aimed at the doorbell) ==");
    let mut show: serde_json::Value = serde_json::from_str(&read(&PathBuf::from(file))?)?;
    show["directive"]["endpoint"]["endpointId"] = "front-door-doorbell".into();
    print_pretty(skill.handle(&show.to_string()).await.get())?;

    let file = "events/SecurityPanelController/SecurityPanelController.Arm.request.json";
    eprintln!("\n== Alexa: \"arm the alarm\" ({file}) ==");
    print_pretty(skill.handle(&read(&PathBuf::from(file))?).await.get())?;
    pump.until(|e| is_arm_change(e, "ARMED_AWAY")).await?;
    let file = "events/SecurityPanelController/SecurityPanelController.Disarm.request.json";
    let mut disarm: serde_json::Value = serde_json::from_str(&read(&PathBuf::from(file))?)?;
    disarm["directive"]["payload"]["authorization"]["value"] = "9999".into();
    eprintln!("\n== Alexa: \"disarm the alarm\", with a wrong PIN ==");
    print_pretty(skill.handle(&disarm.to_string()).await.get())?;
    eprintln!("\n== Alexa: \"disarm the alarm\", with the right PIN ({file}) ==");
    print_pretty(skill.handle(&read(&PathBuf::from(file))?).await.get())?;
    pump.until(|e| is_arm_change(e, "DISARMED")).await?;

    eprintln!("\n== reconciliation of {USER}: what Alexa was told against the devices table ==");
    let before = pump.fakes.received().len();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    let summary = pump
        .reconciler
        .handle(Trigger::Customers(vec![USER.into()]), deadline)
        .await;
    let sent = pump.fakes.received().len() - before;
    if summary["inSync"] == 1 && sent == 0 {
        eprintln!("nothing to do: Alexa has every endpoint of {USER} as the table holds it");
        Ok(())
    } else {
        Err(format!("reconciliation found differences ({sent} event(s) sent): {summary}").into())
    }
}

/// Points LWA and the event gateway at the local fakes.
fn has_endpoint(event: &serde_json::Value, name: &str, endpoint_id: &str) -> bool {
    event["event"]["header"]["name"] == name
        && event["event"]["payload"]["endpoints"]
            .as_array()
            .is_some_and(|list| list.iter().any(|x| x["endpointId"] == endpoint_id))
}

fn is_change(event: &serde_json::Value, endpoint_id: &str, cause: &str) -> bool {
    event["event"]["header"]["name"] == "ChangeReport"
        && event["event"]["endpoint"]["endpointId"] == endpoint_id
        && event["event"]["payload"]["change"]["cause"]["type"] == cause
}

/// The alarm panel's ChangeReport to `state`, by voice.
fn is_arm_change(event: &serde_json::Value, state: &str) -> bool {
    is_change(event, "home-alarm-panel", "VOICE_INTERACTION")
        && event["event"]["payload"]["change"]["properties"]
            .as_array()
            .is_some_and(|p| {
                p.iter()
                    .any(|p| p["name"] == "armState" && p["value"] == state)
            })
}

/// Pretty-prints JSON in its own field order (a `Value` would sort the keys).
/// An answer's name, and the endpoints of a Discover answer.
fn print_summary(json: &str) -> Result<(), BoxError> {
    let v: serde_json::Value = serde_json::from_str(json)?;
    let event = &v["event"];
    let name = event["header"]["name"].as_str().unwrap_or("?");
    match event["payload"]["endpoints"].as_array() {
        Some(endpoints) => {
            let ids: Vec<&str> = endpoints
                .iter()
                .filter_map(|e| e["endpointId"].as_str())
                .collect();
            println!("{name}: {} endpoints ({})", ids.len(), ids.join(", "));
        }
        None => println!("{name}: {}", event["payload"]),
    }
    Ok(())
}

fn print_pretty(json: &str) -> Result<(), BoxError> {
    let mut out = std::io::stdout().lock();
    let mut de = serde_json::Deserializer::from_str(json);
    let mut ser = serde_json::Serializer::pretty(&mut out);
    serde_transcode::transcode(&mut de, &mut ser)?;
    writeln!(out)?;
    Ok(())
}

fn read(path: &PathBuf) -> Result<String, BoxError> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}
