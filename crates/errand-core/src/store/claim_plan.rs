//! How a store claims under limits, independent of its database: which
//! queue to look in next, which kinds and tenants still have room, and which
//! of the candidates it found it may take.

use std::collections::HashMap;

use super::{ClaimParams, KindClaim, QueueClaim, TenantLimits};
use crate::{JobId, JobRow};

/// The plan of one limited claim. A store asks [`next_ask`](Self::next_ask)
/// what to look for, finds up to that many due candidates, counts the
/// running jobs of the limited tenants among them that
/// [`tenants_to_count`](Self::tenants_to_count) names, hands the candidates
/// to [`pick`](Self::pick) and marks the ids it returns as claimed, until
/// `next_ask` says there is nothing more to take.
///
/// Queues are served in the claim's order, each up to its cap; a kind takes
/// no more than its room (its local cap, lowered by its global limit minus
/// what runs across the cluster, see [`limit_globally`](Self::limit_globally)),
/// a tenant no more than its limit minus what it runs. A candidate without
/// room is passed over, and the queue is looked at again without its kind or
/// tenant, since it may hide due jobs of others. A fair queue (see
/// [`FairTurn`](super::FairTurn)) is asked for the first due job of each
/// tenant in turn.
///
/// ```
/// use errand_core::store::{Candidate, ClaimParams, ClaimPlan, KindClaim, QueueClaim};
///
/// let params = ClaimParams {
///     worker: "w".into(),
///     queues: vec![QueueClaim { name: "mail".into(), cap: None, fair: None }],
///     kinds: vec![
///         KindClaim { kind: "send".into(), cap: Some(1), global_limit: None },
///         KindClaim { kind: "bounce".into(), cap: None, global_limit: None },
///     ],
///     limit: 10,
///     paused_tenants: Vec::new(),
///     tenant_limits: Default::default(),
///     lease: std::time::Duration::from_secs(30),
///     now: chrono::Utc::now(),
/// };
/// let mut plan = ClaimPlan::new(&params);
/// let ask = plan.next_ask().unwrap();
/// assert_eq!((ask.queue, ask.limit), ("mail", 10));
/// // Two `send` jobs came first: one fits, the other waits for room.
/// let picked = plan.pick(&[
///     Candidate { id: 1, kind: "send", tenant: None },
///     Candidate { id: 2, kind: "send", tenant: None },
///     Candidate { id: 3, kind: "bounce", tenant: None },
/// ]);
/// assert_eq!(picked, [1, 3]);
/// // The queue is looked at again for `bounce` jobs alone.
/// assert_eq!(plan.next_ask().unwrap().kinds, ["bounce"]);
/// ```
#[derive(Debug)]
pub struct ClaimPlan<'a> {
    queues: &'a [QueueClaim],
    kinds: &'a [KindClaim],
    tenant_limits: &'a TenantLimits,
    /// Jobs each kind may still take, in the claim's order of kinds.
    room: Vec<(&'a str, u32)>,
    /// Jobs each limited tenant counted so far may still take.
    tenant_room: HashMap<String, u32>,
    /// Tenants whose jobs are passed over: paused, or without room.
    skip_tenants: Vec<String>,
    /// Jobs the claim may still take.
    remaining: u32,
    /// The queue looked at now (an index into `queues`), if any.
    current: Option<usize>,
    /// The next queue to look at.
    next_queue: usize,
    /// Jobs the current queue may still give.
    queue_room: u32,
    /// What the current queue is asked for next.
    turn: Turn,
}

/// The step of a queue's claim.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Turn {
    /// Due jobs in the queue's usual order.
    Ordered,
    /// The first due job of each tenant after `after`.
    Heads { after: Option<String> },
    /// A fair round's last step: one job in the usual order.
    RoundEnd,
}

/// What a store should look for: due jobs of `queue` whose kind is one of
/// `kinds` and whose tenant is not one of `skip_tenants`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask<'a> {
    /// The queue to look in.
    pub queue: &'a str,
    /// The kinds that still have room.
    pub kinds: Vec<&'a str>,
    /// Most candidates to fetch.
    pub limit: u32,
    /// Tenants whose jobs are passed over (paused, or without room).
    pub skip_tenants: Vec<String>,
    /// `None`: due jobs in claim order (priority, `run_at`, id). `Some(after)`:
    /// the first due job, in claim order, of each tenant whose name sorts
    /// after `after` (every tenant when `None`), tenants in the store's order
    /// of names; jobs without a tenant are not heads.
    pub heads_after: Option<Option<String>>,
}

