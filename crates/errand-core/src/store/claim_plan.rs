//! How a store claims under limits, independent of its database: which
//! queue to look in next, which kinds still have room, and which of the
//! candidates it found it may take.

use std::collections::HashMap;

use super::{ClaimParams, KindClaim, QueueClaim};
use crate::{JobId, JobRow};

/// The plan of one limited claim. A store asks [`next_ask`](Self::next_ask)
/// what to look for, finds up to that many due candidates (id and kind, in
/// claim order), hands them to [`pick`](Self::pick) and marks the ids it
/// returns as claimed, until `next_ask` says there is nothing more to take.
///
/// Queues are served in the claim's order, each up to its cap; a kind takes
/// no more than its room (its local cap, lowered by its global limit minus
/// what runs across the cluster, see [`limit_globally`](Self::limit_globally)).
/// A candidate of a kind without room is passed over, and the queue is
/// looked at again without that kind, since it may hide due jobs of others.
///
/// ```
/// use errand_core::store::{ClaimParams, ClaimPlan, KindClaim, QueueClaim};
///
/// let params = ClaimParams {
///     worker: "w".into(),
///     queues: vec![QueueClaim { name: "mail".into(), cap: None }],
///     kinds: vec![
///         KindClaim { kind: "send".into(), cap: Some(1), global_limit: None },
///         KindClaim { kind: "bounce".into(), cap: None, global_limit: None },
///     ],
///     limit: 10,
///     paused_tenants: Vec::new(),
///     lease: std::time::Duration::from_secs(30),
///     now: chrono::Utc::now(),
/// };
/// let mut plan = ClaimPlan::new(&params);
/// let ask = plan.next_ask().unwrap();
/// assert_eq!((ask.queue, ask.limit), ("mail", 10));
/// // Two `send` jobs came first: one fits, the other waits for room.
/// let picked = plan.pick([(1, "send"), (2, "send"), (3, "bounce")]);
/// assert_eq!(picked, [1, 3]);
/// // The queue is looked at again for `bounce` jobs alone.
/// assert_eq!(plan.next_ask().unwrap().kinds, ["bounce"]);
/// ```
#[derive(Debug)]
pub struct ClaimPlan<'a> {
    queues: &'a [QueueClaim],
    kinds: &'a [KindClaim],
    paused_tenants: &'a [String],
    /// Jobs each kind may still take, in the claim's order of kinds.
    room: Vec<(&'a str, u32)>,
    /// Jobs the claim may still take.
    remaining: u32,
    /// The queue looked at now (an index into `queues`), if any.
    current: Option<usize>,
    /// The next queue to look at.
    next_queue: usize,
    /// Jobs the current queue may still give.
    queue_room: u32,
}

/// What a store should look for: due jobs of `queue` whose kind is one of
/// `kinds`, at most `limit`, in claim order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask<'a> {
    /// The queue to look in.
    pub queue: &'a str,
    /// The kinds that still have room.
    pub kinds: Vec<&'a str>,
    /// Most candidates to fetch.
    pub limit: u32,
    /// Tenants whose jobs are skipped (paused).
    pub paused_tenants: &'a [String],
}

impl<'a> ClaimPlan<'a> {
    /// A plan with each kind's local cap as its room.
    pub fn new(params: &'a ClaimParams) -> Self {
        ClaimPlan {
            queues: &params.queues,
            kinds: &params.kinds,
            paused_tenants: &params.paused_tenants,
            room: params
                .kinds
                .iter()
                .map(|k| (k.kind.as_str(), k.cap.unwrap_or(u32::MAX)))
                .collect(),
            remaining: params.limit,
            current: None,
            next_queue: 0,
            queue_room: 0,
        }
    }

    /// Whether the claim has any limit (or skips paused tenants): without
    /// one, a store can claim in one statement and needs no plan.
    pub fn limited(params: &ClaimParams) -> bool {
        params
            .kinds
            .iter()
            .any(|k| k.cap.is_some() || k.global_limit.is_some())
            || params.queues.iter().any(|q| q.cap.is_some())
            || !params.paused_tenants.is_empty()
    }

