//! `devicectl`: the device cloud's side, for local runs: create the tables, seed an account,
//! change devices, issue account-linking tokens, and send a directive through the skill.

// The SDK's deeply nested futures exceed the compiler's default layout depth.
#![recursion_limit = "256"]

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::BearerToken;
use alexa_smart_home::config::Config;
use alexa_smart_home::device::Device;
use alexa_smart_home::skill::Skill;
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home::store::seed::Seed;
use alexa_smart_home::store::{Store, TokenRecord, tables, unix_seconds};
use alexa_smart_home::telemetry;
use clap::{Parser, Subcommand};

/// Configuration comes from the same environment variables as the Lambdas (see the README).
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the tables if they are missing, then write the devices and tokens of a seed file.
    Setup {
        #[arg(long)]
        seed: Option<PathBuf>,
    },
    /// Send a directive (a JSON file, e.g. from events/) through the skill and print the answer.
    Invoke { file: PathBuf },
    /// Print a customer's devices as the table holds them.
    List {
        #[arg(long)]
        user: String,
    },
    /// Create or replace a device from a JSON file in the device table's format.
    PutDevice { file: PathBuf },
    /// Delete a device.
    DeleteDevice {
        #[arg(long)]
        user: String,
        #[arg(long)]
        endpoint_id: String,
    },
    /// Issue an account-linking token for a customer and print it.
    IssueToken {
        #[arg(long)]
        user: String,
        /// The token; a random one when absent.
        #[arg(long)]
        token: Option<String>,
        /// Lifetime in seconds; the token never expires when absent.
        #[arg(long)]
        expires_in: Option<u64>,
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

type BoxError = Box<dyn std::error::Error>;

async fn run(command: Command) -> Result<(), BoxError> {
    let config = Config::from_env()?;
    let store = DynamoStore::new(dynamo::client(&config).await, &config);
    match command {
        Command::Setup { seed } => {
            tables::create(store.client(), &config.devices_table, &config.tokens_table).await?;
            if let Some(path) = seed {
                let seed = Seed::from_json(&read(&path)?)?;
                seed.apply(&store).await?;
                eprintln!(
                    "seeded {} device(s) and {} token(s) from {}",
                    seed.devices.len(),
                    seed.tokens.len(),
                    path.display()
                );
            }
        }
        Command::Invoke { file } => {
            let skill = Skill::new(store);
            let answer = skill.handle(&read(&file)?).await;
            print_pretty(answer.get())?;
        }
        Command::List { user } => {
            let devices = store.devices(&user).await?;
            print_pretty(&serde_json::to_string(&devices)?)?;
        }
        Command::PutDevice { file } => {
            let device: Device = serde_json::from_str(&read(&file)?)?;
            store.put_device(&device).await?;
        }
        Command::DeleteDevice { user, endpoint_id } => {
            store.delete_device(&user, &endpoint_id).await?
        }
        Command::IssueToken {
            user,
            token,
            expires_in,
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

/// Pretty-prints JSON in its own field order (a `Value` would sort the keys).
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
