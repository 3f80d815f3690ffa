//! Tenants at claim time: a per-tenant limit across the cluster and fair
//! claiming, which rotates among the tenants of a queue.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use errand::store::{FairTurn, Outcome};
use errand::{Client, Finished, Worker};

use super::*;
use crate::jobs::{self, TenantGauges};

fn tenant_job(tenant: Option<&str>) -> NewJob {
    let mut job = job("limited");
    job.tenant = tenant.map(str::to_owned);
    job
}

/// Jobs of each tenant (`-` for none) among `jobs`.
fn per_tenant(jobs: &[JobRow]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for job in jobs {
        *counts
            .entry(job.tenant.clone().unwrap_or_else(|| "-".into()))
            .or_default() += 1;
    }
    counts
}

fn limited_claim(worker: &str, now: DateTime<Utc>) -> ClaimParams {
    let mut p = claim_params(worker, &["default"], &["limited"], 10, now);
    p.tenant_limits.each = Some(2);
    p.tenant_limits.tenants.insert("big".into(), 4);
    p
}

pub async fn tenant_limit_is_never_exceeded_by_concurrent_claimers(h: &Harness) {
    let now = t0();
    // Interleaved, so that every claim meets every tenant.
    let mut made = Vec::new();
    for i in 0..60 {
        let tenant = match i % 4 {
            0 => Some("acme"),
            1 => Some("initech"),
            2 => Some("big"),
            _ => None,
        };
        let mut job = tenant_job(tenant);
        job.run_at = Some(now - secs(100 - i));
        made.push(job);
    }
    enqueue(h, made, now).await;
    // Eight claimers on two connections race; together they may hold at
    // most each tenant's limit, and any number of jobs without a tenant.
    let other = h.another().await.unwrap();
    let claims = futures::future::join_all((0..8).map(|i| {
        let store = if i % 2 == 0 {
            Arc::clone(&h.store)
        } else {
            Arc::clone(&other)
        };
        let p = limited_claim(&format!("w{i}"), now);
        tokio::spawn(async move { store.claim(p).await.unwrap() })
    }))
    .await;
    let mut held: Vec<JobRow> = claims.into_iter().flat_map(|r| r.unwrap()).collect();
    let raced = per_tenant(&held);
    assert!(raced.get("acme").copied().unwrap_or(0) <= 2, "{raced:?}");
    assert!(raced.get("initech").copied().unwrap_or(0) <= 2, "{raced:?}");
    assert!(raced.get("big").copied().unwrap_or(0) <= 4, "{raced:?}");
    // Claiming on until nothing comes fills every tenant exactly to its
    // limit (a claimer that found a tenant locked by another passed it
    // over), and takes every job without a tenant.
    loop {
        let more = h.store.claim(limited_claim("late", now)).await.unwrap();
        if more.is_empty() {
            break;
        }
        held.extend(more);
    }
    let filled = per_tenant(&held);
    assert_eq!(
        filled,
        BTreeMap::from([
            ("-".to_owned(), 15),
            ("acme".to_owned(), 2),
            ("big".to_owned(), 4),
            ("initech".to_owned(), 2),
        ])
    );
    // Jobs of other tenants' limits are no business of a claim without
    // limits: it takes what waits.
    let unlimited = h
        .store
        .claim(claim_params("free", &["default"], &["limited"], 100, now))
        .await
        .unwrap();
    assert_eq!(unlimited.len(), 60 - 23);
    for job in unlimited {
        assert!(
            finalize(
                h,
                "free",
                job.id,
                1,
                Outcome::Retry {
                    run_at: now,
                    error: errand::AttemptError {
                        attempt: 1,
                        at: now,
                        message: "back to waiting".into(),
                        kind: errand::ErrorKind::Error,
                    },
                },
                now,
            )
            .await
        );
    }

    // Ending one acme job frees exactly one acme place; a retry (back to
    // waiting) frees it too.
    let acme: Vec<&JobRow> = held
        .iter()
        .filter(|j| j.tenant.as_deref() == Some("acme"))
        .collect();
    let first = acme[0];
    assert!(
        finalize(
            h,
            first.worker.as_deref().unwrap(),
            first.id,
            1,
            Outcome::Complete {
                output: serde_json::Value::Null
            },
            now
        )
        .await
    );
    let next = h.store.claim(limited_claim("next", now)).await.unwrap();
    assert_eq!(
        per_tenant(&next),
        BTreeMap::from([("acme".to_owned(), 1)]),
        "one acme place freed, nothing else"
    );
    // Jobs running beyond a tenant's (lowered) limit leave no room and
    // cause no error.
    let mut lowered = limited_claim("lowered", now);
    lowered.tenant_limits.tenants.insert("big".into(), 1);
    assert!(h.store.claim(lowered).await.unwrap().is_empty());
}
case!(tenant_limit_is_never_exceeded_by_concurrent_claimers);

