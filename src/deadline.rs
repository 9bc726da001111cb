//! When an invocation's work must be done, and what each step may still spend of it.
//!
//! Alexa gives a directive 8 s, and Lambda gives an invocation its function's timeout; the
//! skill answers by the earlier of the two, less a margin for sending the answer back. Every
//! call to a peer gets a timeout that ends before that instant, and loops stop when it comes.
//! Nothing is cancelled from outside: a write that must follow a peer's answer (a refreshed
//! grant, a command the device took) is never under a timeout of ours, so it cannot be cut
//! halfway; each peer call instead leaves [`WRITE_RESERVE`] for the write that follows it.

use std::future::Future;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

/// How long Alexa waits for the answer to a directive.
pub const ALEXA_TIMEOUT: Duration = Duration::from_secs(8);
/// Kept back from the deadline for serializing the answer and handing it to Lambda.
pub const MARGIN: Duration = Duration::from_millis(500);
/// Left after a peer's timeout for the table write its answer leads to (DynamoDB answers in
/// milliseconds in its region; its SDK attempt timeout is 2 s).
pub const WRITE_RESERVE: Duration = Duration::from_millis(1000);
/// A peer call is not started with less time than this: it could only time out.
pub const MIN_CALL: Duration = Duration::from_millis(100);

/// The instant by which an invocation's work must be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

/// The deadline came before the work was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no time left before the invocation's deadline")]
pub struct OutOfTime;

impl Deadline {
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// `after` from now.
    pub fn after(after: Duration) -> Self {
        Self(Instant::now() + after)
    }

    /// A directive's deadline: the earlier of the invocation's (`None`: not known, as in a
    /// test that calls the skill directly) and Alexa's 8 s from now, less [`MARGIN`].
    pub fn for_directive(invocation: Option<Instant>) -> Self {
        let alexa = Instant::now() + ALEXA_TIMEOUT;
        let end = invocation.map_or(alexa, |i| i.min(alexa));
        Self(end.checked_sub(MARGIN).unwrap_or(end))
    }

    /// The instant of a Lambda deadline given in milliseconds since the Unix epoch (the
    /// Runtime API's `Lambda-Runtime-Deadline-Ms`).
    pub fn instant_from_epoch_ms(deadline_ms: u64) -> Instant {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Instant::now() + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
    }

    pub fn instant(&self) -> Instant {
        self.0
    }

    pub fn remaining(&self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }

    pub fn is_past(&self) -> bool {
        self.remaining().is_zero()
    }

    /// The earlier of this deadline and `other`.
    pub fn min(self, other: Self) -> Self {
        Self(self.0.min(other.0))
    }

    /// The timeout of a peer call that may take up to `timeout` and must leave `reserve` of
    /// this deadline for what follows it; `Err` when less than [`MIN_CALL`] would be left
    /// for the call itself.
    pub fn timeout_for(&self, timeout: Duration, reserve: Duration) -> Result<Duration, OutOfTime> {
        let left = self.remaining().saturating_sub(reserve).min(timeout);
        if left < MIN_CALL {
            Err(OutOfTime)
        } else {
            Ok(left)
        }
    }

    /// Runs `work`, giving up at the deadline. Only for work that is safe to abandon halfway:
    /// reads, and writes that have not been told to a peer yet.
    pub async fn bound<F: Future>(&self, work: F) -> Result<F::Output, OutOfTime> {
        tokio::time::timeout_at(self.0, work)
            .await
            .map_err(|_| OutOfTime)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_directive_ends_by_the_earlier_deadline_less_the_margin() {
        let now = Instant::now();
        let alexa = Deadline::for_directive(None);
        assert_eq!(alexa.instant(), now + ALEXA_TIMEOUT - MARGIN);
        let short = Deadline::for_directive(Some(now + Duration::from_secs(3)));
        assert_eq!(short.instant(), now + Duration::from_millis(2500));
        let long = Deadline::for_directive(Some(now + Duration::from_secs(60)));
        assert_eq!(long, alexa);
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_gets_what_is_left_after_the_reserve() {
        let d = Deadline::after(Duration::from_secs(3));
        let four = Duration::from_secs(4);
        assert_eq!(
            d.timeout_for(four, WRITE_RESERVE),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            d.timeout_for(Duration::from_millis(300), WRITE_RESERVE),
            Ok(Duration::from_millis(300))
        );
        tokio::time::advance(Duration::from_millis(1950)).await;
        assert_eq!(d.timeout_for(four, WRITE_RESERVE), Err(OutOfTime));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(d.is_past());
        assert_eq!(d.bound(std::future::pending::<()>()).await, Err(OutOfTime));
    }
}
