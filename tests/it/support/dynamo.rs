//! A real DynamoDB-compatible server (moto) on 127.0.0.1 for the tests.
//!
//! `DYNAMODB_ENDPOINT` names a running one (as `make test` does); without it, the first test
//! that needs one starts moto (scripts/moto_server_serial.py, or `$MOTO_SERVER`) on a free port, and the
//! kernel stops it when the test process ends. Every test gets its own tables.

use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use alexa_smart_home::config::Config;
use alexa_smart_home::store::dynamo::{self, DynamoStore};
use alexa_smart_home::store::tables;

static ENDPOINT: OnceLock<String> = OnceLock::new();

pub fn endpoint() -> &'static str {
    ENDPOINT.get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => spawn_moto(),
    })
}

/// A server for a test that sends hundreds of requests (a certification run): moto runs one
/// request at a time, so on the shared one every other test would queue behind it. A moto of
/// its own, shared by such tests; against another server (`DYNAMODB_ENDPOINT`, DynamoDB Local,
/// which serves requests side by side), that one.
pub fn busy_endpoint() -> &'static str {
    static BUSY: OnceLock<String> = OnceLock::new();
    BUSY.get_or_init(|| match std::env::var("DYNAMODB_ENDPOINT") {
        Ok(url) if !url.is_empty() => url,
        _ => spawn_moto(),
    })
}

pub fn spawn_moto() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // `MOTO_SERVER` names another server binary; by default moto runs one request at a time
    // (scripts/moto_server_serial.py says why).
    let (program, script) = match std::env::var("MOTO_SERVER") {
        Ok(program) => (program, None),
        Err(_) => (
            super::repo_path(".venv/bin/python").display().to_string(),
            Some(
                super::repo_path("scripts/moto_server_serial.py")
                    .display()
                    .to_string(),
            ),
        ),
    };
    // The server is started from a thread that lives as long as the process: PR_SET_PDEATHSIG
    // fires when the *thread* that forked it ends, and test threads end early.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::os::unix::process::CommandExt;
        let mut command = Command::new(&program);
        command
            .args(script)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command.spawn();
        let _ = tx.send(child.as_ref().map(|_| ()).map_err(|e| e.to_string()));
        if let Ok(mut child) = child {
            let _ = child.wait();
        }
    });
    if let Err(e) = rx.recv().unwrap() {
        panic!(
            "cannot start {}: {e}; run `make test` (it installs the local server into .venv)",
            "moto_server"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "moto_server did not start on port {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    format!("http://127.0.0.1:{port}")
}

/// A store on fresh, uniquely named tables of the local server.
pub struct TestTables {
    pub config: Config,
    pub store: DynamoStore,
}

impl TestTables {
    pub async fn new() -> Self {
        Self::with_page_size(None).await
    }

    /// Fresh tables holding `fixtures/example-account.json`, as `devicectl setup` seeds it.
    pub async fn example_account() -> Self {
        let tables = Self::new().await;
        alexa_smart_home::store::seed::Seed::from_json(&super::read(
            "fixtures/example-account.json",
        ))
        .unwrap()
        .apply(&tables.store)
        .await
        .unwrap();
        tables
    }

    /// The environment a Lambda binary needs to use these tables on the local server.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        let c = &self.config;
        vec![
            (
                "DYNAMODB_ENDPOINT",
                c.dynamodb_endpoint.clone().unwrap_or_default(),
            ),
            ("AWS_REGION", c.aws_region.clone()),
            ("DEVICES_TABLE", c.devices_table.clone()),
            ("TOKENS_TABLE", c.tokens_table.clone()),
            ("GRANTS_TABLE", c.grants_table.clone()),
            ("ALEXA_VIEW_TABLE", c.alexa_view_table.clone()),
        ]
    }

    pub async fn with_page_size(page_size: Option<i32>) -> Self {
        let prefix = format!("t{}", uuid::Uuid::new_v4().simple());
        let mut config = Config::local(endpoint());
        config.devices_table = format!("{prefix}-devices");
        config.tokens_table = format!("{prefix}-tokens");
        config.grants_table = format!("{prefix}-grants");
        config.alexa_view_table = format!("{prefix}-alexa-view");
        config.devices_page_size = page_size;
        let client = dynamo::client(&config).await.unwrap();
        tables::create(&client, &config)
            .await
            .expect("creating the test tables");
        let store = DynamoStore::new(client, &config);
        Self { config, store }
    }
}