pub async fn a_full_tenants_backlog_hides_no_other_job(h: &Harness) {
    let now = t0();
    // acme's long backlog comes first; initech's job and one without a
    // tenant wait behind it.
    let mut jobs: Vec<NewJob> = (0..300)
        .map(|i| {
            let mut job = tenant_job(Some("acme"));
            job.run_at = Some(now - secs(1000 - i));
            job
        })
        .collect();
    for (tenant, age) in [(Some("initech"), 10), (None, 5)] {
        let mut job = tenant_job(tenant);
        job.run_at = Some(now - secs(age));
        jobs.push(job);
    }
    enqueue(h, jobs, now).await;
    let claim = |worker: &str| {
        let mut p = claim_params(worker, &["default"], &["limited"], 10, now);
        p.tenant_limits.each = Some(2);
        p
    };
    let first = h.store.claim(claim("a")).await.unwrap();
    assert_eq!(
        per_tenant(&first),
        BTreeMap::from([
            ("-".to_owned(), 1),
            ("acme".to_owned(), 2),
            ("initech".to_owned(), 1),
        ])
    );
    // acme is full, the rest was taken: nothing more, however long acme's
    // backlog.
    assert!(h.store.claim(claim("b")).await.unwrap().is_empty());
    // A job without a tenant enqueued now is found behind the backlog.
    let late = enqueue_one(h, tenant_job(None), now).await;
    let found = h.store.claim(claim("c")).await.unwrap();
    assert_eq!(found.iter().map(|j| j.id).collect::<Vec<_>>(), [late]);
}
case!(a_full_tenants_backlog_hides_no_other_job);

fn fair_claim(after: Option<&str>, limit: u32, now: DateTime<Utc>) -> ClaimParams {
    let mut p = claim_params("fair", &["default"], &["limited"], limit, now);
    p.queues[0].fair = Some(FairTurn {
        after: after.map(str::to_owned),
    });
    p
}

fn tenants_of(jobs: &[JobRow]) -> Vec<String> {
    jobs.iter()
        .map(|j| j.tenant.clone().unwrap_or_else(|| "-".into()))
        .collect()
}

pub async fn fair_claims_rotate_among_tenants_whatever_their_backlog(h: &Harness) {
    let now = t0();
    // acme's backlog is older than everything else, at a better priority
    // too; then one job each of initech and zeta, and one without a tenant.
    let mut backlog: Vec<NewJob> = (0..2000)
        .map(|i| {
            let mut job = tenant_job(Some("acme"));
            job.run_at = Some(now - secs(5000 - i));
            job.priority = if i % 2 == 0 { 0 } else { 1 };
            job
        })
        .collect();
    for (tenant, age) in [(Some("zeta"), 20), (Some("initech"), 10), (None, 5)] {
        let mut job = tenant_job(tenant);
        job.run_at = Some(now - secs(age));
        job.priority = 1;
        backlog.push(job);
    }
    // A tenant whose jobs are all scheduled later has no turn yet.
    let mut later = tenant_job(Some("later"));
    later.run_at = Some(now + secs(60));
    backlog.push(later);
    enqueue(h, backlog, now).await;

    // One job per claim: the other tenants' first jobs come within two
    // claims of each other, not after acme's 2,000.
    let first = h.store.claim(fair_claim(None, 1, now)).await.unwrap();
    assert_eq!(tenants_of(&first), ["acme"]);
    let second = h
        .store
        .claim(fair_claim(Some("acme"), 1, now))
        .await
        .unwrap();
    assert_eq!(tenants_of(&second), ["initech"]);
    let third = h
        .store
        .claim(fair_claim(Some("initech"), 1, now))
        .await
        .unwrap();
    assert_eq!(tenants_of(&third), ["zeta"]);
    // Every tenant had its turn: the round ends with the queue's first job
    // in its usual order (acme's next, by priority then age).
    let fourth = h
        .store
        .claim(fair_claim(Some("zeta"), 1, now))
        .await
        .unwrap();
    assert_eq!(tenants_of(&fourth), ["acme"]);
    assert_eq!(fourth[0].priority, 0);

    // A larger claim runs a round and goes on to the next: acme's head,
    // then the round's end, then acme's head again.
    assert_eq!(
        tenants_of(&h.store.claim(fair_claim(None, 3, now)).await.unwrap()),
        ["acme", "acme", "acme"]
    );
    // With acme at its limit (five of its jobs run), the round skips it,
    // and the round's end passes over acme's backlog to the job without a
    // tenant.
    let mut limited = fair_claim(None, 5, now);
    limited.tenant_limits.tenants.insert("acme".into(), 5);
    assert_eq!(tenants_of(&h.store.claim(limited).await.unwrap()), ["-"]);

    // A fair queue whose jobs have no tenant is claimed in its usual order.
    let ids = enqueue(
        h,
        (0..3)
            .map(|i| {
                let mut job = tenant_job(None);
                job.queue = "plain".into();
                job.run_at = Some(now - secs(3 - i));
                job
            })
            .collect(),
        now,
    )
    .await;
    let mut plain = claim_params("fair", &["plain"], &["limited"], 10, now);
    plain.queues[0].fair = Some(FairTurn::default());
    let claimed = h.store.claim(plain).await.unwrap();
    assert_eq!(
        claimed.iter().map(|j| j.id).collect::<Vec<_>>(),
        ids.iter().map(|e| e.id).collect::<Vec<_>>()
    );
}
case!(fair_claims_rotate_among_tenants_whatever_their_backlog);

