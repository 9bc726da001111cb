//! Cameras and video doorbells against the local servers and a fake of the maker's API: the
//! streams and WebRTC answers the maker hands out reach Alexa checked and within the camera
//! budget, and a maker that is late, wrong or failing is an Alexa error, never a broken stream.

use crate::support;

use alexa_smart_home::store::DeviceStore;
use alexa_smart_home_local::maker::{self, FakeMaker};
use serde_json::{Value, json};
use std::time::{Duration, Instant};
use support::dynamo::TestTables;
use support::{sample, schema, send};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const STREAMS: &str =
    "events/CameraStreamController/CameraStreamController.InitializeCameraStreams.request.json";
const OFFER: &str =
    "events/RTCSessionController/RTCSessionController.InitiateSessionWithOffer.request.json";
const CONNECTED: &str =
    "events/RTCSessionController/RTCSessionController.SessionConnected.request.json";
const DISCONNECTED: &str =
    "events/RTCSessionController/RTCSessionController.SessionDisconnected.request.json";

/// The example account, its cameras' maker at `url`.
async fn account(url: String) -> TestTables {
    let mut tables = TestTables::example_account().await;
    tables.config.device_api_url = Some(url);
    tables.config.device_api_secret = Some(alexa_smart_home::alexa::Secret::new(maker::SECRET));
    tables
}

fn name(answer: &Value) -> (&str, &str) {
    let h = &answer["event"]["header"];
    (
        h["namespace"].as_str().unwrap(),
        h["name"].as_str().unwrap(),
    )
}

fn error_type(answer: &Value) -> &str {
    assert_eq!(name(answer).1, "ErrorResponse", "{answer:#}");
    answer["event"]["payload"]["type"].as_str().unwrap()
}

#[tokio::test]
async fn the_makers_stream_and_webrtc_answer_reach_alexa() {
    let maker = FakeMaker::start(false).await;
    let tables = account(maker.url()).await;

    // Amazon's own sample asks for two RTSP streams of the nursery camera.
    let answer = send(&tables, &sample(STREAMS, None, None)).await;
    assert_eq!(
        name(&answer),
        ("Alexa.CameraStreamController", "Response"),
        "{answer:#}"
    );
    let stream = &answer["event"]["payload"]["cameraStreams"][0];
    assert!(
        stream["uri"]
            .as_str()
            .unwrap()
            .starts_with("rtsps://127.0.0.1:443/nursery-camera/")
    );
    assert_eq!(stream["resolution"], json!({"width": 1920, "height": 1080}));
    assert!(
        answer["event"]["payload"]["imageUri"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    let asked = &maker.received()[0];
    assert_eq!(asked["endpointId"], "nursery-camera");
    assert_eq!(asked["directive"]["name"], "InitializeCameraStreams");
    assert_eq!(asked["cameraStreams"].as_array().unwrap().len(), 2);

    // The video doorbell's WebRTC session: the offer goes to the maker, its answer to Alexa.
    let answer = send(&tables, &sample(OFFER, None, None)).await;
    assert_eq!(
        name(&answer),
        ("Alexa.RTCSessionController", "AnswerGeneratedForSession"),
        "{answer:#}"
    );
    assert_eq!(answer["event"]["payload"]["answer"]["format"], "SDP");
    assert!(
        answer["event"]["payload"]["answer"]["value"]
            .as_str()
            .unwrap()
            .starts_with("v=0")
    );
    for (file, event) in [
        (CONNECTED, "SessionConnected"),
        (DISCONNECTED, "SessionDisconnected"),
    ] {
        let answer = send(&tables, &sample(file, None, None)).await;
        assert_eq!(
            name(&answer),
            ("Alexa.RTCSessionController", event),
            "{answer:#}"
        );
        assert_eq!(
            answer["event"]["payload"]["sessionId"],
            "a1b2c3d4-0000-4000-8000-000000000001"
        );
    }
    let told: Vec<String> = maker
        .received()
        .iter()
        .map(|r| r["directive"]["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        told,
        [
            "InitializeCameraStreams",
            "InitiateSessionWithOffer",
            "SessionConnected",
            "SessionDisconnected"
        ]
    );
    assert_eq!(
        maker.received()[1]["sessionId"],
        "a1b2c3d4-0000-4000-8000-000000000001"
    );
    assert_eq!(maker.received()[1]["offer"]["format"], "SDP");
}

/// A maker at `answer`, the camera asked for its streams: the answer and how long it took.
async fn streams_from(answer: ResponseTemplate) -> (Value, Duration) {
    let maker = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(answer)
        .mount(&maker)
        .await;
    let mut tables = account(maker.uri()).await;
    tables.config.device_api_timeout = Duration::from_secs(4);
    let started = Instant::now();
    let answer = send(&tables, &sample(STREAMS, None, None)).await;
    (answer, started.elapsed())
}

fn stream_answer(uri: &str, expiry: &str, protocol: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "cameraStreams": [{
            "uri": uri, "expirationTime": expiry, "idleTimeoutSeconds": 30, "protocol": protocol,
            "resolution": {"width": 1280, "height": 720}, "authorizationType": "NONE",
            "videoCodec": "H264", "audioCodec": "AAC"
        }],
        "imageUri": "https://cam.example.com/snapshot.jpg",
    }))
}

