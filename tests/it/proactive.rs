//! The proactive path end to end: device writes on the real local DynamoDB server → its stream
//! (read as Lambda would) → the stream processor → HTTP fakes of the event gateway and Login
//! with Amazon on 127.0.0.1.

use crate::support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use alexa_smart_home::alexa::Secret;
use alexa_smart_home::clock::Clock;
use alexa_smart_home::deadline::Deadline;
use alexa_smart_home::device::Device;
use alexa_smart_home::grants;
use alexa_smart_home::http;
use alexa_smart_home::lwa::Lwa;
use alexa_smart_home::store::{GrantStore, unix_seconds};
use serde_json::json;
use support::proactive::*;
use wiremock::matchers::{body_string_contains, header, method};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

#[tokio::test]
async fn an_added_device_is_sent_as_add_or_update_report_with_the_lwa_token() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;

    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["AddOrUpdateReport"]);
    assert_eq!(endpoint_ids(&events[0]), ["lamp-1"]);
    assert_eq!(events[0]["event"]["payload"]["scope"]["token"], ACCESS);
    let requests = h.gateway_requests().await;
    assert_eq!(
        requests[0].headers.get("authorization").unwrap(),
        &format!("Bearer {ACCESS}")
    );
    assert_eq!(
        requests[0].headers.get("content-type").unwrap(),
        "application/json"
    );
}

#[tokio::test]
async fn rename_and_capability_change_are_sent_and_a_state_change_is_not() {
    let u = user();
    let mut h = Harness::new(&[
        device(&u, "lamp-1"),
        device(&u, "lamp-2"),
        device(&u, "lamp-3"),
    ])
    .await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;

    // GIVEN a rename, a new capability, and a state-only change, in one batch
    let mut renamed = device(&u, "lamp-1");
    renamed.definition.name = "Reading Lamp".into();
    h.store().put_device(&renamed).await.unwrap();
    let mut dimmable = device(&u, "lamp-2");
    dimmable
        .definition
        .capabilities
        .push(serde_json::from_value(json!({"type": "brightness"})).unwrap());
    h.store().put_device(&dimmable).await.unwrap();
    let mut switched_on = device(&u, "lamp-3");
    switched_on.state.power_on = Some(true);
    switched_on.state.brightness = Some(80);
    h.store().put_device(&switched_on).await.unwrap();

    let (batch, response) = h.run_batch().await;
    assert_eq!(batch.records.len(), 3);
    no_failures(&response);

    // THEN one discovery report carries the two changed definitions; the state change sends
    // no discovery event, only its ChangeReport
    let events = h.events().await;
    assert_eq!(names(&events), ["AddOrUpdateReport", "ChangeReport"]);
    assert_eq!(endpoint_ids(&events[0]), ["lamp-1", "lamp-2"]);
    let endpoints = events[0]["event"]["payload"]["endpoints"]
        .as_array()
        .unwrap();
    assert_eq!(endpoints[0]["friendlyName"], "Reading Lamp");
    assert!(
        endpoints[1]["capabilities"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["interface"] == "Alexa.BrightnessController")
    );
    assert_eq!(events[1]["event"]["endpoint"]["endpointId"], "lamp-3");
}

