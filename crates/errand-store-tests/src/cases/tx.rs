use errand::{GetParams, JobState};

use super::*;

pub async fn transactional_enqueue_visible_only_after_commit(h: &Harness) {
    if h.skip_unless(
        h.store.capabilities().transactional_enqueue,
        "join an application transaction",
    ) {
        return;
    }
    let probe =
        h.tx.as_ref()
            .expect("a backend with transactional enqueue provides a TxProbe");
    let now = t0();

    let open = probe.begin_and_enqueue(job("k"), now).await.unwrap();
    let id = open.id();
    assert!(
        h.store.get(GetParams { id, now }).await.unwrap().is_none(),
        "invisible before commit"
    );
    // (No claim here: on SQLite the open transaction holds the write lock, and
    // a claim would wait for it. Reads see the committed state only.)
    open.commit().await.unwrap();
    assert_eq!(get(h, id, now).await.state, JobState::Available);

    let open = probe.begin_and_enqueue(job("k"), now).await.unwrap();
    let rolled_back = open.id();
    open.rollback().await.unwrap();
    assert!(
        h.store
            .get(GetParams {
                id: rolled_back,
                now
            })
            .await
            .unwrap()
            .is_none(),
        "gone after rollback"
    );
    let claimed = claim(h, "w", &["k"], 10, now).await;
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [id]);
}