pub async fn runtime_tenant_limits_hold_across_workers_of_two_stores(h: &Harness) {
    let other = h.another().await.unwrap();
    let gauges = Arc::new(TenantGauges::default());
    let worker = |store: Arc<dyn errand::Store>| {
        Worker::builder(store)
            .register(jobs::tenant_sleepy::job())
            .state_arc(Arc::clone(&gauges))
            .concurrency(8)
            .tenant_limit(2)
            .tenant_limit_for("big", 3)
            .poll_interval(Duration::from_millis(50))
            .build()
            .unwrap()
            .start()
    };
    let here = worker(Arc::clone(&h.store));
    let there = worker(other);
    let client = Client::new(Arc::clone(&h.store));
    let handles = client
        .enqueue_many((0..60).map(|i| {
            let job = jobs::tenant_sleepy::enqueue(15);
            match i % 4 {
                0 => job.tenant("acme"),
                1 => job.tenant("initech"),
                2 => job.tenant("big"),
                _ => job,
            }
        }))
        .await
        .unwrap();
    for handle in &handles {
        assert_eq!(
            handle.wait_timeout(Duration::from_secs(60)).await.unwrap(),
            Finished::Completed(())
        );
    }
    here.shutdown().await;
    there.shutdown().await;
    let peaks = gauges.peaks();
    for (tenant, limit) in [("acme", 2), ("initech", 2), ("big", 3)] {
        let peak = peaks.get(tenant).copied().unwrap_or(0);
        assert!(
            (1..=limit).contains(&peak),
            "{tenant} ran {peak} at once, limit {limit}: {peaks:?}"
        );
    }
}
case!(runtime_tenant_limits_hold_across_workers_of_two_stores);

pub async fn runtime_a_fair_queue_serves_a_new_tenant_within_two_claims(h: &Harness) {
    let client = Client::new(Arc::clone(&h.store));
    client
        .enqueue_many((0..300).map(|_| jobs::tenant_sleepy::enqueue(0).tenant("acme")))
        .await
        .unwrap();
    client
        .enqueue(jobs::tenant_sleepy::enqueue(0).tenant("initech"))
        .await
        .unwrap();
    let gauges = Arc::new(TenantGauges::default());
    let worker = Worker::builder(Arc::clone(&h.store))
        .register(jobs::tenant_sleepy::job())
        .state_arc(Arc::clone(&gauges))
        .concurrency(1)
        .fair_queue("default")
        .build()
        .unwrap();
    // A drain claims one job at a time here: initech's job comes second,
    // not after acme's 300.
    assert_eq!(worker.drain().await.unwrap().completed, 301);
    let order = gauges.order();
    assert_eq!(order.len(), 301);
    assert_eq!(order[..2], ["acme", "initech"], "{:?}", &order[..5]);
}
case!(runtime_a_fair_queue_serves_a_new_tenant_within_two_claims);
