//! The reports sent for one customer's changes, chunked within Alexa's limits.

use tracing::error;

use crate::alexa::endpoint::Endpoint;
use crate::alexa::event::{self, CauseType, PropertyState};
use crate::alexa::validate::MAX_ENDPOINTS;
use crate::alexa::{BearerToken, Scope};
use crate::ids::EndpointId;

/// `AddOrUpdateReport` bodies stay under this many bytes (Alexa's limit is 256 KB).
pub const MAX_REPORT_BYTES: usize = 256_000;
/// Endpoints per `DeleteReport`. Amazon documents no limit, but an integrator saw 500s at 134
/// endpoints in one DeleteReport and sends 30; 50 keeps well clear of that and still clears a
/// large account in a few requests.
pub const DELETE_CHUNK: usize = 50;
/// LWA access tokens are at most this long; the size budget reserves room for the longest.
const MAX_TOKEN_BYTES: usize = 2048;

/// One event to send, and its caller's tag.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub kind: ReportKind,
    /// The caller's tag, the earliest of the inputs the report was made of: for the stream,
    /// the earliest stream record it carries a change of; nothing for other senders.
    pub tag: Option<usize>,
}

/// The earlier of two tags (a tag is earlier than none).
pub fn earliest(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    a.into_iter().chain(b).min()
}

#[derive(Debug, Clone, PartialEq)]
pub enum ReportKind {
    AddOrUpdate(Vec<Endpoint>),
    Delete(Vec<EndpointId>),
    /// A `ChangeReport`: one endpoint per event.
    Change(Box<StateChange>),
    /// The asynchronous `Alexa.Response` to a deferred directive.
    Response(Box<AsyncResponse>),
    /// A doorbell's press: an event, sent once per press (never a state to resend).
    DoorbellPress(Box<Press>),
}

/// A doorbell's press.
#[derive(Debug, Clone, PartialEq)]
pub struct Press {
    pub endpoint_id: EndpointId,
    /// When it was pressed, Unix ms, as the device side recorded it.
    pub at_ms: i64,
}

/// The outcome of a command the device confirmed (or could not carry out), for the directive
/// Alexa was told to wait on.
#[derive(Debug, Clone, PartialEq)]
pub struct AsyncResponse {
    pub endpoint_id: EndpointId,
    pub correlation_token: String,
    /// Every reportable property, as the device reported them.
    pub properties: Vec<PropertyState>,
}

/// What a `ChangeReport` tells: the properties that changed, and the rest of the reportable
/// ones (connectivity included) as context.
#[derive(Debug, Clone, PartialEq)]
pub struct StateChange {
    pub endpoint_id: EndpointId,
    pub cause: CauseType,
    pub changed: Vec<PropertyState>,
    pub unchanged: Vec<PropertyState>,
}

impl ReportKind {
    /// The event's name, as the gateway sees it.
    pub fn event_name(&self) -> &'static str {
        match self {
            Self::AddOrUpdate(_) => "AddOrUpdateReport",
            Self::Delete(_) => "DeleteReport",
            Self::Change(_) => "ChangeReport",
            Self::Response(_) => "Response",
            Self::DoorbellPress(_) => "DoorbellPress",
        }
    }
}

impl Report {
    /// The event's JSON, with the customer's current access token in its scope and a fresh
    /// message id.
    pub fn body(&self, token: &BearerToken) -> Vec<u8> {
        let scope = Scope::bearer(token.clone());
        let json = match &self.kind {
            ReportKind::AddOrUpdate(endpoints) => {
                serde_json::to_vec(&event::add_or_update_report(endpoints.clone(), scope))
            }
            ReportKind::Delete(ids) => {
                serde_json::to_vec(&event::delete_report(ids.clone(), scope))
            }
            ReportKind::Change(c) => serde_json::to_vec(&event::change_report(
                c.endpoint_id.clone(),
                scope,
                c.cause,
                c.changed.clone(),
                c.unchanged.clone(),
            )),
            ReportKind::Response(r) => serde_json::to_vec(&event::async_response(
                r.endpoint_id.clone(),
                r.correlation_token.clone(),
                scope,
                r.properties.clone(),
            )),
            ReportKind::DoorbellPress(p) => serde_json::to_vec(&event::doorbell_press(
                p.endpoint_id.clone(),
                scope,
                p.at_ms,
            )),
        };
        // Plain structs with string keys always serialize.
        json.unwrap_or_default()
    }