#[tokio::test]
async fn a_state_only_change_sends_no_discovery_event_only_a_change_report() {
    let u = user();
    let mut h = Harness::new(&[device(&u, "lamp-1")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    let mut on = device(&u, "lamp-1");
    on.state.power_on = Some(true);
    on.connectivity = alexa_smart_home::device::Connectivity::Unreachable;
    h.store().put_device(&on).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["ChangeReport"]);
    let changed: Vec<&str> = events[0]["event"]["payload"]["change"]["properties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["powerState", "connectivity"]);
}

#[tokio::test]
async fn a_deleted_device_is_sent_as_delete_report() {
    let u = user();
    let mut h = Harness::new(&[device(&u, "lamp-1"), device(&u, "lamp-2")]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    h.store().delete_device(&u, &"lamp-2".into()).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["DeleteReport"]);
    assert_eq!(
        events[0]["event"]["payload"]["endpoints"],
        json!([{"endpointId": "lamp-2"}])
    );
    assert_eq!(
        events[0]["event"]["payload"]["scope"],
        json!({"type": "BearerToken", "token": ACCESS})
    );
}

#[tokio::test]
async fn add_then_delete_in_one_batch_ends_as_a_delete() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    h.store()
        .put_device(&device(&u, "short-lived"))
        .await
        .unwrap();
    let mut renamed = device(&u, "short-lived");
    renamed.definition.name = "Renamed".into();
    h.store().put_device(&renamed).await.unwrap();
    h.store()
        .delete_device(&u, &"short-lived".into())
        .await
        .unwrap();
    let (batch, response) = h.run_batch().await;
    assert_eq!(batch.records.len(), 3);
    no_failures(&response);
    let events = h.events().await;
    assert_eq!(names(&events), ["DeleteReport"]);
    assert_eq!(endpoint_ids(&events[0]), ["short-lived"]);
}

#[tokio::test]
async fn three_hundred_fifty_devices_go_in_two_reports_within_the_limits() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    let mut writes = tokio::task::JoinSet::new();
    for chunk in (0..350).collect::<Vec<_>>().chunks(50) {
        let (store, u, chunk) = (h.store().clone(), u.clone(), chunk.to_vec());
        writes.spawn(async move {
            for i in chunk {
                store
                    .put_device(&device(&u, &format!("dev-{i:03}")))
                    .await
                    .unwrap();
            }
        });
    }
    writes.join_all().await;
    let (batch, response) = h.run_batch().await;
    assert_eq!(batch.records.len(), 350);
    no_failures(&response);
    let requests = h.gateway_requests().await;
    let events = h.events().await;
    assert_eq!(names(&events), ["AddOrUpdateReport", "AddOrUpdateReport"]);
    let sizes: Vec<usize> = events.iter().map(|e| endpoint_ids(e).len()).collect();
    assert_eq!(sizes, [300, 50]);
    for r in &requests {
        assert!(r.body.len() <= 256_000, "report of {} bytes", r.body.len());
    }
    let mut all: Vec<&str> = events.iter().flat_map(endpoint_ids).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 350, "every device exactly once");
}

#[tokio::test]
async fn relationships_are_carried() {
    let seed = alexa_smart_home::store::seed::Seed::from_json(&support::read(
        "fixtures/example-account.json",
    ))
    .unwrap();
    let theater: Vec<Device> = seed
        .devices
        .into_iter()
        .filter(|d| d.definition.endpoint_id.starts_with("home-theater"))
        .collect();
    let u = theater[0].definition.user_id.clone();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    accept_all(&h.gateway).await;
    for d in &theater {
        h.store().put_device(d).await.unwrap();
    }
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    let endpoints = events[0]["event"]["payload"]["endpoints"]
        .as_array()
        .unwrap();
    let soundbar = endpoints
        .iter()
        .find(|e| e["endpointId"] == "home-theater-soundbar")
        .unwrap();
    assert_eq!(
        soundbar["relationships"]["isClusterOf"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(soundbar["relationships"]["isClusterOf"][0]["source"], "AVS");
    let tv = endpoints
        .iter()
        .find(|e| e["endpointId"] == "home-theater-tv")
        .unwrap();
    assert_eq!(
        tv["relationships"]["isControlledBy"],
        json!([{"endpointId": "home-theater-soundbar"}])
    );
}

#[tokio::test]
async fn a_customer_without_a_grant_is_skipped_without_failure() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    accept_all(&h.gateway).await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert!(h.gateway_requests().await.is_empty());
    assert!(h.lwa_requests().await.is_empty());
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_and_the_new_grant_stored() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 60).await; // within the 5-minute margin
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|refreshed"))
        .mount(&h.lwa)
        .await;
    accept_all(&h.gateway).await;

    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);

    let lwa = h.lwa_requests().await;
    assert_eq!(lwa.len(), 1);
    assert!(lwa[0].contains("grant_type=refresh_token"));
    assert!(lwa[0].contains("refresh_token=Atzr%7Cinitial-refresh-token"));
    assert!(
        lwa[0].contains("client_id=client-id") && lwa[0].contains("client_secret=client-secret")
    );
    let stored = h.store().grant(&u).await.unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "Atza|refreshed");
    assert_eq!(stored.refresh_token.expose(), "Atzr|refreshed");
    assert_eq!(stored.version, 2);
    assert!(stored.expires_at > unix_seconds(SystemTime::now()) + 3000);
    assert_eq!(
        h.events().await[0]["event"]["payload"]["scope"]["token"],
        "Atza|refreshed"
    );
}

