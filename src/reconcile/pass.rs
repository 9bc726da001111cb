//! The scheduled pass over every customer, scaled out.
//!
//! A pass splits the grants table into `RECONCILE_SEGMENTS` parallel Scan segments, which
//! DynamoDB guarantees hold every item once. Each scheduled invocation (the schedule ticks
//! every minute) claims one segment that is neither done nor held, and works through it a page
//! at a time, saving the segment's cursor after each page; a segment finished with time left
//! is followed by another. So a pass runs on at most as many invocations at once as it has
//! segments, which is what keeps DynamoDB and the gateway from being stampeded, and a pass
//! interrupted anywhere (a timeout, a crash) goes on from the last saved cursor.
//!
//! Claims are leases: an invocation holds its segment until its own deadline and a margin,
//! after which another may take it over. Every write of a segment's progress expects the
//! version it last saw, so an invocation whose lease was taken over learns it at its next
//! save and stops: two invocations never advance one segment. The pass itself is an item that
//! is replaced, again by version, when every segment of the last one is done and the interval
//! since its start has passed.
//!
//! A page is reconciled before its cursor is saved: one cut off mid-page is redone, and the
//! customers it had reached are found in sync (at most one extra read each), never skipped.

use std::time::Duration;

use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::run::{Reconciler, Summary, TIME_PER_CUSTOMER};
use crate::store::{Pass, Segment, SegmentProgress, Store, StoreError};

/// A lease outlives its holder's deadline by this much, so that a clock a little off between
/// invocations cannot hand a live worker's segment to another.
pub const LEASE_MARGIN: Duration = Duration::from_secs(60);
/// Rounds of "read the pass, claim a segment" one invocation makes at most: enough to work
/// every segment of a pass, and a bound should writes keep colliding.
const MAX_ROUNDS: usize = 2 * crate::config::Config::MAX_RECONCILE_SEGMENTS as usize;

/// One scheduled invocation: starts the next pass when it is due, then works the pass's
/// unclaimed segments until they are done or time runs short.
pub async fn scheduled<S: Store>(
    reconciler: &Reconciler<S>,
    deadline: Instant,
) -> Result<Summary, StoreError> {
    let store = reconciler.store();
    let clock = reconciler.clock();
    let owner = uuid::Uuid::new_v4().simple().to_string();
    let mut summary = Summary::default();
    // One invocation works on one pass: having started or worked one, it does not go on to
    // the next (which a short interval could make due at once).
    let mut joined = false;
    for _ in 0..MAX_ROUNDS {
        if Instant::now() + TIME_PER_CUSTOMER > deadline {
            break;
        }
        let now = clock.now_ms();
        let (pass, progress) = store.pass_progress().await?;
        let pass = match pass {
            Some(pass) if !is_done(&pass, &progress) => pass,
            Some(pass) if now < pass.started_at + millis(reconciler.interval()) => {
                debug!(pass = pass.number, "the pass is done; the next is not due");
                break;
            }
            _ if joined => break,
            previous => {
                // After the highest number any item holds: a pass item deleted by hand must not
                // start a pass whose segments an earlier one already marked done.
                let last = progress.iter().map(|s| s.pass);
                let next = Pass {
                    number: last
                        .chain(previous.as_ref().map(|p| p.number))
                        .max()
                        .unwrap_or(0)
                        + 1,
                    started_at: now,
                    segments: reconciler.segments(),
                    version: previous.as_ref().map_or(1, |p| p.version + 1),
                };
                if store.replace_pass(&next).await? {
                    info!(
                        pass = next.number,
                        segments = next.segments,
                        "reconciliation pass started"
                    );
                }
                joined = true;
                continue;
            }
        };
        let lease_until =
            now + millis(deadline.saturating_duration_since(Instant::now()) + LEASE_MARGIN);
        let Some(claim) = claimable(&pass, &progress, now, lease_until, &owner) else {
            debug!(
                pass = pass.number,
                "every segment of the pass is done or held"
            );
            break;
        };
        // Another invocation claimed it first: read again.
        if !store.replace_segment(&claim).await? {
            continue;
        }
        info!(
            pass = pass.number,
            segment = claim.index,
            of = pass.segments,
            "segment claimed"
        );
        joined = true;
        work(reconciler, &pass, claim, deadline, &mut summary).await?;
    }
    Ok(summary)
}

/// Every segment of `pass` done.
fn is_done(pass: &Pass, progress: &[SegmentProgress]) -> bool {
    (0..pass.segments).all(|i| {
        progress
            .iter()
            .any(|s| s.index == i && s.pass == pass.number && s.done)
    })
}

