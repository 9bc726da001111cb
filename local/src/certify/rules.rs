//! The Works-with-Alexa rules a machine can check, on the messages a run sees: discovery's
//! endpoints, every answer, every event the gateway receives.

use serde::Serialize;
use serde_json::Value;

/// How long an answer may take and still be well inside Alexa's 8 s.
pub const ANSWER_WITHIN_MS: u128 = 2000;

/// A rule a message broke (or, for a warning, what a maker should look at).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule: &'static str,
    /// The endpoint it is about, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    pub detail: String,
    /// The message it was first seen in.
    pub first_seen: String,
    /// How many messages showed it.
    pub occurrences: usize,
    /// A warning does not fail the certification.
    pub warning: bool,
}

impl Finding {
    fn failure(rule: &'static str, endpoint: Option<&str>, seen: &str, detail: String) -> Self {
        Self {
            rule,
            endpoint: endpoint.map(str::to_owned),
            detail,
            first_seen: seen.to_owned(),
            occurrences: 1,
            warning: false,
        }
    }

    /// The same problem of the same endpoint, seen again.
    pub fn same_as(&self, other: &Self) -> bool {
        (self.rule, &self.endpoint, &self.detail, self.warning)
            == (other.rule, &other.endpoint, &other.detail, other.warning)
    }
}

/// Adds `new` to `findings`, counting a problem already there instead of repeating it.
pub fn merge(findings: &mut Vec<Finding>, new: impl IntoIterator<Item = Finding>) {
    for finding in new {
        match findings.iter_mut().find(|f| f.same_as(&finding)) {
            Some(known) => known.occurrences += 1,
            None => findings.push(finding),
        }
    }
}

/// A reportable property: namespace, name, instance.
pub type PropertyId = (String, String, Option<String>);

/// Every message: payload version 3, a version-4 UUID as its message id.
pub fn message(what: &str, message: &Value) -> Vec<Finding> {
    let header = message
        .pointer("/event/header")
        .or_else(|| message.pointer("/directive/header"))
        .unwrap_or(&Value::Null);
    let endpoint = message
        .pointer("/event/endpoint/endpointId")
        .and_then(Value::as_str);
    let mut found = Vec::new();
    if header["payloadVersion"] != "3" {
        found.push(Finding::failure(
            "payload version 3",
            endpoint,
            what,
            format!("payloadVersion is {}", header["payloadVersion"]),
        ));
    }
    let id = header["messageId"].as_str().unwrap_or("");
    let v4 = uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4);
    if !v4 {
        found.push(Finding::failure(
            "messageId is a version-4 UUID",
            endpoint,
            what,
            format!("messageId {id:?}"),
        ));
    }
    found
}

/// Discovery's endpoints: every capability of version 3, the names a customer sees, the
/// attributes the device item has, and every property retrievable and proactively reported.
/// `items` gives, by endpoint id, whether the device item has a manufacturer and a model.
pub fn endpoints(
    discovered: &[Value],
    items: &dyn Fn(&str) -> Option<(bool, bool)>,
) -> Vec<Finding> {
    let mut found = Vec::new();
    for endpoint in discovered {
        let id = endpoint["endpointId"].as_str().unwrap_or("?");
        let at = Some(id);
        for field in ["manufacturerName", "description", "friendlyName"] {
            if endpoint[field].as_str().is_none_or(str::is_empty) {
                found.push(Finding::failure(
                    "manufacturerName and description",
                    at,
                    "Discover",
                    format!("no {field}"),
                ));
            }
        }
        if let Some((manufacturer, model)) = items(id) {
            let attributes = &endpoint["additionalAttributes"];
            for (has, field) in [(manufacturer, "manufacturer"), (model, "model")] {
                if has && attributes[field].as_str().is_none_or(str::is_empty) {
                    found.push(Finding::failure(
                        "additionalAttributes from the device item",
                        at,
                        "Discover",
                        format!(
                            "the device item has a {field}; additionalAttributes.{field} is missing"
                        ),
                    ));
                } else if !has {
                    found.push(Finding {
                        warning: true,
                        ..Finding::failure(
                            "additionalAttributes from the device item",
                            at,
                            "Discover",
                            format!(
                                "the device item has no {field}: Works with Alexa asks for additionalAttributes.{field}"
                            ),
                        )
                    });
                }
            }
        }
        for capability in endpoint["capabilities"].as_array().into_iter().flatten() {
            let interface = capability["interface"].as_str().unwrap_or("?");
            if capability["version"] != "3" {
                found.push(Finding::failure(
                    "capability version 3",
                    at,
                    "Discover",
                    format!("{interface} has version {}", capability["version"]),
                ));
            }
            let properties = &capability["properties"];
            if properties["supported"]
                .as_array()
                .is_some_and(|s| !s.is_empty())
            {
                for flag in ["retrievable", "proactivelyReported"] {
                    if properties[flag] != true {
                        found.push(Finding::failure(
                            "every property retrievable and proactively reported",
                            at,
                            "Discover",
                            format!("{interface}: {flag} is {}", properties[flag]),
                        ));
                    }
                }
            }
        }
    }
    found
}