    /// The kinds with a global limit, whose running jobs across the cluster
    /// the store must count (under a lock) before it claims.
    pub fn globally_limited(&self) -> Vec<&'a str> {
        self.kinds
            .iter()
            .filter(|k| k.global_limit.is_some())
            .map(|k| k.kind.as_str())
            .collect()
    }

    /// Lowers each globally limited kind's room to its limit minus the jobs
    /// of that kind running across the cluster (`running`: kind and count;
    /// a kind not listed runs none).
    pub fn limit_globally<K: AsRef<str>>(&mut self, running: impl IntoIterator<Item = (K, i64)>) {
        let running: HashMap<String, i64> = running
            .into_iter()
            .map(|(kind, n)| (kind.as_ref().to_owned(), n))
            .collect();
        for k in self.kinds {
            if let Some(limit) = k.global_limit {
                let used = running.get(&k.kind).copied().unwrap_or(0);
                let left = u32::try_from(i64::from(limit).saturating_sub(used)).unwrap_or(0);
                if let Some((_, room)) = self.room.iter_mut().find(|(kind, _)| *kind == k.kind) {
                    *room = (*room).min(left);
                }
            }
        }
    }

    /// What to look for next, or `None` when the claim is done: it took
    /// its limit, every queue was looked at, or no kind has room left.
    pub fn next_ask(&mut self) -> Option<Ask<'a>> {
        loop {
            if self.remaining == 0 {
                return None;
            }
            let index = match self.current {
                Some(index) if self.queue_room > 0 => index,
                _ => {
                    let index = self.next_queue;
                    let queue = self.queues.get(index)?;
                    self.next_queue += 1;
                    self.current = Some(index);
                    self.queue_room = queue.cap.unwrap_or(u32::MAX).min(self.remaining);
                    if self.queue_room == 0 {
                        continue;
                    }
                    index
                }
            };
            let kinds: Vec<&'a str> = self
                .room
                .iter()
                .filter(|(_, room)| *room > 0)
                .map(|(kind, _)| *kind)
                .collect();
            if kinds.is_empty() {
                return None;
            }
            return Some(Ask {
                queue: &self.queues[index].name,
                kinds,
                limit: self.queue_room,
                paused_tenants: self.paused_tenants,
            });
        }
    }

    /// Takes what fits of the candidates found for the last ask (id and
    /// kind, in claim order) and returns their ids, to be marked claimed.
    /// When none was passed over for lack of room, or none was found, the
    /// queue has nothing more to give and the next ask moves on.
    pub fn pick<'k>(&mut self, candidates: impl IntoIterator<Item = (i64, &'k str)>) -> Vec<i64> {
        let mut found = 0;
        let mut passed_over = false;
        let mut picked = Vec::new();
        for (id, kind) in candidates {
            found += 1;
            match self.room.iter_mut().find(|(k, _)| *k == kind) {
                Some((_, room)) if *room > 0 && self.queue_room > 0 => {
                    *room -= 1;
                    self.queue_room -= 1;
                    self.remaining -= 1;
                    picked.push(id);
                }
                _ => passed_over = true,
            }
        }
        if !passed_over || found == 0 {
            self.queue_room = 0;
        }
        picked
    }
}