    pub fn endpoint_ids(&self) -> Vec<&EndpointId> {
        match &self.kind {
            ReportKind::AddOrUpdate(endpoints) => {
                endpoints.iter().map(|e| &e.endpoint_id).collect()
            }
            ReportKind::Delete(ids) => ids.iter().collect(),
            ReportKind::Change(c) => vec![&c.endpoint_id],
            ReportKind::Response(r) => vec![&r.endpoint_id],
            ReportKind::DoorbellPress(p) => vec![&p.endpoint_id],
        }
    }

    pub fn len(&self) -> usize {
        match &self.kind {
            ReportKind::AddOrUpdate(endpoints) => endpoints.len(),
            ReportKind::Delete(ids) => ids.len(),
            ReportKind::Change(_) | ReportKind::Response(_) | ReportKind::DoorbellPress(_) => 1,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Halves the report, for a gateway that answered 413. `None` for a single endpoint.
    pub fn split(self) -> Option<(Report, Report)> {
        let tag = self.tag;
        let half = self.len() / 2;
        if half == 0 {
            return None;
        }
        let (a, b) = match self.kind {
            ReportKind::AddOrUpdate(mut endpoints) => {
                let rest = endpoints.split_off(half);
                (
                    ReportKind::AddOrUpdate(endpoints),
                    ReportKind::AddOrUpdate(rest),
                )
            }
            ReportKind::Delete(mut ids) => {
                let rest = ids.split_off(half);
                (ReportKind::Delete(ids), ReportKind::Delete(rest))
            }
            ReportKind::Change(_) | ReportKind::Response(_) | ReportKind::DoorbellPress(_) => {
                return None;
            }
        };
        Some((Report { kind: a, tag }, Report { kind: b, tag }))
    }
}

/// The reports for a customer's changes, each input paired with its tag: `AddOrUpdateReport`s of at most 300 endpoints and [`MAX_REPORT_BYTES`] first
/// (Alexa must know an endpoint before its state), then one `ChangeReport` per endpoint, then
/// `DeleteReport`s of at most [`DELETE_CHUNK`].
pub fn plan(
    upserts: Vec<(Endpoint, Option<usize>)>,
    changes: Vec<(StateChange, Option<usize>)>,
    deletes: Vec<(EndpointId, Option<usize>)>,
) -> Vec<Report> {
    let mut reports = Vec::new();
    let overhead = envelope_bytes();
    let mut chunk: Vec<Endpoint> = Vec::new();
    let mut chunk_bytes = overhead;
    let mut first = None;
    for (endpoint, tag) in upserts {
        // The endpoint's bytes plus the comma that separates it from the previous one.
        let bytes = serde_json::to_vec(&endpoint).map_or(usize::MAX, |v| v.len()) + 1;
        if overhead.saturating_add(bytes) > MAX_REPORT_BYTES {
            error!(endpoint_id = %endpoint.endpoint_id, bytes, "endpoint alone exceeds the report size limit; not sent");
            continue;
        }
        if chunk.len() == MAX_ENDPOINTS || chunk_bytes + bytes > MAX_REPORT_BYTES {
            reports.push(Report {
                kind: ReportKind::AddOrUpdate(std::mem::take(&mut chunk)),
                tag: first,
            });
            chunk_bytes = overhead;
            first = None;
        }
        chunk_bytes += bytes;
        first = earliest(first, tag);
        chunk.push(endpoint);
    }
    if !chunk.is_empty() {
        reports.push(Report {
            kind: ReportKind::AddOrUpdate(chunk),
            tag: first,
        });
    }
    for (change, tag) in changes {
        reports.push(Report {
            kind: ReportKind::Change(Box::new(change)),
            tag,
        });
    }
    for part in deletes.chunks(DELETE_CHUNK) {
        reports.push(Report {
            kind: ReportKind::Delete(part.iter().map(|(id, _)| id.clone()).collect()),
            tag: part.iter().map(|(_, t)| *t).fold(None, earliest),
        });
    }
    reports
}

/// The bytes of an `AddOrUpdateReport` with no endpoints and the longest possible token.
fn envelope_bytes() -> usize {
    let token = BearerToken::new("x".repeat(MAX_TOKEN_BYTES));
    serde_json::to_vec(&event::add_or_update_report(
        Vec::new(),
        Scope::bearer(token),
    ))
    .map_or(1024, |v| v.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{Device, mapping};
    use crate::ids::EndpointId;

    fn endpoint(id: usize, description_len: usize) -> Endpoint {
        let device: Device = serde_json::from_value(serde_json::json!({
            "userId": "u", "endpointId": format!("e-{id:04}"), "name": "Lamp",
            "description": "d".repeat(description_len), "manufacturer": "Acme", "category": "LIGHT",
            "capabilities": [{"type": "power"}],
        }))
        .unwrap();
        let mut e = mapping::endpoint(&device.definition);
        // Big but valid endpoints: cookies count towards the size.
        if description_len > 100 {
            for k in 0..4 {
                e.cookie.insert(format!("k{k}"), "c".repeat(1200));
            }
        }
        e
    }

    #[test]
    fn at_most_300_endpoints_per_report() {
        let upserts = (0..650).map(|i| (endpoint(i, 10), Some(i))).collect();
        let reports = plan(upserts, vec![], vec![]);
        let sizes: Vec<usize> = reports.iter().map(Report::len).collect();
        assert_eq!(sizes, [300, 300, 50]);
        assert_eq!(reports[1].tag, Some(300));
    }

    #[test]
    fn reports_stay_under_the_byte_limit() {
        let token = BearerToken::new("t".repeat(2048));
        let upserts: Vec<_> = (0..200).map(|i| (endpoint(i, 120), Some(i))).collect();
        let reports = plan(upserts, vec![], vec![]);
        assert!(
            reports.len() > 1,
            "5 KB endpoints × 200 must not fit in one report"
        );
        let total: usize = reports.iter().map(Report::len).sum();
        assert_eq!(total, 200);
        for r in &reports {
            assert!(r.body(&token).len() <= MAX_REPORT_BYTES);
        }
    }

    #[test]
    fn deletes_are_chunked() {
        let deletes = (0..120)
            .map(|i| (EndpointId::from(format!("d-{i}")), Some(1000 + i)))
            .collect();
        let reports = plan(vec![], vec![], deletes);
        let sizes: Vec<usize> = reports.iter().map(Report::len).collect();
        assert_eq!(sizes, [50, 50, 20]);
        assert_eq!(reports[2].tag, Some(1100));
    }

    #[test]
    fn split_halves_and_stops_at_one() {
        let r = plan(
            vec![
                (endpoint(1, 10), Some(4)),
                (endpoint(2, 10), Some(5)),
                (endpoint(3, 10), Some(6)),
            ],
            vec![],
            vec![],
        )
        .remove(0);
        let (a, b) = r.split().unwrap();
        assert_eq!((a.len(), b.len()), (1, 2));
        assert_eq!(a.tag, Some(4));
        assert!(a.split().is_none());
    }

    #[test]
    fn a_report_is_tagged_with_the_earliest_tag_of_its_inputs_or_none() {
        let r = plan(
            vec![(endpoint(1, 10), None), (endpoint(2, 10), Some(7))],
            vec![],
            vec![("d".into(), None)],
        );
        assert_eq!(r[0].tag, Some(7));
        assert_eq!(r[1].tag, None);
    }
}
