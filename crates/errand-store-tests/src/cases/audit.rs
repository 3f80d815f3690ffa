//! The audit of operators' changes: kept whole with growing ids, listed
//! newest first a page at a time, seen from another connection, pruned by
//! age; bad records refused without a trace.

use errand::Error;
use errand::store::{MAX_AUDIT_PAGE, NewAuditRecord};

use super::*;

fn record(action: &str, at: DateTime<Utc>) -> NewAuditRecord {
    NewAuditRecord {
        at,
        actor: "ann (token)".into(),
        action: action.into(),
        target: Some("42".into()),
        filter: Some(serde_json::json!({"kind": "send_email", "state": "failed"})),
        count: 3,
    }
}

pub async fn audit_records_are_kept_paged_newest_first_and_pruned(h: &Harness) {
    let now = t0();
    assert!(h.store.audit_records(None, 10).await.unwrap().is_empty());
    let old = record("jobs.retry", now - TimeDelta::days(100));
    let mut plain = record("queue.pause", now - secs(5));
    plain.target = None;
    plain.filter = None;
    let recent = record("jobs.retry_matching", now);
    let mut ids = Vec::new();
    for r in [&old, &plain, &recent] {
        ids.push(h.store.record_audit(r.clone()).await.unwrap());
    }
    assert!(ids[0] < ids[1] && ids[1] < ids[2], "ids grow: {ids:?}");
    let all = h
        .another()
        .await
        .unwrap()
        .audit_records(None, 10)
        .await
        .unwrap();
    let seen: Vec<(i64, &NewAuditRecord)> = all.iter().map(|r| (r.id, &r.record)).collect();
    assert_eq!(
        seen,
        vec![(ids[2], &recent), (ids[1], &plain), (ids[0], &old)],
        "newest first, whole, seen from another connection"
    );
    // Keyset paging: two, then what lies below the last.
    let first = h.store.audit_records(None, 2).await.unwrap();
    assert_eq!(
        first.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[2], ids[1]]
    );
    let rest = h.store.audit_records(Some(ids[1]), 2).await.unwrap();
    assert_eq!(rest.iter().map(|r| r.id).collect::<Vec<_>>(), [ids[0]]);
    assert!(
        h.store
            .audit_records(Some(ids[0]), 2)
            .await
            .unwrap()
            .is_empty()
    );
    // Pruning takes what was made before the cutoff, and only that.
    assert_eq!(
        h.store
            .prune_audit(now - TimeDelta::days(90))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        h.store
            .prune_audit(now - TimeDelta::days(90))
            .await
            .unwrap(),
        0
    );
    let left = h.store.audit_records(None, MAX_AUDIT_PAGE).await.unwrap();
    assert_eq!(
        left.iter().map(|r| r.id).collect::<Vec<_>>(),
        [ids[2], ids[1]]
    );
    // A new record after a prune still gets a larger id.
    let next = h
        .store
        .record_audit(record("cron.trigger", now))
        .await
        .unwrap();
    assert!(next > ids[2]);
}
case!(audit_records_are_kept_paged_newest_first_and_pruned);

pub async fn bad_audit_records_and_pages_are_refused_and_change_nothing(h: &Harness) {
    let now = t0();
    let mut no_actor = record("jobs.retry", now);
    no_actor.actor.clear();
    let mut nul = record("jobs\0retry", now);
    nul.target = None;
    let mut huge = record("jobs.retry", now);
    huge.filter = Some(serde_json::json!("x".repeat(20_000)));
    let mut late = record("jobs.retry", now);
    late.at = DateTime::from_timestamp(7_300_000_000, 0).unwrap();
    for (bad, field) in [
        (no_actor, "actor"),
        (nul, "action"),
        (huge, "audit record"),
        (late, "at"),
    ] {
        match h.store.record_audit(bad.clone()).await {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{bad:?}"),
            other => panic!("{field}: expected an invalid input error, got {other:?}"),
        }
    }
    for limit in [0, MAX_AUDIT_PAGE + 1] {
        match h.store.audit_records(None, limit).await {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "limit"),
            other => panic!("limit {limit}: expected an invalid input error, got {other:?}"),
        }
    }
    assert!(
        h.store.audit_records(None, 10).await.unwrap().is_empty(),
        "nothing was stored"
    );
}
case!(bad_audit_records_and_pages_are_refused_and_change_nothing);