/// Puts claimed jobs in the order their ids were picked (a statement that
/// marks them returns them in any order).
pub fn order_as_picked(picked: &[i64], jobs: &mut [JobRow]) {
    let order: HashMap<JobId, usize> = picked
        .iter()
        .enumerate()
        .map(|(i, id)| (JobId(*id), i))
        .collect();
    jobs.sort_by_key(|job| order.get(&job.id).copied().unwrap_or(usize::MAX));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(
        queues: &[(&str, Option<u32>)],
        kinds: &[(&str, Option<u32>, Option<u32>)],
        limit: u32,
    ) -> ClaimParams {
        ClaimParams {
            worker: "w".into(),
            queues: queues
                .iter()
                .map(|(name, cap)| QueueClaim {
                    name: (*name).into(),
                    cap: *cap,
                })
                .collect(),
            kinds: kinds
                .iter()
                .map(|(kind, cap, global_limit)| KindClaim {
                    kind: (*kind).into(),
                    cap: *cap,
                    global_limit: *global_limit,
                })
                .collect(),
            limit,
            paused_tenants: Vec::new(),
            lease: std::time::Duration::from_secs(30),
            now: chrono::Utc::now(),
        }
    }

    #[test]
    fn queues_are_served_in_order_each_up_to_its_cap_and_the_claim_up_to_its_limit() {
        let p = params(&[("a", Some(2)), ("b", None)], &[("k", None, None)], 5);
        let mut plan = ClaimPlan::new(&p);
        let ask = plan.next_ask().expect("queue a");
        assert_eq!((ask.queue, ask.limit), ("a", 2));
        assert_eq!(plan.pick([(1, "k"), (2, "k")]), [1, 2]);
        let ask = plan.next_ask().expect("queue b");
        assert_eq!((ask.queue, ask.limit), ("b", 3));
        assert_eq!(plan.pick([(3, "k")]), [3]);
        // b gave less than asked with nothing passed over: it is empty.
        assert_eq!(plan.next_ask(), None);
    }

    #[test]
    fn the_claim_ends_when_its_limit_is_taken() {
        let p = params(&[("a", None), ("b", None)], &[("k", None, None)], 2);
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask().expect("a").limit, 2);
        assert_eq!(plan.pick([(1, "k"), (2, "k")]), [1, 2]);
        assert_eq!(plan.next_ask(), None);
    }

    #[test]
    fn a_kind_without_room_is_passed_over_and_the_queue_asked_again_without_it() {
        let p = params(
            &[("a", None)],
            &[("k", Some(1), None), ("j", None, None)],
            10,
        );
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask().expect("a").kinds, ["k", "j"]);
        assert_eq!(plan.pick([(1, "k"), (2, "k"), (3, "k")]), [1]);
        let again = plan.next_ask().expect("a again");
        assert_eq!((again.queue, again.kinds, again.limit), ("a", vec!["j"], 9));
        assert_eq!(plan.pick([]), Vec::<i64>::new());
        assert_eq!(plan.next_ask(), None);
    }

    #[test]
    fn no_kind_with_room_ends_the_claim() {
        let p = params(&[("a", None), ("b", None)], &[("k", Some(0), None)], 10);
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask(), None);
    }

    #[test]
    fn a_global_limit_lowers_the_room_by_what_runs_across_the_cluster() {
        let p = params(
            &[("a", None)],
            &[
                ("g", Some(10), Some(5)),
                ("h", None, Some(2)),
                ("k", None, None),
            ],
            10,
        );
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.globally_limited(), ["g", "h"]);
        // h runs more than its limit (it was lowered): no room, no underflow.
        plan.limit_globally([("g", 3), ("h", 7)]);
        assert_eq!(plan.next_ask().expect("a").kinds, ["g", "k"]);
        assert_eq!(plan.pick([(1, "g"), (2, "g"), (3, "g")]), [1, 2]);
        assert_eq!(plan.next_ask().expect("a again").kinds, ["k"]);
    }

    #[test]
    fn a_kind_the_claim_does_not_know_is_never_taken() {
        let p = params(&[("a", None)], &[("k", None, None)], 10);
        let mut plan = ClaimPlan::new(&p);
        plan.next_ask().expect("a");
        assert_eq!(plan.pick([(1, "other"), (2, "k")]), [2]);
    }

    #[test]
    fn a_queue_capped_at_zero_is_skipped() {
        let p = params(&[("a", Some(0)), ("b", None)], &[("k", None, None)], 3);
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask().expect("b").queue, "b");
    }
}
