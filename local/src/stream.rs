//! Reads the devices table's stream from the local DynamoDB-compatible server (moto, or AWS
//! DynamoDB Local) and delivers it in batches, as Lambda's event source mapping does:
//!
//! - every shard of the stream, parents before children: a child shard is read only once its
//!   parent is closed and read to its end (GetRecords answered no `NextShardIterator`), so the
//!   changes of one item arrive in stream order across shard rollovers; new shards are found by
//!   describing the stream again when the known ones have nothing new;
//! - a batch comes from one shard; shards take turns;
//! - a batch whose response names a failed record is redelivered from that record (the earliest
//!   one named; a missing, empty or unknown identifier fails the whole batch, as Lambda says);
//! - iterators are renewed when they expire or are trimmed, from the last record done (or the
//!   failed record to redeliver), never skipping or repeating a record.
//!
//! It speaks the DynamoDB Streams JSON protocol directly, so that `GetRecords` output becomes
//! the Lambda event's `Records` (the same JSON shape) after one rewrite: DynamoDB Local writes an
//! empty map attribute as `{}` instead of `{"M":{}}` (see `normalize_records`). Local servers do
//! not check signatures; this reader does not sign, and is not meant for AWS.

use std::cmp::Ordering;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use serde_json::{Value, json};

#[derive(Debug, thiserror::Error)]
pub enum LocalStreamError {
    #[error("DynamoDB Streams {operation}: {reason}")]
    Api {
        operation: &'static str,
        reason: String,
    },
    /// The server answered with an error (`code` is the exception's name, e.g.
    /// `ResourceNotFoundException`).
    #[error("DynamoDB Streams {operation}: {code}: {message}")]
    Service {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("DynamoDB Streams {operation} failed")]
    Http {
        operation: &'static str,
        #[source]
        source: reqwest::Error,
    },
    #[error("records are not a DynamoDB stream event")]
    Decode(#[source] serde_json::Error),
}

/// Where reading starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Only changes made from now on.
    Latest,
    /// Every change the stream still holds.
    TrimHorizon,
}

/// GetRecords' largest `Limit`.
const MAX_LIMIT: usize = 1000;
/// GetRecords calls on one shard for one read while its iterator keeps expiring or being
/// trimmed (each is renewed in between).
const ATTEMPTS: usize = 5;
/// Rounds over the shards in one `next_batch` while there is progress without records (a shard
/// finished, a new one found, a closed one's iterator moved on).
const ROUNDS: usize = 64;

/// Where reading a shard resumes: what a renewed iterator starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Position {
    /// The oldest record the shard holds (nothing read from it yet).
    TrimHorizon,
    /// The record to deliver again (the earliest failed one of a batch).
    At(String),
    /// After the last record delivered and done.
    After(String),
}

#[derive(Debug)]
struct Shard {
    id: String,
    parent: Option<String>,
    /// DescribeStream gave it an `EndingSequenceNumber`: it takes no new records.
    closed: bool,
    position: Position,
    /// An iterator at `position` (or past records that were not handed out); `None` until one is
    /// needed, or after it was found expired or trimmed.
    iterator: Option<String>,
    /// Closed and read to its end: its children may be read.
    finished: bool,
}

/// The batch handed out last, until [`LocalStream::done`].
#[derive(Debug)]
struct Pending {
    shard: usize,
    sequence_numbers: Vec<String>,
    /// GetRecords' `NextShardIterator` after the batch: `None` if the batch ends the shard.
    next: Option<String>,
}

/// A reader of every shard of a table's stream.
#[derive(Debug)]
pub struct LocalStream {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
    stream_arn: String,
    /// The shards known, in the order first described.
    shards: Vec<Shard>,
    /// The shard whose turn it is.
    cursor: usize,
    pending: Option<Pending>,
}