/// The processor reads the time from its clock: a grant is used as it is until the clock
/// brings its expiry within the margin, and the refreshed one expires an hour after the clock.
#[tokio::test]
async fn a_grant_is_refreshed_once_the_clock_brings_its_expiry_within_the_margin() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|refreshed"))
        .mount(&h.lwa)
        .await;
    accept_all(&h.gateway).await;

    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    no_failures(&h.run_batch().await.1);
    assert!(
        h.lwa_requests().await.is_empty(),
        "an hour left: no refresh"
    );

    // 56 minutes on, 4 are left: inside the 5-minute margin.
    h.clock.advance(Duration::from_secs(56 * 60));
    h.store().put_device(&device(&u, "lamp-2")).await.unwrap();
    no_failures(&h.run_batch().await.1);
    assert_eq!(h.lwa_requests().await.len(), 1);
    let stored = h.store().grant(&u).await.unwrap().unwrap();
    assert_eq!(stored.access_token.expose(), "Atza|refreshed");
    assert_eq!(stored.expires_at, unix_seconds(h.clock.now()) + 3600);
    let events = h.events().await;
    assert_eq!(events[0]["event"]["payload"]["scope"]["token"], ACCESS);
    assert_eq!(
        events[1]["event"]["payload"]["scope"]["token"],
        "Atza|refreshed"
    );
}

#[tokio::test]
async fn a_refresh_without_a_new_refresh_token_keeps_the_old_one() {
    let u = user();
    let h = Harness::new(&[]).await;
    let grant = h.grant(&u, 10).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "Atza|new", "expires_in": 3600})),
        )
        .mount(&h.lwa)
        .await;
    let lwa = Lwa::new(
        http::client().unwrap(),
        h.tables.config.lwa_token_url.clone(),
        Some("c".into()),
        Some(Secret::new("s")),
    );
    let grants::Refreshed::Fresh(fresh) = grants::refresh(
        h.store(),
        &lwa,
        grant,
        &Clock::system(),
        &Deadline::after(Duration::from_secs(8)),
    )
    .await
    .unwrap() else {
        panic!("not refreshed")
    };
    assert_eq!(fresh.access_token.expose(), "Atza|new");
    assert_eq!(fresh.refresh_token.expose(), REFRESH);
    assert_eq!(h.store().grant(&u).await.unwrap().unwrap(), fresh);
}

#[tokio::test]
async fn a_401_refreshes_once_and_resends() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|after-401"))
        .mount(&h.lwa)
        .await;
    Mock::given(method("POST"))
        .and(header("authorization", format!("Bearer {ACCESS}").as_str()))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_body("INVALID_ACCESS_TOKEN_EXCEPTION")),
        )
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;

    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let requests = h.gateway_requests().await;
    assert_eq!(requests.len(), 2);
    assert_eq!(
        requests[1].headers.get("authorization").unwrap(),
        "Bearer Atza|after-401"
    );
    assert_eq!(h.lwa_requests().await.len(), 1);
    assert_eq!(
        h.events().await[1]["event"]["payload"]["scope"]["token"],
        "Atza|after-401"
    );
}

/// Found while writing the soak test: a second 401, with the token LWA had just issued, dropped the report.
#[tokio::test]
async fn a_401_with_a_fresh_token_is_retried_not_dropped() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|after-401"))
        .mount(&h.lwa)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_body("INVALID_ACCESS_TOKEN_EXCEPTION")),
        )
        .mount(&h.gateway)
        .await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (batch, response) = h.run_batch().await;
    assert_eq!(
        h.gateway_requests().await.len(),
        2,
        "sent, refreshed once, resent"
    );
    assert_eq!(h.lwa_requests().await.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier, batch.records[0].change.sequence_number,
        "the record is retried"
    );
}

