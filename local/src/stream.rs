//! Reads the devices table's stream from the local DynamoDB-compatible server and delivers it
//! in batches, as Lambda's event source mapping does: a batch whose response names a failed
//! record is redelivered from that record.
//!
//! It speaks the DynamoDB Streams JSON protocol directly, so that `GetRecords` output becomes
//! the Lambda event's `Records` unchanged (the same JSON shape). Local servers do not check
//! signatures; this reader does not sign, and is not meant for AWS.

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

/// A reader of the (single) shard of a table's stream.
#[derive(Debug)]
pub struct LocalStream {
    http: reqwest::Client,
    endpoint: String,
    authorization: String,
    stream_arn: String,
    shard_id: String,
    iterator: String,
    /// The iterator after the batch handed out last, used once that batch is done.
    pending: Option<String>,
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
            // Local servers read the region from the credential scope; nothing checks the rest.
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request, SignedHeaders=host, Signature=0"
            ),
            stream_arn: String::new(),
            shard_id: String::new(),
            iterator: String::new(),
            pending: None,
        };
        let streams = reader
            .call("ListStreams", json!({"TableName": table}))
            .await?;
        reader.stream_arn = str_at(&streams, "/Streams/0/StreamArn", "ListStreams")?;
        let description = reader
            .call("DescribeStream", json!({"StreamArn": reader.stream_arn}))
            .await?;
        reader.shard_id = str_at(
            &description,
            "/StreamDescription/Shards/0/ShardId",
            "DescribeStream",
        )?;
        let kind = match start {
            Start::Latest => "LATEST",
            Start::TrimHorizon => "TRIM_HORIZON",
        };
        reader.iterator = reader.shard_iterator(kind, None).await?;
        Ok(reader)
    }

    /// The next batch of at most `limit` records (possibly none). Until [`Self::done`] is called
    /// with its response, the same position is kept.
    pub async fn next_batch(&mut self, limit: usize) -> Result<Event, LocalStreamError> {
        let out = self
            .call(
                "GetRecords",
                json!({"ShardIterator": self.iterator, "Limit": limit}),
            )
            .await?;
        self.pending = out["NextShardIterator"].as_str().map(str::to_owned);
        let records = out.get("Records").cloned().unwrap_or_else(|| json!([]));
        serde_json::from_value(json!({ "Records": records })).map_err(LocalStreamError::Decode)
    }

    /// Moves on after a batch: past it, or back to the first failed record, as Lambda does.
    pub async fn done(&mut self, response: &DynamoDbEventResponse) -> Result<(), LocalStreamError> {
        let failed = response
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.as_deref())
            .min_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        match failed {
            Some(sequence_number) => {
                self.iterator = self
                    .shard_iterator("AT_SEQUENCE_NUMBER", Some(sequence_number))
                    .await?;
            }
            None => {
                if let Some(next) = self.pending.take() {
                    self.iterator = next;
                }
            }
        }
        self.pending = None;
        Ok(())
    }

    async fn shard_iterator(
        &self,
        kind: &str,
        sequence_number: Option<&str>,
    ) -> Result<String, LocalStreamError> {
        let mut request = json!({"StreamArn": self.stream_arn, "ShardId": self.shard_id, "ShardIteratorType": kind});
        if let Some(n) = sequence_number {
            request["SequenceNumber"] = json!(n);
        }
        let out = self.call("GetShardIterator", request).await?;
        str_at(&out, "/ShardIterator", "GetShardIterator")
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
        "Keys": {"userId": {"S": keys_of.user_id}, "endpointId": {"S": keys_of.endpoint_id}},
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