/// A claim of a segment of `pass` that is neither done nor held, as the write that takes it.
/// Concurrent invocations start looking at different segments (by their owner id), so that
/// they seldom collide.
fn claimable(
    pass: &Pass,
    progress: &[SegmentProgress],
    now: i64,
    lease_until: i64,
    owner: &str,
) -> Option<SegmentProgress> {
    let start = owner
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b.into()));
    (0..pass.segments)
        .map(|i| (i + start % pass.segments.max(1)) % pass.segments.max(1))
        .find_map(|index| {
            let stored = progress.iter().find(|s| s.index == index);
            let current = stored.filter(|s| s.pass == pass.number);
            if current.is_some_and(|s| s.done || s.lease_until > now) {
                return None;
            }
            Some(SegmentProgress {
                index,
                pass: pass.number,
                // An earlier pass's progress starts over; a lease that expired goes on.
                cursor: current.and_then(|s| s.cursor.clone()),
                done: false,
                lease_until,
                owner: owner.to_owned(),
                version: stored.map_or(1, |s| s.version + 1),
            })
        })
}

/// Works the claimed segment a page at a time, saving its cursor after each, until it is done,
/// time runs short (the lease is then given back), or the lease turns out to be lost.
async fn work<S: Store>(
    reconciler: &Reconciler<S>,
    pass: &Pass,
    mut held: SegmentProgress,
    deadline: Instant,
    summary: &mut Summary,
) -> Result<(), StoreError> {
    let store = reconciler.store();
    let segment = Segment {
        index: held.index,
        of: pass.segments,
    };
    loop {
        if Instant::now() + TIME_PER_CUSTOMER > deadline {
            break;
        }
        let (users, next) = store
            .customers(segment, held.cursor.as_deref(), reconciler.page_size())
            .await?;
        let page = reconciler.customers(users, deadline).await;
        let reached_all = page.not_reached.is_empty();
        summary.merge(page);
        if !reached_all {
            // The page is redone from its start by whoever holds the segment next.
            break;
        }
        held = SegmentProgress {
            done: next.is_none(),
            lease_until: if next.is_none() { 0 } else { held.lease_until },
            cursor: next,
            version: held.version + 1,
            ..held
        };
        if !store.replace_segment(&held).await? {
            warn!(
                segment = held.index,
                "the segment's lease was taken over; leaving it"
            );
            return Ok(());
        }
        if held.done {
            info!(pass = pass.number, segment = held.index, "segment done");
            let (_, progress) = store.pass_progress().await?;
            if is_done(pass, &progress) {
                let seconds = (reconciler.clock().now_ms() - pass.started_at) / 1000;
                info!(pass = pass.number, seconds, "reconciliation pass complete");
            }
            return Ok(());
        }
    }
    info!(
        segment = held.index,
        "time is short; the segment is given back at its cursor"
    );
    let released = SegmentProgress {
        lease_until: 0,
        version: held.version + 1,
        ..held
    };
    // Lost meanwhile: its new holder goes on from its own saves.
    store.replace_segment(&released).await?;
    Ok(())
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pass(segments: u32) -> Pass {
        Pass {
            number: 2,
            started_at: 0,
            segments,
            version: 2,
        }
    }

    fn progress(index: u32, pass: u64, done: bool, lease_until: i64) -> SegmentProgress {
        SegmentProgress {
            index,
            pass,
            cursor: Some(format!("c{index}")),
            done,
            lease_until,
            owner: "other".into(),
            version: 7,
        }
    }

    #[test]
    fn a_segment_done_or_held_is_not_claimed() {
        let stored = [progress(0, 2, true, 0), progress(1, 2, false, 1_000)];
        let pass = pass(2);
        assert!(claimable(&pass, &stored, 500, 9_000, "me").is_none());
        // The lease expired: taken over where its holder got to.
        let claim = claimable(&pass, &stored, 1_001, 9_000, "me").unwrap();
        assert_eq!((claim.index, claim.cursor.as_deref()), (1, Some("c1")));
        assert_eq!(
            (claim.version, claim.lease_until, claim.done),
            (8, 9_000, false)
        );
        assert!(!is_done(&pass, &stored));
    }

    #[test]
    fn an_earlier_passs_progress_starts_over() {
        let stored = [progress(0, 1, true, 0)];
        let claim = claimable(&pass(1), &stored, 0, 9_000, "me").unwrap();
        assert_eq!((claim.pass, claim.cursor, claim.version), (2, None, 8));
        assert!(!is_done(&pass(1), &stored));
        assert!(is_done(&pass(1), &[progress(0, 2, true, 0)]));
        // A segment never written is claimed at version 1 (its write expects none).
        let claim = claimable(&pass(2), &stored, 0, 9_000, "me").unwrap();
        assert_eq!(claim.version, if claim.index == 0 { 8 } else { 1 });
    }
}