impl LocalStream {
    pub async fn open(
        endpoint: &str,
        region: &str,
        table: &str,
        start: Start,
    ) -> Result<Self, LocalStreamError> {
        let mut reader = Self {
            http: reqwest::Client::new(),
            endpoint: endpoint.to_owned(),
            // Local servers read the access key and region from the credential scope (DynamoDB
            // Local keeps a database per pair: `local`, as the product's client); nothing checks
            // the signature.
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
            ),
            stream_arn: String::new(),
            shards: Vec::new(),
            cursor: 0,
            pending: None,
        };
        let streams = reader
            .call("ListStreams", json!({"TableName": table}))
            .await?;
        reader.stream_arn = str_at(&streams, "/Streams/0/StreamArn", "ListStreams")?;
        reader.refresh().await?;
        if start == Start::Latest {
            // Lambda starts at the tip of the open shards. The tip is found by reading them to
            // their end now, rather than kept as a LATEST iterator: such an iterator cannot be
            // renewed without skipping what was written in between, and DynamoDB Local answers
            // TrimmedDataAccessException to one taken on an empty shard once records arrive (its
            // sequence numbers are global to the server, so the first record of a shard comes
            // after the shard's starting number).
            for index in 0..reader.shards.len() {
                if reader.shards[index].closed {
                    reader.shards[index].finished = true;
                } else {
                    reader.skip_to_end(index).await?;
                }
            }
        }
        Ok(reader)
    }

    /// The next batch of at most `limit` records (possibly none), from one shard. Until
    /// [`Self::done`] is called with its response, the same positions are kept: the next call
    /// reads the same records again.
    pub async fn next_batch(&mut self, limit: usize) -> Result<Event, LocalStreamError> {
        self.pending = None;
        let limit = limit.clamp(1, MAX_LIMIT);
        for _ in 0..ROUNDS {
            let mut progress = false;
            let count = self.shards.len();
            for turn in 0..count {
                let index = (self.cursor + turn) % count;
                if !self.readable(index) {
                    continue;
                }
                let (records, next) = self.get_records(index, limit).await?;
                if !records.is_empty() {
                    let sequence_numbers = records
                        .iter()
                        .map(sequence_number)
                        .collect::<Result<Vec<_>, _>>()?;
                    self.pending = Some(Pending {
                        shard: index,
                        sequence_numbers,
                        next,
                    });
                    return decode(records);
                }
                // Nothing to hand out: the iterator moves on at once.
                let shard = &mut self.shards[index];
                match next {
                    None => {
                        shard.finished = true;
                        shard.iterator = None;
                        progress = true;
                    }
                    Some(next) => {
                        shard.iterator = Some(next);
                        // A closed shard may answer empty pages before its end.
                        progress |= shard.closed;
                    }
                }
            }
            // New shards (a rollover) or shards closed since: describe the stream again.
            progress |= self.refresh().await?;
            if !progress {
                break;
            }
        }
        decode(Vec::new())
    }

    /// Moves on after a batch: past it, or back to the earliest failed record, as Lambda does.
    pub async fn done(&mut self, response: &DynamoDbEventResponse) -> Result<(), LocalStreamError> {
        let Some(pending) = self.pending.take() else {
            return Ok(());
        };
        let shard = &mut self.shards[pending.shard];
        match redeliver_from(response, &pending.sequence_numbers) {
            Some(failed) => {
                shard.position = Position::At(failed);
                shard.iterator = None;
            }
            None => {
                if let Some(last) = pending.sequence_numbers.last() {
                    shard.position = Position::After(last.clone());
                }
                match pending.next {
                    Some(next) => shard.iterator = Some(next),
                    None => {
                        shard.finished = true;
                        shard.iterator = None;
                    }
                }
            }
        }
        self.cursor = pending.shard + 1;
        Ok(())
    }

    /// Gives up on the batch handed out last, as Lambda does once its retries are exhausted:
    /// moves past it, and returns the failure record Lambda puts in the on-failure
    /// destination (the dead-letter queue), which names the batch but holds none of its records.
    pub async fn give_up(&mut self) -> Result<Option<Value>, LocalStreamError> {
        let Some(pending) = self.pending.as_ref() else {
            return Ok(None);
        };
        let (Some(first), Some(last)) = (
            pending.sequence_numbers.first(),
            pending.sequence_numbers.last(),
        ) else {
            return Ok(None);
        };
        let record = json!({
            "requestContext": {
                "requestId": "local",
                "functionArn": "arn:aws:lambda:local:000000000000:function:stream",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 1,
            },
            "version": "1.0",
            "DDBStreamBatchInfo": {
                "shardId": self.shards[pending.shard].id,
                "startSequenceNumber": first,
                "endSequenceNumber": last,
                "batchSize": pending.sequence_numbers.len(),
                "streamArn": self.stream_arn,
            },
        });
        self.done(&DynamoDbEventResponse::default()).await?;
        Ok(Some(record))
    }

    /// Not finished, and its parent (if the stream still holds it) finished.
    fn readable(&self, index: usize) -> bool {
        let shard = &self.shards[index];
        !shard.finished
            && shard.parent.as_ref().is_none_or(|parent| {
                self.shards
                    .iter()
                    .find(|s| &s.id == parent)
                    .is_none_or(|s| s.finished)
            })
    }

    /// Reads an open shard to its end without handing anything out (Start::Latest).
    async fn skip_to_end(&mut self, index: usize) -> Result<(), LocalStreamError> {
        loop {
            let (records, next) = self.get_records(index, MAX_LIMIT).await?;
            let last = records.last().map(sequence_number).transpose()?;
            let shard = &mut self.shards[index];
            if let Some(last) = last {
                shard.position = Position::After(last);
            }
            match next {
                None => {
                    shard.finished = true;
                    shard.iterator = None;
                    return Ok(());
                }
                Some(next) => shard.iterator = Some(next),
            }
            if records.is_empty() {
                return Ok(());
            }
        }
    }

    /// GetRecords on a shard from its iterator, renewed from the shard's position when it expired
    /// or was trimmed: the records (as the server wrote them, but for `normalize_records`) and
    /// the `NextShardIterator`.
    async fn get_records(
        &mut self,
        index: usize,
        limit: usize,
    ) -> Result<(Vec<Value>, Option<String>), LocalStreamError> {
        let mut trimmed = 0;
        for _ in 0..ATTEMPTS {
            let iterator = match self.shards[index].iterator.clone() {
                Some(iterator) => iterator,
                None => {
                    let iterator = self.renew(index).await?;
                    self.shards[index].iterator = Some(iterator.clone());
                    iterator
                }
            };
            let request = json!({"ShardIterator": iterator, "Limit": limit});
            match self.call("GetRecords", request).await {
                Ok(mut out) => {
                    let mut records = match out.get_mut("Records").map(Value::take) {
                        Some(Value::Array(records)) => records,
                        _ => Vec::new(),
                    };
                    normalize_records(&mut records);
                    let next = out["NextShardIterator"].as_str().map(str::to_owned);
                    return Ok((records, next));
                }
                Err(LocalStreamError::Service { code, .. })
                    if code == "ExpiredIteratorException" =>
                {
                    self.shards[index].iterator = None;
                }
                Err(LocalStreamError::Service { code, .. })
                    if code == "TrimmedDataAccessException" =>
                {
                    let shard = &mut self.shards[index];
                    shard.iterator = None;
                    trimmed += 1;
                    // Renewed from a record read before and trimmed again: that record and
                    // what follows it are gone from the stream (older than its retention).
                    // Lambda, too, goes on from the oldest record left.
                    if trimmed > 1 {
                        shard.position = Position::TrimHorizon;
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Err(LocalStreamError::Api {
            operation: "GetRecords",
            reason: format!(
                "shard {}: the iterator was still expired or trimmed after {ATTEMPTS} renewals",
                self.shards[index].id
            ),
        })
    }

    /// A new iterator at the shard's position.
    async fn renew(&self, index: usize) -> Result<String, LocalStreamError> {
        let shard = &self.shards[index];
        let (kind, sequence_number) = match &shard.position {
            Position::TrimHorizon => ("TRIM_HORIZON", None),
            Position::At(n) => ("AT_SEQUENCE_NUMBER", Some(n)),
            Position::After(n) => ("AFTER_SEQUENCE_NUMBER", Some(n)),
        };
        let mut request =
            json!({"StreamArn": self.stream_arn, "ShardId": shard.id, "ShardIteratorType": kind});
        if let Some(n) = sequence_number {
            request["SequenceNumber"] = json!(n);
        }
        let out = self.call("GetShardIterator", request).await?;
        str_at(&out, "/ShardIterator", "GetShardIterator")
    }

    /// Describes the stream (every page) and learns new shards and shards closed since; whether
    /// anything changed. A new shard is read from its start, as Lambda reads a child shard.
    async fn refresh(&mut self) -> Result<bool, LocalStreamError> {
        let mut changed = false;
        let mut start: Option<String> = None;
        loop {
            let mut request = json!({"StreamArn": self.stream_arn});
            if let Some(start) = &start {
                request["ExclusiveStartShardId"] = json!(start);
            }
            let out = self.call("DescribeStream", request).await?;
            let description = &out["StreamDescription"];
            for listed in description["Shards"].as_array().into_iter().flatten() {
                let id = str_at(listed, "/ShardId", "DescribeStream")?;
                let closed = listed
                    .pointer("/SequenceNumberRange/EndingSequenceNumber")
                    .is_some_and(|n| !n.is_null());
                match self.shards.iter_mut().find(|s| s.id == id) {
                    Some(known) => {
                        changed |= closed && !known.closed;
                        known.closed |= closed;
                    }
                    None => {
                        changed = true;
                        self.shards.push(Shard {
                            id,
                            parent: listed["ParentShardId"].as_str().map(str::to_owned),
                            closed,
                            position: Position::TrimHorizon,
                            iterator: None,
                            finished: false,
                        });
                    }
                }
            }
            match description["LastEvaluatedShardId"].as_str() {
                Some(last) if start.as_deref() != Some(last) => start = Some(last.to_owned()),
                _ => break,
            }
        }
        if self.shards.is_empty() {
            return Err(LocalStreamError::Api {
                operation: "DescribeStream",
                reason: "the stream has no shards".into(),
            });
        }
        Ok(changed)
    }

    async fn call(&self, operation: &'static str, body: Value) -> Result<Value, LocalStreamError> {
        let answer = self
            .http
            .post(&self.endpoint)
            .header(
                "X-Amz-Target",
                format!("DynamoDBStreams_20120810.{operation}"),
            )
            .header("Content-Type", "application/x-amz-json-1.0")
            .header("Authorization", &self.authorization)
            .body(body.to_string())
            .send()
            .await
            .map_err(|source| LocalStreamError::Http { operation, source })?;
        let status = answer.status();
        let text = answer
            .text()
            .await
            .map_err(|source| LocalStreamError::Http { operation, source })?;
        if !status.is_success() {
            // `{"__type": "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException",
            // "message": "…"}` (DynamoDB Local writes `Message`).
            let error: Value = serde_json::from_str(&text).unwrap_or_default();
            if let Some(kind) = error["__type"].as_str() {
                let message = error["message"].as_str().or(error["Message"].as_str());
                return Err(LocalStreamError::Service {
                    operation,
                    code: kind.rsplit('#').next().unwrap_or(kind).to_owned(),
                    message: message.unwrap_or_default().to_owned(),
                });
            }
            return Err(LocalStreamError::Api {
                operation,
                reason: format!(
                    "HTTP {status}: {}",
                    text.chars().take(300).collect::<String>()
                ),
            });
        }
        serde_json::from_str(&text).map_err(LocalStreamError::Decode)
    }
}

/// Where to redeliver from after a batch (`None`: it is done). As Lambda: the earliest record
/// named; a missing, empty or unknown identifier fails the whole batch.
fn redeliver_from(response: &DynamoDbEventResponse, batch: &[String]) -> Option<String> {
    let mut earliest: Option<&String> = None;
    for failure in &response.batch_item_failures {
        let named = failure.item_identifier.as_deref().and_then(|id| {
            batch
                .iter()
                .find(|n| compare_sequence_numbers(n, id) == Ordering::Equal)
        });
        let Some(named) = named else {
            return batch.first().cloned();
        };
        if earliest.is_none_or(|e| compare_sequence_numbers(named, e) == Ordering::Less) {
            earliest = Some(named);
        }
    }
    earliest.cloned()
}

/// Sequence numbers are decimal strings of different lengths: compared as numbers (leading
/// zeros aside, the longer is the larger).
fn compare_sequence_numbers(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn sequence_number(record: &Value) -> Result<String, LocalStreamError> {
    str_at(record, "/dynamodb/SequenceNumber", "GetRecords")
}

fn decode(records: Vec<Value>) -> Result<Event, LocalStreamError> {
    serde_json::from_value(json!({ "Records": records })).map_err(LocalStreamError::Decode)
}

/// Rewrites what DynamoDB Local writes differently from DynamoDB in stream records: an empty
/// map attribute value, at any depth of `Keys`, `NewImage` and `OldImage`, comes as `{}` where
/// DynamoDB writes `{"M":{}}` (and `serde_dynamo`, as the Lambda, expects it). Only this local
/// reader rewrites it: the Lambda's decoding stays as strict as what AWS sends.
fn normalize_records(records: &mut [Value]) {
    for record in records {
        for image in ["Keys", "NewImage", "OldImage"] {
            if let Some(Value::Object(attributes)) = record
                .get_mut("dynamodb")
                .and_then(|change| change.get_mut(image))
            {
                attributes.values_mut().for_each(normalize_attribute);
            }
        }
    }
}

fn normalize_attribute(value: &mut Value) {
    let Value::Object(typed) = value else {
        return;
    };
    if typed.is_empty() {
        *value = json!({"M": {}});
        return;
    }
    if let Some(Value::Object(map)) = typed.get_mut("M") {
        map.values_mut().for_each(normalize_attribute);
    }
    if let Some(Value::Array(list)) = typed.get_mut("L") {
        list.iter_mut().for_each(normalize_attribute);
    }
}

fn str_at(
    value: &Value,
    pointer: &str,
    operation: &'static str,
) -> Result<String, LocalStreamError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| LocalStreamError::Api {
            operation,
            reason: format!("no {pointer} in the answer (is the table's stream enabled?)"),
        })
}

/// A stream record of the devices table as Lambda delivers it (`NEW_AND_OLD_IMAGES`), for
/// tests, benchmarks and sample events: `INSERT` (no old image), `MODIFY`, or `REMOVE` (no
/// new image).
pub fn record(
    sequence_number: u64,
    old: Option<&alexa_smart_home::device::Device>,
    new: Option<&alexa_smart_home::device::Device>,
) -> Value {
    let image = |d: &alexa_smart_home::device::Device| {
        serde_dynamo::to_item::<_, serde_dynamo::Item>(d)
            .ok()
            .and_then(|item| serde_json::to_value(item).ok())
            .unwrap_or_default()
    };
    let Some(keys_of) = new.or(old) else {
        return Value::Null;
    };
    let name = match (old, new) {
        (None, _) => "INSERT",
        (Some(_), Some(_)) => "MODIFY",
        (Some(_), None) => "REMOVE",
    };
    let mut change = json!({
        "Keys": {"userId": {"S": keys_of.definition.user_id}, "endpointId": {"S": keys_of.definition.endpoint_id}},
        "SequenceNumber": sequence_number.to_string(),
        "SizeBytes": 100,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
        "ApproximateCreationDateTime": 1_700_000_000.0,
    });
    if let Some(old) = old {
        change["OldImage"] = image(old);
    }
    if let Some(new) = new {
        change["NewImage"] = image(new);
    }
    json!({
        "eventID": sequence_number.to_string(),
        "eventName": name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": change,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use aws_lambda_events::event::streams::DynamoDbBatchItemFailure;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    use super::*;

    /// DynamoDB Streams as DynamoDB Local serves them: sequence numbers (21 digits) from one
    /// counter for the whole server, so that an iterator taken on an empty shard is trimmed once
    /// records arrive; iterators that expire; shards that close and have children. DescribeStream
    /// answers in pages of two and lists children before their parents.
    #[derive(Default)]
    struct Fake {
        counter: u64,
        shards: Vec<FakeShard>,
        /// Iterators of an earlier generation are expired.
        generation: u64,
    }

    struct FakeShard {
        id: String,
        parent: Option<String>,
        start: u64,
        records: Vec<u64>,
        closed: bool,
    }

    fn seq(n: u64) -> String {
        format!("{n:021}")
    }

    impl Fake {
        fn shard(&mut self, id: &str, parent: Option<&str>) {
            self.counter += 1;
            self.shards.push(FakeShard {
                id: id.into(),
                parent: parent.map(Into::into),
                start: self.counter,
                records: Vec::new(),
                closed: false,
            });
        }

        fn put(&mut self, id: &str, count: usize) -> Vec<String> {
            (0..count)
                .map(|_| {
                    self.counter += 1;
                    let n = self.counter;
                    let shard = self.shards.iter_mut().find(|s| s.id == id).unwrap();
                    assert!(!shard.closed);
                    shard.records.push(n);
                    seq(n)
                })
                .collect()
        }

        fn close(&mut self, id: &str) {
            self.shards.iter_mut().find(|s| s.id == id).unwrap().closed = true;
        }

        /// The stream drops a shard's records older than `below` (its retention).
        fn trim(&mut self, id: &str, below: &str) {
            let below: u64 = below.parse().unwrap();
            let shard = self.shards.iter_mut().find(|s| s.id == id).unwrap();
            shard.records.retain(|n| *n >= below);
        }

        fn expire_iterators(&mut self) {
            self.generation += 1;
        }

        fn shard_of(&self, sequence_number: &str) -> &str {
            let n: u64 = sequence_number.parse().unwrap();
            let shard = self.shards.iter().find(|s| s.records.contains(&n));
            &shard.unwrap().id
        }

        /// A record as DynamoDB Local writes it: an empty map attribute as `{}`.
        fn record(shard: &str, n: u64) -> Value {
            json!({
                "eventID": n.to_string(), "eventName": "INSERT", "eventVersion": "1.1",
                "eventSource": "aws:dynamodb", "awsRegion": "ddblocal",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_700_000_000.0,
                    "Keys": {"k": {"S": shard}},
                    "NewImage": {"k": {"S": shard}, "settings": {}},
                    "SequenceNumber": seq(n), "SizeBytes": 10, "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
            })
        }

        fn handle(
            &mut self,
            operation: &str,
            body: &Value,
        ) -> Result<Value, (&'static str, String)> {
            let find = |id: &str| {
                self.shards
                    .iter()
                    .find(|s| s.id == id)
                    .ok_or(("ResourceNotFoundException", format!("no shard {id}")))
            };
            match operation {
                "ListStreams" => Ok(
                    json!({"Streams": [{"StreamArn": "arn:fake", "TableName": body["TableName"]}]}),
                ),
                "DescribeStream" => {
                    let listed: Vec<&FakeShard> = self.shards.iter().rev().collect();
                    let from = match body["ExclusiveStartShardId"].as_str() {
                        Some(id) => listed.iter().position(|s| s.id == id).unwrap() + 1,
                        None => 0,
                    };
                    let page: Vec<Value> = listed
                        .iter()
                        .skip(from)
                        .take(2)
                        .map(|s| {
                            let mut range = json!({"StartingSequenceNumber": seq(s.start)});
                            if s.closed {
                                let end = s.records.last().copied().unwrap_or(s.start);
                                range["EndingSequenceNumber"] = json!(seq(end));
                            }
                            let mut shard = json!({"ShardId": s.id, "SequenceNumberRange": range});
                            if let Some(parent) = &s.parent {
                                shard["ParentShardId"] = json!(parent);
                            }
                            shard
                        })
                        .collect();
                    let mut description = json!({"StreamArn": "arn:fake", "Shards": page});
                    if from + 2 < listed.len() {
                        description["LastEvaluatedShardId"] = json!(listed[from + 1].id);
                    }
                    Ok(json!({ "StreamDescription": description }))
                }
                "GetShardIterator" => {
                    let shard = find(body["ShardId"].as_str().unwrap())?;
                    let n = || {
                        body["SequenceNumber"]
                            .as_str()
                            .unwrap()
                            .parse::<u64>()
                            .unwrap()
                    };
                    let at = match body["ShardIteratorType"].as_str().unwrap() {
                        "TRIM_HORIZON" => shard.records.first().copied().unwrap_or(shard.start),
                        "LATEST" => shard.records.last().map_or(shard.start, |last| last + 1),
                        "AT_SEQUENCE_NUMBER" => n(),
                        "AFTER_SEQUENCE_NUMBER" => n() + 1,
                        other => return Err(("ValidationException", other.into())),
                    };
                    Ok(json!({"ShardIterator": format!("{}|{at}|{}", shard.id, self.generation)}))
                }
                "GetRecords" => {
                    let iterator = body["ShardIterator"].as_str().unwrap();
                    let parts: Vec<&str> = iterator.split('|').collect();
                    let at: u64 = parts[1].parse().unwrap();
                    if parts[2].parse::<u64>().unwrap() < self.generation {
                        return Err(("ExpiredIteratorException", "Iterator expired".into()));
                    }
                    let shard = find(parts[0])?;
                    if shard.records.first().is_some_and(|first| at < *first) {
                        return Err(("TrimmedDataAccessException", "The operation attempted to read past the oldest stream record in a shard.".into()));
                    }
                    let limit = usize::try_from(body["Limit"].as_u64().unwrap()).unwrap();
                    let left: Vec<u64> =
                        shard.records.iter().copied().filter(|n| *n >= at).collect();
                    let taken = &left[..left.len().min(limit)];
                    let records: Vec<Value> =
                        taken.iter().map(|n| Self::record(&shard.id, *n)).collect();
                    let mut out = json!({ "Records": records });
                    if !(shard.closed && taken.len() == left.len()) {
                        let next = taken.last().map_or(at, |last| last + 1);
                        out["NextShardIterator"] =
                            json!(format!("{}|{next}|{}", shard.id, self.generation));
                    }
                    Ok(out)
                }
                other => Err(("UnknownOperationException", other.into())),
            }
        }
    }

    struct Server(Arc<Mutex<Fake>>);

    impl Respond for Server {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let target = request
                .headers
                .get("x-amz-target")
                .unwrap()
                .to_str()
                .unwrap();
            let operation = target.rsplit('.').next().unwrap();
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            match self.0.lock().unwrap().handle(operation, &body) {
                Ok(out) => ResponseTemplate::new(200).set_body_json(out),
                Err((code, message)) => ResponseTemplate::new(400).set_body_json(json!({
                    "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message,
                })),
            }
        }
    }

    async fn serve(fake: &Arc<Mutex<Fake>>) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(Server(fake.clone()))
            .mount(&server)
            .await;
        server
    }

    async fn open(server: &MockServer, start: Start) -> LocalStream {
        LocalStream::open(&server.uri(), "us-east-1", "devices", start)
            .await
            .unwrap()
    }

    fn sequence_numbers(batch: &Event) -> Vec<String> {
        batch
            .records
            .iter()
            .map(|r| r.change.sequence_number.clone().unwrap())
            .collect()
    }

    /// Batches of at most `limit`, each done, until an empty one.
    async fn read_all(stream: &mut LocalStream, limit: usize) -> Vec<Vec<String>> {
        let mut batches = Vec::new();
        loop {
            let batch = stream.next_batch(limit).await.unwrap();
            if batch.records.is_empty() {
                return batches;
            }
            batches.push(sequence_numbers(&batch));
            stream
                .done(&DynamoDbEventResponse::default())
                .await
                .unwrap();
        }
    }

    fn failing(identifiers: &[Option<&str>]) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for id in identifiers {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = id.map(str::to_owned);
            response.batch_item_failures.push(failure);
        }
        response
    }

    #[tokio::test]
    async fn latest_on_an_empty_shard_gets_records_numbered_after_its_start() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        fake.lock().unwrap().shard("s1", None);
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::Latest).await;
        assert!(stream.next_batch(10).await.unwrap().records.is_empty());
        // Another table's shard takes a number: this shard's first record comes well after its
        // start, and the iterator read above is trimmed.
        fake.lock().unwrap().shard("other-table", None);
        let written = fake.lock().unwrap().put("s1", 3);
        assert_eq!(read_all(&mut stream, 10).await, vec![written]);
    }

    #[tokio::test]
    async fn latest_starts_after_what_the_open_shards_hold() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        {
            let mut f = fake.lock().unwrap();
            f.shard("parent", None);
            f.put("parent", 2);
            f.close("parent");
            f.shard("child", Some("parent"));
            f.put("child", 3);
        }
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::Latest).await;
        let written = fake.lock().unwrap().put("child", 2);
        assert_eq!(read_all(&mut stream, 10).await, vec![written]);
    }

    #[tokio::test]
    async fn every_shard_is_read_once_parents_before_children() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        {
            let mut f = fake.lock().unwrap();
            f.shard("a", None);
            f.put("a", 3);
            f.shard("d", None);
            f.put("d", 2);
            f.close("a");
            // `a` split in two.
            f.shard("b", Some("a"));
            f.shard("e", Some("a"));
            f.put("b", 3);
            f.put("e", 1);
            f.close("b");
            f.shard("c", Some("b"));
            f.put("c", 2);
            f.put("d", 1);
        }
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::TrimHorizon).await;
        let batches = read_all(&mut stream, 2).await;

        let f = fake.lock().unwrap();
        let delivered: Vec<&String> = batches.iter().flatten().collect();
        let mut expected: Vec<String> = f
            .shards
            .iter()
            .flat_map(|s| s.records.iter().map(|n| seq(*n)))
            .collect();
        expected.sort();
        let mut sorted: Vec<String> = delivered.iter().map(|s| (*s).clone()).collect();
        sorted.sort();
        assert_eq!(sorted, expected, "each record exactly once: {batches:?}");
        for batch in &batches {
            assert!(
                batch.iter().all(|n| f.shard_of(n) == f.shard_of(&batch[0])),
                "a batch from one shard: {batch:?}"
            );
        }
        let position: HashMap<&String, usize> =
            delivered.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        for shard in &f.shards {
            let at: Vec<usize> = shard.records.iter().map(|n| position[&seq(*n)]).collect();
            assert!(at.is_sorted(), "shard {} in order: {batches:?}", shard.id);
            let Some(parent) = f
                .shards
                .iter()
                .find(|s| Some(&s.id) == shard.parent.as_ref())
            else {
                continue;
            };
            let parent_last = parent
                .records
                .iter()
                .map(|n| position[&seq(*n)])
                .max()
                .unwrap();
            assert!(
                at.iter().all(|i| *i > parent_last),
                "{} after its parent {}: {batches:?}",
                shard.id,
                parent.id
            );
        }
    }

    #[tokio::test]
    async fn a_rollover_while_reading_is_followed() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        fake.lock().unwrap().shard("s1", None);
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::TrimHorizon).await;
        let first = fake.lock().unwrap().put("s1", 2);
        assert_eq!(read_all(&mut stream, 10).await, vec![first]);
        let (last, next) = {
            let mut f = fake.lock().unwrap();
            let last = f.put("s1", 1);
            f.close("s1");
            f.shard("s2", Some("s1"));
            (last, f.put("s2", 2))
        };
        assert_eq!(read_all(&mut stream, 10).await, vec![last, next]);
        let more = fake.lock().unwrap().put("s2", 1);
        assert_eq!(read_all(&mut stream, 10).await, vec![more]);
    }

    #[tokio::test]
    async fn expired_iterators_are_renewed_from_the_last_record_done() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        fake.lock().unwrap().shard("s1", None);
        let written = fake.lock().unwrap().put("s1", 5);
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::TrimHorizon).await;
        assert_eq!(
            sequence_numbers(&stream.next_batch(2).await.unwrap()),
            written[..2]
        );
        stream
            .done(&DynamoDbEventResponse::default())
            .await
            .unwrap();
        fake.lock().unwrap().expire_iterators();
        assert_eq!(
            sequence_numbers(&stream.next_batch(2).await.unwrap()),
            written[2..4]
        );
        // Not done: the same records again, even through a renewed iterator.
        fake.lock().unwrap().expire_iterators();
        assert_eq!(
            sequence_numbers(&stream.next_batch(2).await.unwrap()),
            written[2..4]
        );
        stream
            .done(&DynamoDbEventResponse::default())
            .await
            .unwrap();
        fake.lock().unwrap().expire_iterators();
        assert_eq!(read_all(&mut stream, 2).await, vec![written[4..].to_vec()]);
        fake.lock().unwrap().expire_iterators();
        let more = fake.lock().unwrap().put("s1", 1);
        assert_eq!(read_all(&mut stream, 2).await, vec![more]);
    }

    #[tokio::test]
    async fn a_failed_record_is_delivered_again_as_lambda_does() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        fake.lock().unwrap().shard("s1", None);
        let w = fake.lock().unwrap().put("s1", 5);
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::TrimHorizon).await;
        assert_eq!(sequence_numbers(&stream.next_batch(10).await.unwrap()), w);
        // The earliest record named, compared as numbers (here without leading zeros).
        let named = [w[3].trim_start_matches('0'), w[1].trim_start_matches('0')];
        stream
            .done(&failing(&[Some(named[0]), Some(named[1])]))
            .await
            .unwrap();
        assert_eq!(
            sequence_numbers(&stream.next_batch(10).await.unwrap()),
            w[1..]
        );
        // An identifier that is no record of the batch, or none: the whole batch again.
        stream
            .done(&failing(&[Some(&w[2]), Some("999")]))
            .await
            .unwrap();
        assert_eq!(
            sequence_numbers(&stream.next_batch(10).await.unwrap()),
            w[1..]
        );
        stream.done(&failing(&[None])).await.unwrap();
        assert_eq!(
            sequence_numbers(&stream.next_batch(10).await.unwrap()),
            w[1..]
        );
        stream.done(&failing(&[Some("")])).await.unwrap();
        fake.lock().unwrap().expire_iterators();
        assert_eq!(
            sequence_numbers(&stream.next_batch(10).await.unwrap()),
            w[1..]
        );
        stream
            .done(&DynamoDbEventResponse::default())
            .await
            .unwrap();
        assert!(stream.next_batch(10).await.unwrap().records.is_empty());
    }

    #[tokio::test]
    async fn records_gone_from_the_stream_are_passed_as_lambda_does() {
        let fake = Arc::new(Mutex::new(Fake::default()));
        fake.lock().unwrap().shard("s1", None);
        let w = fake.lock().unwrap().put("s1", 4);
        let server = serve(&fake).await;
        let mut stream = open(&server, Start::TrimHorizon).await;
        assert_eq!(
            sequence_numbers(&stream.next_batch(1).await.unwrap()),
            w[..1]
        );
        stream
            .done(&DynamoDbEventResponse::default())
            .await
            .unwrap();
        {
            let mut f = fake.lock().unwrap();
            f.trim("s1", &w[3]);
            f.expire_iterators();
        }
        assert_eq!(read_all(&mut stream, 10).await, vec![w[3..].to_vec()]);
    }

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert_eq!(compare_sequence_numbers("9", "10"), Ordering::Less);
        assert_eq!(
            compare_sequence_numbers("000000000000000000010", "9"),
            Ordering::Greater
        );
        assert_eq!(
            compare_sequence_numbers("000000000000000000010", "10"),
            Ordering::Equal
        );
        assert_eq!(
            compare_sequence_numbers("1100000000017454423009", "1100000000017454423010"),
            Ordering::Less
        );
    }

    #[test]
    fn empty_maps_as_dynamodb_local_writes_them_are_rewritten() {
        // As DynamoDB Local 3.3 wrote them (an UpdateItem SET x = :x with :x an empty map).
        let mut records = vec![json!({
            "eventID": "4ccfa0b8", "eventName": "MODIFY", "eventVersion": "1.1",
            "eventSource": "aws:dynamodb", "awsRegion": "ddblocal",
            "dynamodb": {
                "ApproximateCreationDateTime": 1_796_047_980.0,
                "Keys": {"k": {"S": "a"}},
                "NewImage": {
                    "k": {"S": "a"}, "x": {}, "m": {}, "l": {"L": []}, "s": {"S": ""},
                    "n": {"NULL": true}, "b": {"BOOL": false},
                    "nest": {"M": {"e": {}, "l": {"L": [{}, {"L": []}, {"M": {"f": {}}}]}}},
                },
                "OldImage": {"k": {"S": "a"}, "m": {}},
                "SequenceNumber": "000000000000000000002", "SizeBytes": 86,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
        })];
        assert!(
            decode(records.clone()).is_err(),
            "serde_dynamo refuses {{}}"
        );
        normalize_records(&mut records);
        let change = &records[0]["dynamodb"];
        assert_eq!(
            change["NewImage"],
            json!({
                "k": {"S": "a"}, "x": {"M": {}}, "m": {"M": {}}, "l": {"L": []}, "s": {"S": ""},
                "n": {"NULL": true}, "b": {"BOOL": false},
                "nest": {"M": {"e": {"M": {}}, "l": {"L": [{"M": {}}, {"L": []}, {"M": {"f": {"M": {}}}}]}}},
            })
        );
        assert_eq!(change["OldImage"], json!({"k": {"S": "a"}, "m": {"M": {}}}));
        assert_eq!(change["Keys"], json!({"k": {"S": "a"}}));
        decode(records.clone()).unwrap();

        // What DynamoDB (and moto) write is left as it is.
        let as_aws = records.clone();
        normalize_records(&mut records);
        assert_eq!(records, as_aws);
    }
}