/// A due job a store found for an ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate<'k> {
    /// The job's id.
    pub id: i64,
    /// Its kind.
    pub kind: &'k str,
    /// Its tenant, if any.
    pub tenant: Option<&'k str>,
}

impl<'a> ClaimPlan<'a> {
    /// A plan with each kind's local cap as its room.
    pub fn new(params: &'a ClaimParams) -> Self {
        ClaimPlan {
            queues: &params.queues,
            kinds: &params.kinds,
            tenant_limits: &params.tenant_limits,
            room: params
                .kinds
                .iter()
                .map(|k| (k.kind.as_str(), k.cap.unwrap_or(u32::MAX)))
                .collect(),
            tenant_room: HashMap::new(),
            skip_tenants: params.paused_tenants.clone(),
            remaining: params.limit,
            current: None,
            next_queue: 0,
            queue_room: 0,
            turn: Turn::Ordered,
        }
    }

    /// Whether the claim has any limit (or skips paused tenants, or rotates
    /// among tenants): without one, a store can claim in one statement and
    /// needs no plan.
    pub fn limited(params: &ClaimParams) -> bool {
        params
            .kinds
            .iter()
            .any(|k| k.cap.is_some() || k.global_limit.is_some())
            || params
                .queues
                .iter()
                .any(|q| q.cap.is_some() || q.fair.is_some())
            || !params.paused_tenants.is_empty()
            || !params.tenant_limits.is_empty()
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
                let left = room_left(limit, used);
                if let Some((_, room)) = self.room.iter_mut().find(|(kind, _)| *kind == k.kind) {
                    *room = (*room).min(left);
                }
            }
        }
    }

    /// The limited tenants among `candidates` whose running jobs the store
    /// has not counted yet for this claim, each once. The store counts them
    /// (under a lock per tenant) and hands the counts to
    /// [`limit_tenants`](Self::limit_tenants) before [`pick`](Self::pick).
    pub fn tenants_to_count<'c>(&self, candidates: &[Candidate<'c>]) -> Vec<&'c str> {
        let mut out: Vec<&'c str> = Vec::new();
        for tenant in candidates.iter().filter_map(|c| c.tenant) {
            if self.tenant_limits.of(tenant).is_some()
                && !self.tenant_room.contains_key(tenant)
                && !out.contains(&tenant)
            {
                out.push(tenant);
            }
        }
        out
    }

    /// Sets each counted tenant's room: its limit minus the jobs it runs
    /// across the cluster. `None` for a count means another claimer is
    /// claiming that tenant's jobs now: it gets no room in this claim.
    pub fn limit_tenants<T: AsRef<str>>(
        &mut self,
        running: impl IntoIterator<Item = (T, Option<i64>)>,
    ) {
        for (tenant, used) in running {
            let tenant = tenant.as_ref();
            let left = match (self.tenant_limits.of(tenant), used) {
                (Some(limit), Some(used)) => room_left(limit, used),
                (Some(_), None) => 0,
                (None, _) => continue,
            };
            self.tenant_room.insert(tenant.to_owned(), left);
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
                    self.turn = match &queue.fair {
                        Some(turn) => Turn::Heads {
                            after: turn.after.clone(),
                        },
                        None => Turn::Ordered,
                    };
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
            let (limit, heads_after) = match &self.turn {
                Turn::Ordered => (self.queue_room, None),
                Turn::Heads { after } => (self.queue_room, Some(after.clone())),
                Turn::RoundEnd => (1, None),
            };
            return Some(Ask {
                queue: &self.queues[index].name,
                kinds,
                limit,
                skip_tenants: self.skip_tenants.clone(),
                heads_after,
            });
        }
    }

    /// Takes what fits of the candidates found for the last ask (in the
    /// order the store found them) and returns their ids, to be marked
    /// claimed. In the usual order, when none was passed over for lack of
    /// room, or none was found, the queue has nothing more to give and the
    /// next ask moves on.
    pub fn pick(&mut self, candidates: &[Candidate<'_>]) -> Vec<i64> {
        let mut passed_over = false;
        let mut picked = Vec::new();
        let mut last_tenant: Option<&str> = None;
        for c in candidates {
            let kind_room = self
                .room
                .iter()
                .position(|(k, room)| *k == c.kind && *room > 0);
            let tenant_ok = match c.tenant {
                Some(t) if self.skip_tenants.iter().any(|s| s == t) => false,
                Some(t) => self.tenant_room.get(t).is_none_or(|room| *room > 0),
                None => true,
            };
            match kind_room {
                Some(at) if tenant_ok && self.queue_room > 0 => {
                    self.room[at].1 -= 1;
                    if let Some(t) = c.tenant
                        && let Some(room) = self.tenant_room.get_mut(t)
                    {
                        *room -= 1;
                        if *room == 0 {
                            self.skip_tenants.push(t.to_owned());
                        }
                    }
                    self.queue_room -= 1;
                    self.remaining -= 1;
                    picked.push(c.id);
                    last_tenant = c.tenant.or(last_tenant);
                }
                _ => {
                    passed_over = true;
                    if let Some(t) = c.tenant
                        && !tenant_ok
                        && !self.skip_tenants.iter().any(|s| s == t)
                    {
                        self.skip_tenants.push(t.to_owned());
                    }
                }
            }
        }
        self.turn = match std::mem::replace(&mut self.turn, Turn::Ordered) {
            Turn::Ordered => {
                if !passed_over || candidates.is_empty() {
                    self.queue_room = 0;
                }
                Turn::Ordered
            }
            // A round ends with the queue's head; the next one starts (even
            // when the head was locked by another claimer: the tenants'
            // heads may still give).
            Turn::RoundEnd => Turn::Heads { after: None },
            Turn::Heads { after } => match (candidates.is_empty(), after) {
                // No tenant has due jobs: what is left has none.
                (true, None) => Turn::Ordered,
                // The tenants after `after` were served: the round ends.
                (true, Some(_)) => Turn::RoundEnd,
                (false, after) => Turn::Heads {
                    after: last_tenant.map(str::to_owned).or(after),
                },
            },
        };
        picked
    }
}