#[tokio::test]
async fn skill_disabled_with_invalid_grant_deletes_the_grant() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    lwa_revokes(&h.lwa).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(error_body("SKILL_DISABLED_EXCEPTION")),
        )
        .mount(&h.gateway)
        .await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    h.store().put_device(&device(&u, "lamp-2")).await.unwrap();
    h.store().delete_device(&u, &"lamp-2".into()).await.unwrap();
    let (_, response) = h.run_batch().await;
    // The customer disabled the skill: nothing to retry, and no more requests for them.
    no_failures(&response);
    assert_eq!(h.gateway_requests().await.len(), 1);
    assert_eq!(h.lwa_requests().await.len(), 1);
    assert!(
        h.store().grant(&u).await.unwrap().is_none(),
        "grant deleted"
    );
}

#[tokio::test]
async fn skill_disabled_but_the_grant_refreshes_keeps_the_grant() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|still-valid"))
        .mount(&h.lwa)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(403).set_body_json(error_body("SKILL_DISABLED_EXCEPTION")),
        )
        .mount(&h.gateway)
        .await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let kept = h.store().grant(&u).await.unwrap().expect("grant kept");
    assert_eq!(kept.access_token.expose(), "Atza|still-valid");
}

#[tokio::test]
async fn throttling_twice_then_accepted_is_delivered() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429).set_body_json(error_body("THROTTLING_EXCEPTION")))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let requests = h.gateway_requests().await;
    assert_eq!(requests.len(), 3);
    let events = h.events().await;
    assert_eq!(endpoint_ids(&events[2]), ["lamp-1"]);
    let mut ids: Vec<String> = events
        .iter()
        .map(|e| e["event"]["header"]["messageId"].to_string())
        .collect();
    ids.dedup();
    assert_eq!(ids.len(), 3, "every send has its own message id");
}

#[tokio::test]
async fn server_errors_past_the_retries_fail_from_the_earliest_undelivered_record() {
    // GIVEN two customers with grants; the gateway fails (500) four times for the second one
    let (a, b) = (user(), user());
    let mut h = Harness::new(&[]).await;
    h.grant(&a, 3600).await;
    h.grant(&b, 3600).await;
    Mock::given(method("POST"))
        .and(body_string_contains("lamp-of-b"))
        .respond_with(
            ResponseTemplate::new(500).set_body_json(error_body("INTERNAL_SERVICE_EXCEPTION")),
        )
        .up_to_n_times(4)
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;

    h.store()
        .put_device(&device(&a, "lamp-of-a"))
        .await
        .unwrap();
    h.store()
        .put_device(&device(&b, "lamp-of-b"))
        .await
        .unwrap();
    h.store()
        .put_device(&device(&a, "lamp-of-a-2"))
        .await
        .unwrap();

    // WHEN the batch is processed
    let (batch, response) = h.run_batch().await;

    // THEN b's report was sent 1 + 3 times, and the batch fails from b's record (the second)
    let for_b = |requests: &[Request]| {
        requests
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains("lamp-of-b"))
            .count()
    };
    assert_eq!(for_b(&h.gateway_requests().await), 4);
    assert_eq!(response.batch_item_failures.len(), 1);
    assert_eq!(
        response.batch_item_failures[0].item_identifier,
        batch.records[1].change.sequence_number
    );

    // AND the redelivered batch starts at that record and now gets through
    let (redelivered, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(
        redelivered.records[0].change.sequence_number,
        batch.records[1].change.sequence_number
    );
    assert_eq!(for_b(&h.gateway_requests().await), 5);
}

#[tokio::test]
async fn a_400_is_logged_and_not_resent() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(error_body("INVALID_REQUEST_EXCEPTION")),
        )
        .mount(&h.gateway)
        .await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(h.gateway_requests().await.len(), 1);
}

