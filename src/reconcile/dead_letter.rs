//! The stream's dead-letter queue: when the stream Lambda's retries of a batch run out, Lambda
//! puts a failure record in the queue that names the batch (stream, shard, first and last
//! sequence number), not its records. The records are re-read from the stream while it holds
//! them (24 hours), and the customers they belong to are reconciled.

use std::collections::BTreeSet;

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::{AttributeValue, ShardIteratorType};
use serde::Deserialize;
use tracing::{debug, warn};

use crate::ids::UserId;
use crate::store::dynamo::USER_ID;

/// What Lambda writes to an on-failure destination for a stream batch (only what is used).
#[derive(Debug, Clone, Deserialize)]
pub struct FailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    pub batch: BatchInfo,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchInfo {
    pub stream_arn: String,
    pub shard_id: String,
    pub start_sequence_number: String,
    pub end_sequence_number: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DeadLetterError {
    /// The records cannot be read, and never will: past the stream's 24 h retention, the
    /// stream replaced, or a record naming a stream or shard DynamoDB Streams refuses. Only
    /// the scheduled reconciliation can repair what they carried.
    #[error("the batch's records cannot be read back ({0})")]
    Expired(String),
    #[error("DynamoDB Streams {operation} failed")]
    Streams {
        operation: &'static str,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// GetRecords pages without records after which a shard is taken to hold nothing more of the
/// batch (an open shard at its tip answers empty pages).
const EMPTY_PAGES: usize = 3;
/// GetRecords pages read for one batch at most: a batch is at most 10,000 records, 1,000 a page.
const MAX_PAGES: usize = 64;

/// Reads dead-lettered batches back from DynamoDB Streams.
#[derive(Debug, Clone)]
pub struct DeadLetters {
    client: Client,
}

impl DeadLetters {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(sdk),
        }
    }

    /// The customers whose changes the batch carried.
    pub async fn customers(&self, batch: &BatchInfo) -> Result<BTreeSet<UserId>, DeadLetterError> {
        let iterator = self
            .client
            .get_shard_iterator()
            .stream_arn(&batch.stream_arn)
            .shard_id(&batch.shard_id)
            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
            .sequence_number(&batch.start_sequence_number)
            .send()
            .await
            .map_err(|e| streams("GetShardIterator", e))?;
        let mut iterator = iterator
            .shard_iterator
            .ok_or_else(|| DeadLetterError::Expired("no shard iterator".into()))?;
        let mut users = BTreeSet::new();
        let mut empty = 0;
        for _ in 0..MAX_PAGES {
            let page = self
                .client
                .get_records()
                .shard_iterator(&iterator)
                .send()
                .await
                .map_err(|e| streams("GetRecords", e))?;
            let records = page.records();
            empty = if records.is_empty() { empty + 1 } else { 0 };
            for record in records {
                let Some(change) = record.dynamodb() else {
                    continue;
                };
                let sequence = change.sequence_number().unwrap_or_default();
                if sequence_after(sequence, &batch.end_sequence_number) {
                    return Ok(users);
                }
                if let Some(AttributeValue::S(user)) = change.keys().and_then(|k| k.get(USER_ID)) {
                    users.insert(UserId::from(user.as_str()));
                }
            }
            match page.next_shard_iterator() {
                Some(next) if empty < EMPTY_PAGES => iterator = next.to_owned(),
                _ => break,
            }
        }
        if users.is_empty() {
            warn!("none of the batch's records could be read back");
            return Err(DeadLetterError::Expired("no record in the range".into()));
        }
        debug!(
            customers = users.len(),
            "batch read back (its end was not seen)"
        );
        Ok(users)
    }
}

/// Whether sequence number `a` comes after `b`: they are decimal numbers of up to 40 digits,
/// longer than any integer type, compared as such.
pub fn sequence_after(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim_start_matches('0'), b.trim_start_matches('0'));
    (a.len(), a) > (b.len(), b)
}

/// A DynamoDB Streams failure. Throttling, server errors and no answer may pass; any other
/// answer of the service (trimmed data, no such stream or shard, a request it refuses) will be
/// the same however often the message comes back.
fn streams<E, R>(operation: &'static str, error: SdkError<E, R>) -> DeadLetterError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if let Some(code) = error.as_service_error().and_then(|e| e.code()) {
        let passing = matches!(
            code,
            "LimitExceededException"
                | "InternalServerError"
                | "ThrottlingException"
                | "RequestLimitExceeded"
                | "ServiceUnavailable"
        );
        if !passing {
            return DeadLetterError::Expired(code.to_owned());
        }
    }
    DeadLetterError::Streams {
        operation,
        source: Box::new(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_numbers_compare_as_numbers() {
        assert!(sequence_after("1000", "999"));
        assert!(!sequence_after("999", "1000"));
        assert!(!sequence_after("1000", "1000"));
        assert!(sequence_after(
            "800000000003126276363",
            "800000000003126276362"
        ));
        assert!(!sequence_after("000000000000000000001", "2"));
    }

    #[test]
    fn reads_lambdas_failure_record() {
        // The shape Lambda documents for a DynamoDB stream on-failure destination.
        let body = r#"{
          "requestContext": {"requestId": "316aa6d0-8154-xmpl-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:us-east-2:123456789012:function:myfunction",
            "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
          "responseContext": {"statusCode": 200, "executedVersion": "$LATEST",
            "functionError": "Unhandled"},
          "version": "1.0", "timestamp": "2019-11-14T00:38:06.021Z",
          "DDBStreamBatchInfo": {
            "shardId": "shardId-00000001573689847184-864758bb",
            "startSequenceNumber": "800000000003126276362",
            "endSequenceNumber": "800000000003126276362",
            "approximateArrivalOfFirstRecord": "2019-11-14T00:38:04Z",
            "approximateArrivalOfLastRecord": "2019-11-14T00:38:04Z",
            "batchSize": 1,
            "streamArn": "arn:aws:dynamodb:us-east-2:123456789012:table/mytable/stream/2019-11-14T00:04:06.388"
          }
        }"#;
        let record: FailureRecord = serde_json::from_str(body).unwrap();
        assert_eq!(
            record.batch.shard_id,
            "shardId-00000001573689847184-864758bb"
        );
        assert_eq!(record.batch.end_sequence_number, "800000000003126276362");
    }
}
