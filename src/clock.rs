//! The time of day, as the product reads it: every wall-clock read (a token's or a grant's
//! expiry, a sample's time, a signed request's timestamp, a reconciliation's stamp) goes
//! through a [`Clock`] the entrypoint holds, so that a test can set the time instead of waiting
//! for it.
//!
//! Durations are another matter: deadlines, timeouts and cache lifetimes are measured on the
//! monotonic clock ([`crate::deadline`], tokio's timers), which a test pauses with tokio's own
//! `time::pause`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The system's clock, or one a test sets. Cheap to clone: clones of a set clock share its
/// time.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system's. Otherwise milliseconds since the Unix epoch, as last set.
    set: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system's clock (what the Lambdas use).
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock that stands at `unix_ms` until it is moved.
    pub fn at_ms(unix_ms: i64) -> Self {
        Self {
            set: Some(Arc::new(AtomicI64::new(unix_ms))),
        }
    }

    /// A clock that stands at the system's time now, until it is moved.
    pub fn stopped() -> Self {
        Self::at_ms(Self::system().now_ms())
    }

    /// Milliseconds since the Unix epoch.
    pub fn now_ms(&self) -> i64 {
        match &self.set {
            Some(ms) => ms.load(Ordering::SeqCst),
            None => unix_ms(SystemTime::now()),
        }
    }

    pub fn now(&self) -> SystemTime {
        match &self.set {
            Some(_) => {
                UNIX_EPOCH + Duration::from_millis(u64::try_from(self.now_ms()).unwrap_or(0))
            }
            None => SystemTime::now(),
        }
    }

    /// Moves a set clock by `by`.
    ///
    /// # Panics
    /// On the system's clock, which only time moves: a test that means to set the time and
    /// does not must not pass quietly.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.set
            .as_ref()
            .expect("only a set clock can be moved")
            .fetch_add(by, Ordering::SeqCst);
    }
}

fn unix_ms(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_clock_stands_until_moved_and_its_clones_move_with_it() {
        let clock = Clock::at_ms(1_700_000_000_000);
        let clone = clock.clone();
        assert_eq!(clock.now_ms(), 1_700_000_000_000);
        clock.advance(Duration::from_secs(90));
        assert_eq!(clone.now_ms(), 1_700_000_090_000);
        assert_eq!(
            clone.now(),
            UNIX_EPOCH + Duration::from_millis(1_700_000_090_000)
        );
    }

    #[test]
    fn the_system_clock_reads_the_time_of_day() {
        let before = unix_ms(SystemTime::now());
        let read = Clock::system().now_ms();
        assert!(read >= before && read - before < 60_000);
    }

    #[test]
    #[should_panic(expected = "only a set clock")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system().advance(Duration::from_secs(1));
    }
}