#[tokio::test]
async fn a_late_invalid_or_failing_maker_is_an_alexa_error_within_the_budget() {
    let future = "2099-01-01T00:00:00Z";
    let good = "rtsps://cam.example.com:443/live";
    // Valid, to show the cases below fail for their one fault.
    let (answer, _) = streams_from(stream_answer(good, future, "RTSP")).await;
    assert_eq!(name(&answer).1, "Response", "{answer:#}");

    let cases: Vec<(&str, ResponseTemplate, &str)> = vec![
        (
            "wrong port",
            stream_answer("rtsps://cam.example.com:554/live", future, "RTSP"),
            "INTERNAL_ERROR",
        ),
        (
            "past expiry",
            stream_answer(good, "2020-01-01T00:00:00Z", "RTSP"),
            "INTERNAL_ERROR",
        ),
        (
            "unknown protocol",
            stream_answer(good, future, "HLS"),
            "INTERNAL_ERROR",
        ),
        (
            "not the documented answer",
            ResponseTemplate::new(200).set_body_string("ok"),
            "INTERNAL_ERROR",
        ),
        (
            "the maker fails",
            ResponseTemplate::new(503),
            "ENDPOINT_UNREACHABLE",
        ),
        (
            "the maker does not know it",
            ResponseTemplate::new(404),
            "NO_SUCH_ENDPOINT",
        ),
        (
            "too late",
            stream_answer(good, future, "RTSP").set_delay(Duration::from_secs(30)),
            "ENDPOINT_UNREACHABLE",
        ),
    ];
    for (case, maker, expected) in cases {
        let (answer, took) = streams_from(maker).await;
        schema::assert_valid(&answer);
        assert_eq!(error_type(&answer), expected, "{case}");
        assert!(
            took < alexa_smart_home::handlers::camera::CAMERA_BUDGET,
            "{case}: answered after {took:?}"
        );
    }
}

#[tokio::test]
async fn a_camera_the_makers_api_does_not_serve_is_not_discovered() {
    let maker = FakeMaker::start(false).await;
    let tables = account(maker.url()).await;
    let discover = json!({"directive": {
        "header": {"namespace": "Alexa.Discovery", "name": "Discover", "payloadVersion": "3",
                   "messageId": "b5c7b0f6-0f5a-4f3c-9c36-1b4d2a7f0e11"},
        "payload": {"scope": {"type": "BearerToken", "token": "access-token-from-skill"}}}});
    let endpoints = |answer: &Value| -> Vec<Value> {
        answer["event"]["payload"]["endpoints"]
            .as_array()
            .unwrap()
            .clone()
    };
    let found = endpoints(&send(&tables, &discover).await);
    let doorbell = found
        .iter()
        .find(|e| e["endpointId"] == "front-door-doorbell")
        .expect("the video doorbell is discovered");
    assert_eq!(doorbell["displayCategories"], json!(["CAMERA", "DOORBELL"]));
    let interfaces: Vec<&str> = doorbell["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["interface"].as_str().unwrap())
        .collect();
    for i in [
        "Alexa.DoorbellEventSource",
        "Alexa.RTCSessionController",
        "Alexa.CameraStreamController",
    ] {
        assert!(interfaces.contains(&i), "{i} in {interfaces:?}");
    }

    // The same camera on the table adapter: left out, and so it is never failed.
    let mut camera = tables
        .store
        .device(&"example-user".into(), &"nursery-camera".into())
        .await
        .unwrap()
        .unwrap();
    camera.definition.device_cloud = None;
    tables.store.put_device(&camera).await.unwrap();
    let found = endpoints(&send(&tables, &discover).await);
    assert!(found.iter().all(|e| e["endpointId"] != "nursery-camera"));
    assert!(
        found
            .iter()
            .any(|e| e["endpointId"] == "front-door-doorbell")
    );
}