/// What a limit leaves when `used` jobs run (none when they exceed it).
fn room_left(limit: u32, used: i64) -> u32 {
    u32::try_from(i64::from(limit).saturating_sub(used)).unwrap_or(0)
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
    use crate::store::FairTurn;

    fn cands(list: &[(i64, &'static str)]) -> Vec<Candidate<'static>> {
        list.iter()
            .map(|(id, kind)| Candidate {
                id: *id,
                kind,
                tenant: None,
            })
            .collect()
    }

    fn tenant_cands(list: &[(i64, &'static str)]) -> Vec<Candidate<'static>> {
        list.iter()
            .map(|(id, tenant)| Candidate {
                id: *id,
                kind: "k",
                tenant: Some(tenant),
            })
            .collect()
    }

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
                    fair: None,
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
            tenant_limits: TenantLimits::default(),
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
        assert_eq!(plan.pick(&cands(&[(1, "k"), (2, "k")])), [1, 2]);
        let ask = plan.next_ask().expect("queue b");
        assert_eq!((ask.queue, ask.limit), ("b", 3));
        assert_eq!(plan.pick(&cands(&[(3, "k")])), [3]);
        // b gave less than asked with nothing passed over: it is empty.
        assert_eq!(plan.next_ask(), None);
    }

    #[test]
    fn the_claim_ends_when_its_limit_is_taken() {
        let p = params(&[("a", None), ("b", None)], &[("k", None, None)], 2);
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask().expect("a").limit, 2);
        assert_eq!(plan.pick(&cands(&[(1, "k"), (2, "k")])), [1, 2]);
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
        assert_eq!(plan.pick(&cands(&[(1, "k"), (2, "k"), (3, "k")])), [1]);
        let again = plan.next_ask().expect("a again");
        assert_eq!((again.queue, again.kinds, again.limit), ("a", vec!["j"], 9));
        assert_eq!(plan.pick(&[]), Vec::<i64>::new());
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
        assert_eq!(plan.pick(&cands(&[(1, "g"), (2, "g"), (3, "g")])), [1, 2]);
        assert_eq!(plan.next_ask().expect("a again").kinds, ["k"]);
    }

    #[test]
    fn a_kind_the_claim_does_not_know_is_never_taken() {
        let p = params(&[("a", None)], &[("k", None, None)], 10);
        let mut plan = ClaimPlan::new(&p);
        plan.next_ask().expect("a");
        assert_eq!(plan.pick(&cands(&[(1, "other"), (2, "k")])), [2]);
    }

    #[test]
    fn a_queue_capped_at_zero_is_skipped() {
        let p = params(&[("a", Some(0)), ("b", None)], &[("k", None, None)], 3);
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask().expect("b").queue, "b");
    }

    #[test]
    fn a_tenant_takes_no_more_than_its_limit_minus_what_it_runs() {
        let mut p = params(&[("a", None)], &[("k", None, None)], 10);
        p.tenant_limits.each = Some(2);
        p.tenant_limits.tenants.insert("big".into(), 5);
        let mut plan = ClaimPlan::new(&p);
        plan.next_ask().expect("a");
        let found = tenant_cands(&[(1, "acme"), (2, "acme"), (3, "big"), (4, "acme")]);
        assert_eq!(plan.tenants_to_count(&found), ["acme", "big"]);
        plan.limit_tenants([("acme", Some(1)), ("big", Some(0))]);
        assert_eq!(plan.pick(&found), [1, 3]);
        // acme is full: asked again without it; known tenants are not recounted.
        let again = plan.next_ask().expect("a again");
        assert_eq!(again.skip_tenants, ["acme"]);
        assert!(
            plan.tenants_to_count(&tenant_cands(&[(5, "big")]))
                .is_empty()
        );
    }

    #[test]
    fn a_tenant_another_claimer_holds_gets_no_room() {
        let mut p = params(&[("a", None)], &[("k", None, None)], 10);
        p.tenant_limits.each = Some(3);
        let mut plan = ClaimPlan::new(&p);
        plan.next_ask().expect("a");
        let found = tenant_cands(&[(1, "acme"), (2, "initech")]);
        plan.limit_tenants([("acme", None), ("initech", Some(0))]);
        assert_eq!(plan.pick(&found), [2]);
        assert_eq!(plan.next_ask().expect("again").skip_tenants, ["acme"]);
    }

    #[test]
    fn jobs_without_a_tenant_are_not_limited_by_tenant_limits() {
        let mut p = params(&[("a", None)], &[("k", None, None)], 10);
        p.tenant_limits.each = Some(0);
        let mut plan = ClaimPlan::new(&p);
        plan.next_ask().expect("a");
        let found = cands(&[(1, "k"), (2, "k")]);
        assert!(plan.tenants_to_count(&found).is_empty());
        assert_eq!(plan.pick(&found), [1, 2]);
    }

    #[test]
    fn a_fair_queue_takes_one_head_per_tenant_then_ends_the_round_with_its_head() {
        let mut p = params(&[("a", None)], &[("k", None, None)], 4);
        p.queues[0].fair = Some(FairTurn {
            after: Some("acme".into()),
        });
        let mut plan = ClaimPlan::new(&p);
        let ask = plan.next_ask().expect("heads");
        assert_eq!(ask.heads_after, Some(Some("acme".into())));
        assert_eq!(ask.limit, 4);
        assert_eq!(plan.pick(&tenant_cands(&[(7, "initech")])), [7]);
        // Resumes after the tenant served last.
        let ask = plan.next_ask().expect("heads after initech");
        assert_eq!(ask.heads_after, Some(Some("initech".into())));
        assert_eq!(plan.pick(&[]), Vec::<i64>::new());
        // Every tenant had its turn: the round ends with the queue's head.
        let ask = plan.next_ask().expect("round end");
        assert_eq!((ask.heads_after.clone(), ask.limit), (None, 1));
        assert_eq!(plan.pick(&cands(&[(1, "k")])), [1]);
        // A new round from the first tenant.
        let ask = plan.next_ask().expect("new round");
        assert_eq!(ask.heads_after, Some(None));
        assert_eq!(
            plan.pick(&tenant_cands(&[(2, "acme"), (8, "initech")])),
            [2, 8]
        );
        assert_eq!(plan.next_ask(), None);
    }

    #[test]
    fn a_fair_queue_without_due_tenant_jobs_is_served_in_its_usual_order() {
        let mut p = params(&[("a", None)], &[("k", None, None)], 5);
        p.queues[0].fair = Some(FairTurn::default());
        let mut plan = ClaimPlan::new(&p);
        assert_eq!(plan.next_ask().expect("heads").heads_after, Some(None));
        assert_eq!(plan.pick(&[]), Vec::<i64>::new());
        let ask = plan.next_ask().expect("usual order");
        assert_eq!((ask.heads_after, ask.limit), (None, 5));
        assert_eq!(plan.pick(&cands(&[(1, "k"), (2, "k")])), [1, 2]);
        assert_eq!(plan.next_ask(), None);
    }
}
