//! The scheduled reconciliation pass, scaled out over segments of the grants table, on the
//! real local DynamoDB-compatible server: several invocations at once reconcile every
//! customer exactly once per pass, and a pass cut off mid-way goes on without skipping anyone.

use crate::support;

use std::collections::BTreeMap;
use std::time::Duration;

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::device::Device;
use alexa_smart_home::gateway::{Gateway, GatewayRegion};
use alexa_smart_home::http;
use alexa_smart_home::lwa::Lwa;
use alexa_smart_home::proactive::delivery::RetryPolicy;
use alexa_smart_home::reconcile::pass::{LEASE_MARGIN, scheduled};
use alexa_smart_home::reconcile::run::{Reconciler, Summary};
use alexa_smart_home::store::dynamo::DynamoStore;
use alexa_smart_home::store::{GrantStore, NewGrant, ViewStore, unix_seconds};
use serde_json::{Value, json};
use support::dynamo::TestTables;
use tokio::time::Instant;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const RUN: Duration = Duration::from_secs(120);

struct Setup {
    tables: TestTables,
    gateway: MockServer,
    clock: Clock,
}

/// `customers` customers of one light each, with grants whose access token names them, and
/// nothing told to Alexa yet; a gateway that accepts everything after `delay`.
async fn setup(customers: usize, delay: Duration) -> Setup {
    let mut tables = TestTables::new().await;
    let clock = Clock::stopped();
    for i in 0..customers {
        let user = format!("pass-customer-{i:03}");
        let device: Device = serde_json::from_value(json!({
            "userId": user, "endpointId": "lamp", "name": "Lamp", "description": "A lamp",
            "manufacturer": "Acme", "category": "LIGHT", "capabilities": [{"type": "power"}],
        }))
        .unwrap();
        tables.store.put_device(&device).await.unwrap();
        tables
            .store
            .put_grant(NewGrant {
                user_id: user.as_str().into(),
                access_token: Secret::new(format!("Atza|{user}")),
                refresh_token: Secret::new("Atzr|unused"),
                expires_at: unix_seconds(clock.now()) + 24 * 3600,
                region: GatewayRegion::NorthAmerica,
                granted_at: clock.now_ms(),
            })
            .await
            .unwrap();
    }
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(202).set_delay(delay))
        .mount(&gateway)
        .await;
    tables.config.event_gateway_url = Some(format!("{}/v3/events", gateway.uri()));
    Setup {
        tables,
        gateway,
        clock,
    }
}

impl Setup {
    /// One invocation's reconciler: `segments` a pass, `page` customers a page.
    fn reconciler(&self, segments: u32, page: usize) -> Reconciler<DynamoStore> {
        let mut config = self.tables.config.clone();
        config.reconcile_segments = segments;
        config.reconcile_page_size = page;
        Reconciler::new(
            self.tables.store.clone(),
            Lwa::from_config(http::client().unwrap(), &config),
            Gateway::new(http::client().unwrap(), config.event_gateway_url.clone()),
            RetryPolicy {
                resends: 1,
                min_delay: Duration::ZERO,
                jitter: Duration::ZERO,
            },
            &config,
        )
        .with_clock(self.clock.clone())
    }

    /// AddOrUpdateReports the gateway received, by the customer whose token they carry.
    async fn reports(&self) -> BTreeMap<String, usize> {
        let mut by_customer = BTreeMap::new();
        for request in self.gateway.received_requests().await.unwrap_or_default() {
            let event: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(event["event"]["header"]["name"], "AddOrUpdateReport");
            let token = request.headers["authorization"].to_str().unwrap();
            *by_customer
                .entry(token.trim_start_matches("Bearer Atza|").to_owned())
                .or_default() += 1;
        }
        by_customer
    }

    async fn pass_is_done(&self) -> bool {
        let (pass, progress) = self.tables.store.pass_progress().await.unwrap();
        let pass = pass.expect("a pass");
        (0..pass.segments).all(|i| {
            progress
                .iter()
                .any(|s| s.index == i && s.pass == pass.number && s.done)
        })
    }
}