/// The reportable properties a discovered endpoint declares.
pub fn properties(endpoint: &Value) -> Vec<PropertyId> {
    let mut out = Vec::new();
    for capability in endpoint["capabilities"].as_array().into_iter().flatten() {
        let namespace = capability["interface"].as_str().unwrap_or("").to_owned();
        let instance = capability["instance"].as_str().map(str::to_owned);
        for p in capability["properties"]["supported"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(name) = p["name"].as_str() {
                out.push((namespace.clone(), name.to_owned(), instance.clone()));
            }
        }
    }
    out
}

fn has(properties: &[&Value], (namespace, name, instance): &PropertyId) -> bool {
    properties.iter().any(|p| {
        p["namespace"] == namespace.as_str()
            && p["name"] == name.as_str()
            && instance.as_deref().is_none_or(|i| p["instance"] == i)
    })
}

/// An `Alexa.Response` (or `StateReport`): its context reports every property the endpoint
/// declares, connectivity included (a value the device never reported cannot be, and is named).
pub fn context(
    what: &str,
    endpoint: &str,
    answer: &Value,
    declared: &[PropertyId],
) -> Vec<Finding> {
    let properties: Vec<&Value> = answer["context"]["properties"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let connectivity = (
        "Alexa.EndpointHealth".to_owned(),
        "connectivity".to_owned(),
        None,
    );
    declared
        .iter()
        .chain(std::iter::once(&connectivity))
        .filter(|p| !has(&properties, p))
        .map(|(namespace, name, _)| {
            Finding::failure(
                "a response reports every property",
                Some(endpoint),
                what,
                format!("no {namespace}.{name} in its context"),
            )
        })
        .collect()
}

/// A state change the skill made: a ChangeReport for the endpoint must follow, whose context
/// (or change) holds connectivity.
pub fn change_reported(what: &str, endpoint: &str, events: &[Value]) -> Vec<Finding> {
    let reports: Vec<&Value> = events
        .iter()
        .filter(|e| {
            e["event"]["header"]["name"] == "ChangeReport"
                && e["event"]["endpoint"]["endpointId"] == endpoint
        })
        .collect();
    if reports.is_empty() {
        return vec![Finding::failure(
            "a ChangeReport follows every state change",
            Some(endpoint),
            what,
            "the state changed; no ChangeReport followed".into(),
        )];
    }
    let connectivity = (
        "Alexa.EndpointHealth".to_owned(),
        "connectivity".to_owned(),
        None,
    );
    reports
        .iter()
        .filter(|r| {
            let mut all: Vec<&Value> = Vec::new();
            for at in ["/context/properties", "/event/payload/change/properties"] {
                all.extend(
                    r.pointer(at)
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten(),
                );
            }
            !has(&all, &connectivity)
        })
        .map(|_| {
            Finding::failure(
                "a ChangeReport's context holds connectivity",
                Some(endpoint),
                what,
                "a ChangeReport without Alexa.EndpointHealth.connectivity".into(),
            )
        })
        .collect()
}

/// How long an answer took.
pub fn timing(what: &str, endpoint: Option<&str>, elapsed_ms: u128) -> Vec<Finding> {
    if elapsed_ms <= ANSWER_WITHIN_MS {
        return Vec::new();
    }
    vec![Finding::failure(
        "answers well inside 8 s",
        endpoint,
        &format!("{what}, {elapsed_ms} ms"),
        format!("an answer took more than {ANSWER_WITHIN_MS} ms"),
    )]
}