#[tokio::test]
async fn error_bodies_that_are_not_json_are_handled() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(503)
                .set_body_string("<html><body>Service Unavailable</body></html>"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("lamp-2"))
        .respond_with(ResponseTemplate::new(400).set_body_string("not json at all"))
        .with_priority(2)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(h.gateway_requests().await.len(), 2, "the 503 was resent");
    h.store().put_device(&device(&u, "lamp-2")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(
        h.gateway_requests().await.len(),
        3,
        "the 400 was not resent"
    );
}

#[tokio::test]
async fn a_413_splits_the_report() {
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 3600).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(413)
                .set_body_json(error_body("REQUEST_ENTITY_TOO_LARGE_EXCEPTION")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;
    for i in 0..4 {
        h.store()
            .put_device(&device(&u, &format!("lamp-{i}")))
            .await
            .unwrap();
    }
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    let events = h.events().await;
    let sizes: Vec<usize> = events.iter().map(|e| endpoint_ids(e).len()).collect();
    assert_eq!(sizes, [4, 2, 2]);
}

/// Answers each refresh with a new, numbered token, slowly, so that two refreshes overlap.
struct CountingLwa(Arc<AtomicUsize>);

impl Respond for CountingLwa {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
        lwa_tokens(&format!("Atza|refresh-{n}")).set_delay(Duration::from_millis(300))
    }
}

#[tokio::test]
async fn two_concurrent_refreshes_keep_the_newer_grant() {
    let u = user();
    let h = Harness::new(&[]).await;
    let grant = h.grant(&u, 10).await;
    Mock::given(method("POST"))
        .respond_with(CountingLwa(Arc::new(AtomicUsize::new(0))))
        .mount(&h.lwa)
        .await;
    let lwa = Lwa::new(
        http::client().unwrap(),
        h.tables.config.lwa_token_url.clone(),
        Some("c".into()),
        Some(Secret::new("s")),
    );

    // Two invocations refresh the same grant (version 1) at the same time.
    let deadline = Deadline::after(Duration::from_secs(8));
    let clock = Clock::system();
    let (first, second) = tokio::join!(
        grants::refresh(h.store(), &lwa, grant.clone(), &clock, &deadline),
        grants::refresh(h.store(), &lwa, grant.clone(), &clock, &deadline)
    );
    let (grants::Refreshed::Fresh(first), grants::Refreshed::Fresh(second)) =
        (first.unwrap(), second.unwrap())
    else {
        panic!("both must end with a usable grant")
    };
    assert_eq!(h.lwa_requests().await.len(), 2);

    // Exactly one write won (version 2); the other invocation adopted it instead of
    // overwriting it with its own, so both use the stored grant.
    let stored = h.store().grant(&u).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(first, stored);
    assert_eq!(second, stored);
    assert!(stored.access_token.expose().starts_with("Atza|refresh-"));
}

#[tokio::test]
async fn no_lwa_token_or_client_secret_reaches_the_logs() {
    let captured = support::logs::capture();
    let u = user();
    let mut h = Harness::new(&[]).await;
    h.grant(&u, 30).await; // refreshed before use
    Mock::given(method("POST"))
        .respond_with(lwa_tokens("Atza|refreshed-and-secret"))
        .mount(&h.lwa)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(error_body("INVALID_ACCESS_TOKEN_EXCEPTION")),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&h.gateway)
        .await;
    accept_all(&h.gateway).await;
    h.store().put_device(&device(&u, "lamp-1")).await.unwrap();
    let (_, response) = h.run_batch().await;
    no_failures(&response);
    assert_eq!(
        h.lwa_requests().await.len(),
        2,
        "refreshed before use and after the 401"
    );

    let text = captured.text();
    assert!(text.contains("DEBUG"), "nothing captured");
    for secret in [
        ACCESS,
        REFRESH,
        "Atza|refreshed-and-secret",
        "Atzr|refreshed",
        "client-secret",
    ] {
        let leaks: Vec<&str> = text.lines().filter(|l| l.contains(secret)).collect();
        assert!(
            leaks.is_empty(),
            "{secret} reached the logs:\n{}",
            leaks.join("\n")
        );
    }
}