fn everyone(customers: usize, times: usize) -> BTreeMap<String, usize> {
    (0..customers)
        .map(|i| (format!("pass-customer-{i:03}"), times))
        .collect()
}

#[tokio::test]
async fn several_invocations_reconcile_every_customer_exactly_once_per_pass() {
    // GIVEN 60 customers Alexa knows nothing of, a pass of 4 segments read 5 customers a page
    let s = setup(60, Duration::ZERO).await;
    let workers: Vec<_> = (0..3).map(|_| s.reconciler(4, 5)).collect();

    // WHEN three scheduled invocations run at once
    let deadline = Instant::now() + RUN;
    let summaries = futures_util::future::join_all(
        workers
            .iter()
            .map(|w| async move { scheduled(w, deadline).await.unwrap() }),
    )
    .await;

    // THEN every customer was reconciled once, by one of them: one AddOrUpdateReport each
    let mut total = Summary::default();
    for summary in summaries {
        total.merge(summary);
    }
    assert_eq!((total.customers, total.upserts), (60, 60), "{total:?}");
    assert!(total.is_complete(), "{total:?}");
    assert_eq!(s.reports().await, everyone(60, 1));
    assert!(s.pass_is_done().await);

    // AND the next tick finds the pass done and the next one not due: it does nothing
    let idle = scheduled(&workers[0], Instant::now() + RUN).await.unwrap();
    assert_eq!(idle.customers, 0, "{idle:?}");

    // WHEN the interval has passed (6 hours)
    s.clock.advance(workers[0].interval());
    let next = scheduled(&workers[1], Instant::now() + RUN).await.unwrap();

    // THEN a new pass reaches every customer again, finds them in sync, and sends nothing
    assert_eq!((next.customers, next.in_sync), (60, 60), "{next:?}");
    assert_eq!(s.reports().await, everyone(60, 1));
}

#[tokio::test]
async fn a_pass_cut_off_mid_way_goes_on_from_its_cursor_without_skipping_anyone() {
    // GIVEN 40 customers, a pass of 2 segments, 4 customers a page, a gateway taking 20 ms
    let s = setup(40, Duration::from_millis(20)).await;
    let first = s.reconciler(2, 4);

    // WHEN an invocation is cut off (a crash, a timeout) once it has reached 10 customers
    let deadline = Instant::now() + RUN;
    tokio::select! {
        _ = scheduled(&first, deadline) => panic!("the pass ended before it was cut off"),
        _ = async {
            while s.gateway.received_requests().await.unwrap_or_default().len() < 10 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        } => {}
    }
    let reached = s.reports().await.len();
    let (_, progress) = s.tables.store.pass_progress().await.unwrap();
    let saved: Vec<_> = progress.iter().filter(|p| p.cursor.is_some()).collect();
    assert!(!saved.is_empty(), "a page's cursor was saved: {progress:?}");
    assert!(!s.pass_is_done().await);

    // AND another invocation runs at once: the cut-off one's segment is still held by it
    let meanwhile = scheduled(&s.reconciler(2, 4), Instant::now() + RUN)
        .await
        .unwrap();
    assert!(!s.pass_is_done().await, "{meanwhile:?}");

    // WHEN the lease has run out and the schedule ticks again
    s.clock.advance(RUN + LEASE_MARGIN + Duration::from_secs(1));
    let resumed = scheduled(&s.reconciler(2, 4), Instant::now() + RUN)
        .await
        .unwrap();

    // THEN the pass is done, every customer was told at least once, and only the page that
    // was cut off could be told twice; the segment went on from its cursor, not its start
    assert!(s.pass_is_done().await, "{resumed:?}");
    let reports = s.reports().await;
    assert_eq!(
        reports.keys().collect::<Vec<_>>(),
        everyone(40, 1).keys().collect::<Vec<_>>()
    );
    let twice = reports.values().filter(|n| **n > 1).count();
    assert!(twice <= 4, "{reports:?}");
    assert!(
        meanwhile.customers + resumed.customers < 40,
        "{meanwhile:?} {resumed:?}: the segment started over"
    );
    assert!(reached >= 10);
}
