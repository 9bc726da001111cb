//! Fake Login with Amazon and event gateway servers on 127.0.0.1 for local runs: LWA hands out
//! tokens, the gateway accepts every event (202) and prints it.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The two fakes, running until dropped.
pub struct FakeAmazon {
    pub lwa: MockServer,
    pub gateway: MockServer,
    received: Arc<Mutex<Vec<Value>>>,
}

impl FakeAmazon {
    /// Starts both on free ports of 127.0.0.1. With `print`, every event the gateway receives
    /// is printed to stdout (tokens masked).
    pub async fn start(print: bool) -> Self {
        let lwa = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/auth/o2/token"))
            .respond_with(LwaResponder { print })
            .mount(&lwa)
            .await;
        let gateway = MockServer::start().await;
        let received = Arc::new(Mutex::new(Vec::new()));
        Mock::given(method("POST"))
            .and(path("/v3/events"))
            .respond_with(GatewayResponder {
                print,
                received: received.clone(),
            })
            .mount(&gateway)
            .await;
        Self {
            lwa,
            gateway,
            received,
        }
    }

    pub fn lwa_token_url(&self) -> String {
        format!("{}/auth/o2/token", self.lwa.uri())
    }

    pub fn gateway_url(&self) -> String {
        format!("{}/v3/events", self.gateway.uri())
    }

    /// Every event the gateway accepted so far.
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

struct LwaResponder {
    print: bool,
}

impl Respond for LwaResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let form = String::from_utf8_lossy(&request.body);
        let grant_type = form
            .split('&')
            .find_map(|kv| kv.strip_prefix("grant_type="))
            .unwrap_or("?")
            .to_owned();
        if self.print {
            eprintln!("[fake LWA] token request, grant_type={grant_type}");
        }
        ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("Atza|local-{}", uuid::Uuid::new_v4().simple()),
            "refresh_token": "Atzr|local-refresh",
            "token_type": "bearer",
            "expires_in": 3600,
        }))
    }
}

struct GatewayResponder {
    print: bool,
    received: Arc<Mutex<Vec<Value>>>,
}

impl Respond for GatewayResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let Ok(event) = serde_json::from_slice::<Value>(&request.body) else {
            return ResponseTemplate::new(400).set_body_json(json!({
                "header": {"namespace": "System", "name": "Exception"},
                "payload": {"code": "INVALID_REQUEST_EXCEPTION", "description": "body is not JSON"}
            }));
        };
        if let Ok(mut received) = self.received.lock() {
            received.push(event.clone());
        }
        if self.print {
            let name = event
                .pointer("/event/header/name")
                .and_then(Value::as_str)
                .unwrap_or("?");
            let mut text = String::from_utf8_lossy(&request.body).into_owned();
            for scope in ["/event/payload/scope/token", "/event/endpoint/scope/token"] {
                if let Some(token) = event
                    .pointer(scope)
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty())
                {
                    text = text.replace(token, "<LWA access token>");
                }
            }
            println!("[fake gateway] 202 for {name}:\n{}", pretty(&text));
        }
        ResponseTemplate::new(202)
    }
}

/// JSON pretty-printed in its own field order.
fn pretty(json: &str) -> String {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_str(json);
    let mut ser = serde_json::Serializer::pretty(&mut out);
    match serde_transcode::transcode(&mut de, &mut ser) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => json.to_owned(),
    }
}
