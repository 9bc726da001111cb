//! A fake of the maker's API on 127.0.0.1 for local runs and tests: it checks each request's
//! signature as a maker's API must, carries out commands (answering the state asked for), checks
//! an alarm panel's PIN, and hands out camera streams and WebRTC answers.

use std::sync::{Arc, Mutex};

use alexa_smart_home::cloud::https::verify_request;
use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The secret the fake shares with the skill (`DEVICE_API_SECRET`).
pub const SECRET: &str = "local-maker-secret";
/// The PIN the fake's alarm panels take.
pub const PIN: &str = "1234";

/// The fake, running until dropped.
pub struct FakeMaker {
    pub server: MockServer,
    received: Arc<Mutex<Vec<Value>>>,
}

impl FakeMaker {
    /// Starts it on a free port of 127.0.0.1. With `print`, each request is printed to stdout
    /// (a PIN masked).
    pub async fn start(print: bool) -> Self {
        let server = MockServer::start().await;
        let received = Arc::new(Mutex::new(Vec::new()));
        Mock::given(method("POST"))
            .respond_with(Maker {
                print,
                received: received.clone(),
            })
            .mount(&server)
            .await;
        Self { server, received }
    }

    /// `DEVICE_API_URL`.
    pub fn url(&self) -> String {
        format!("{}/alexa/commands", self.server.uri())
    }

    /// Every request whose signature held, in order.
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

struct Maker {
    print: bool,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Respond for Maker {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let now = alexa_smart_home::store::unix_seconds(std::time::SystemTime::now());
        if verify_request(SECRET.as_bytes(), &request.headers, &request.body, now).is_err() {
            return ResponseTemplate::new(401);
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400);
        };
        if self.print {
            let mut shown = body.clone();
            if shown.get("authorization").is_some() {
                shown["authorization"]["value"] = json!("****");
            }
            println!("maker's API <- {shown}");
        }
        if let Ok(mut received) = self.received.lock() {
            received.push(body.clone());
        }
        answer(&body)
    }
}

/// What the fake answers a request.
pub fn answer(body: &Value) -> ResponseTemplate {
    let name = body["directive"]["name"].as_str().unwrap_or_default();
    let endpoint = body["endpointId"].as_str().unwrap_or("camera");
    match name {
        "InitializeCameraStreams" => {
            let asked = &body["cameraStreams"][0];
            let expires = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
            let expires = alexa_smart_home::store::unix_seconds(expires);
            let expiration = alexa_smart_home::device::properties::time_of_sample(expires * 1000);
            let known = |value: &Value, known: &[&str], default: &str| -> Value {
                match value.as_str() {
                    Some(v) if known.contains(&v) => json!(v),
                    _ => json!(default),
                }
            };
            let token = uuid::Uuid::new_v4().simple().to_string();
            ResponseTemplate::new(200).set_body_json(json!({
                "cameraStreams": [{
                    "uri": format!("rtsps://127.0.0.1:443/{endpoint}/live?session={token}"),
                    "expirationTime": expiration,
                    "idleTimeoutSeconds": 30,
                    "protocol": "RTSP",
                    "resolution": asked.get("resolution").cloned()
                        .unwrap_or(json!({"width": 1280, "height": 720})),
                    "authorizationType": "NONE",
                    "videoCodec": known(&asked["videoCodec"], &["H264", "MPEG2", "MJPEG", "JPG"], "H264"),
                    "audioCodec": known(&asked["audioCodec"], &["G711", "AAC", "NONE"], "AAC"),
                }],
                "imageUri": format!("https://127.0.0.1/{endpoint}/snapshot.jpg"),
            }))
        }
        "InitiateSessionWithOffer" => ResponseTemplate::new(200).set_body_json(json!({
            "answer": {
                "format": "SDP",
                "value": "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
            }
        })),
        "SessionConnected" | "SessionDisconnected" => ResponseTemplate::new(204),
        "Disarm" if body.get("authorization").is_some_and(|a| a["value"] != PIN) => {
            ResponseTemplate::new(403)
                .set_body_json(json!({"error": "UNAUTHORIZED", "message": "wrong PIN"}))
        }
        // A command: the device did it, and reports the state asked for.
        _ => ResponseTemplate::new(200).set_body_json(json!({"state": body["desired"]})),
    }
}
