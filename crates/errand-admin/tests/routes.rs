//! Every route of the admin API, walked: without a token 401, read-only 403
//! on mutations, bad input 400 naming the field, and nothing changed by
//! any refused request. Then the operations themselves, through HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use errand::{Client, JobError, JobState, Worker};
use errand_admin::{Access, Api, CSRF_HEADER, ROUTES};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::{Backend, store_on};

const TOKEN: &str = "test-token-0123";

#[errand::job(queue = "mail")]
async fn send_email(input: String) -> Result<(), JobError> {
    if input.starts_with("bad") {
        return Err(JobError::fatal(format!("mailbox {input} does not exist")));
    }
    Ok(())
}

/// A store with jobs in several states, a batch, a cron entry, a pause.
struct Fixture {
    _dir: tempfile::TempDir,
    client: Client,
    worker: Worker,
    failed_job: i64,
    waiting_job: i64,
    batch: i64,
}

async fn fixture() -> Fixture {
    fixture_on(Backend::Sqlite).await
}

/// A fixture in a new SQLite file, PostgreSQL schema or Redis prefix.
async fn fixture_on(backend: Backend) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = store_on(backend, dir.path()).await;
    let client = Client::new(store.clone());
    let worker = Worker::builder(store)
        .register(send_email::job())
        .queues(["mail", "default"])
        .build()
        .unwrap();
    client
        .enqueue(send_email::enqueue("ann@example.com".into()))
        .await
        .unwrap();
    let failed = client
        .enqueue(send_email::enqueue("bad@example.com".into()))
        .await
        .unwrap();
    worker.drain().await.unwrap();
    let waiting = client
        .enqueue(
            send_email::enqueue("later@example.com".into())
                .delay(std::time::Duration::from_secs(3600)),
        )
        .await
        .unwrap();
    let batch = client
        .batch()
        .tenant("acme")
        .jobs([send_email::enqueue("b1@example.com".into())
            .delay(std::time::Duration::from_secs(3600))])
        .enqueue()
        .await
        .unwrap();
    let entry = errand::cron::Entry::new(
        "nightly",
        "send_email",
        json!("ops@example.com"),
        "0 3 * * *",
    )
    .unwrap();
    client.cron().create(entry).await.unwrap();
    client
        .pause(
            errand::PauseScope::queue("reports"),
            "ops",
            Some("quarter end"),
        )
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        client,
        worker,
        failed_job: failed.id().0,
        waiting_job: waiting.id().0,
        batch: batch.id().0,
    }
}

/// Everything a mutation could change, read through the operations.
async fn snapshot(api: &Api) -> Value {
    let jobs = api
        .jobs(errand_admin::JobQuery {
            limit: Some(10_000),
            ..Default::default()
        })
        .await
        .unwrap();
    let batches = api
        .batches(errand_admin::BatchQuery::default())
        .await
        .unwrap();
    let cron = api
        .cron_entries(errand_admin::CronQuery::default())
        .await
        .unwrap();
    json!({
        "jobs": jobs.jobs.iter().map(|j| json!([j.id, j.state, j.run_at, j.attempt, j.cancel_requested])).collect::<Vec<_>>(),
        "batches": batches,
        "cron": cron,
        "pauses": api.pauses().await.unwrap(),
        "audit": api.audit_records(errand_admin::AuditQuery::default()).await.unwrap().records,
    })
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Value,
}

async fn call(router: &Router, request: Request<Body>) -> Answer {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Answer {
        status,
        headers,
        body,
    }
}

fn request(method: &str, uri: &str, token: Option<&str>, body: Option<Value>) -> Request<Body> {
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, "localhost:7700");
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap(),
        None => builder.body(Body::empty()).unwrap(),
    }
}

/// `route`'s path with its parameters filled from the fixture.
fn concrete(path: &str, f: &Fixture) -> String {
    let id = if path.starts_with("/api/batches") {
        f.batch
    } else {
        f.waiting_job
    };
    path.replace("{id}", &id.to_string())
        .replace("{queue}", "mail")
        .replace("{name}", "nightly")
}

#[tokio::test]
async fn without_a_valid_token_every_route_is_401_and_changes_nothing() {
    let f = fixture().await;
    let api = Api::new(f.client.clone()).worker(f.worker.clone());
    let router = api.clone().router(Access::token(TOKEN).unwrap());
    let before = snapshot(&api).await;
    for route in ROUTES {
        let uri = concrete(route.path, &f);
        for token in [None, Some("wrong-token-0123"), Some("test-token-012")] {
            let answer = call(&router, request(route.method, &uri, token, None)).await;
            assert_eq!(
                answer.status,
                StatusCode::UNAUTHORIZED,
                "{} {uri} with {token:?}",
                route.method
            );
            assert_eq!(answer.body["error"]["kind"], "unauthorized");
        }
    }
    assert_eq!(snapshot(&api).await, before);
}

#[tokio::test]
async fn read_only_refuses_every_mutation_with_403_and_serves_reads() {
    let f = fixture().await;
    let api = Api::new(f.client.clone())
        .worker(f.worker.clone())
        .metrics(|| "m 1\n".into());
    let router = api
        .clone()
        .router(Access::token(TOKEN).unwrap().read_only());
    let before = snapshot(&api).await;
    for route in ROUTES {
        let uri = concrete(route.path, &f);
        let answer = call(
            &router,
            request(route.method, &uri, Some(TOKEN), Some(json!({}))),
        )
        .await;
        if route.method == "GET" {
            assert_eq!(answer.status, StatusCode::OK, "GET {uri}: {}", answer.body);
        } else {
            assert_eq!(
                answer.status,
                StatusCode::FORBIDDEN,
                "{} {uri}",
                route.method
            );
            assert_eq!(answer.body["error"]["kind"], "read_only");
        }
    }
    assert_eq!(snapshot(&api).await, before);
}

#[tokio::test]
async fn bad_input_is_400_naming_field_and_value_and_changes_nothing() {
    let f = fixture().await;
    let api = Api::new(f.client.clone());
    let router = api.clone().router(Access::token(TOKEN).unwrap());
    let before = snapshot(&api).await;
    let cases: Vec<(&str, &str, Option<Value>, &str, &str)> = vec![
        ("GET", "/api/jobs?limit=0", None, "limit", "0"),
        ("GET", "/api/jobs?limit=ten", None, "limit", "ten"),
        ("GET", "/api/jobs?state=lost", None, "state", "lost"),
        ("GET", "/api/jobs?queue=", None, "queue", ""),
        ("GET", "/api/jobs?colour=red", None, "colour", "red"),
        ("GET", "/api/jobs?kind=a&kind=b", None, "kind", "b"),
        ("GET", "/api/jobs/abc", None, "id", "abc"),
        ("GET", "/api/stats?tenant=", None, "tenant", ""),
        ("GET", "/api/tenants?limit=0", None, "limit", "0"),
        ("GET", "/api/tenants?after=", None, "after", ""),
        ("GET", "/api/tenants?after=a%20b", None, "after", "a b"),
        ("GET", "/api/batches?limit=5000", None, "limit", "5000"),
        ("GET", "/api/batches/x1", None, "id", "x1"),
        ("GET", "/api/batches/totals?tenant=", None, "tenant", ""),
        ("GET", "/api/cron?limit=0", None, "limit", "0"),
        ("GET", "/api/audit?limit=1001", None, "limit", "1001"),
        ("GET", "/api/audit?before=0", None, "before", "0"),
        ("GET", "/api/audit?before=x", None, "before", "x"),
        ("GET", "/api/cron/nightly/next?count=0", None, "count", "0"),
        (
            "GET",
            "/api/cron/nightly/next?from=yesterday",
            None,
            "from",
            "yesterday",
        ),
        (
            "GET",
            "/api/cron/nightly/ledger?limit=1000",
            None,
            "limit",
            "1000",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send email"})),
            "kind",
            "send email",
        ),
        ("POST", "/api/jobs", Some(json!({"input": 1})), "kind", ""),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "queue": ""})),
            "queue",
            "",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "max_attempts": 0})),
            "max_attempts",
            "0",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "max_attempts": -1})),
            "max_attempts",
            "-1",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "delay": "-5s"})),
            "delay",
            "-5s",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "run_at": "tomorrow"})),
            "run_at",
            "tomorrow",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "priority": "high"})),
            "priority",
            "high",
        ),
        (
            "POST",
            "/api/jobs",
            Some(json!({"kind": "send_email", "colour": "red"})),
            "colour",
            "red",
        ),
        ("POST", "/api/jobs/retry", Some(json!({})), "filter", "none"),
        (
            "POST",
            "/api/jobs/retry",
            Some(json!({"state": "running", "all": true})),
            "state",
            "running",
        ),
        ("POST", "/api/jobs/abc/retry", None, "id", "abc"),
        ("POST", "/api/jobs/1.5/cancel", None, "id", "1.5"),
        ("POST", "/api/jobs/x/run_now", None, "id", "x"),
        ("DELETE", "/api/jobs/x", None, "id", "x"),
        ("POST", "/api/batches/x/cancel", None, "id", "x"),
        (
            "POST",
            "/api/queues/mail/pause",
            Some(json!({"note": 5})),
            "note",
            "5",
        ),
        (
            "POST",
            "/api/pause",
            Some(json!({"tenant": ""})),
            "tenant",
            "",
        ),
        (
            "POST",
            "/api/resume",
            Some(json!({"tenant": ""})),
            "tenant",
            "",
        ),
        (
            "POST",
            "/api/cron",
            Some(json!({"name": "x", "kind": "k", "schedule": "61 * * * *"})),
            "schedule",
            "61 * * * *",
        ),
        (
            "POST",
            "/api/cron",
            Some(json!({"name": "x", "kind": "k", "schedule": "@daily", "zone": "Mars/Base"})),
            "zone",
            "Mars/Base",
        ),
        (
            "POST",
            "/api/cron/nightly/disable",
            Some(json!({"note": ["x"]})),
            "note",
            "[\"x\"]",
        ),
        (
            "POST",
            "/api/cron/nightly/enable?tenant=",
            None,
            "tenant",
            "",
        ),
        ("DELETE", "/api/cron/nightly?tenant=", None, "tenant", ""),
        (
            "POST",
            "/api/prune",
            Some(json!({"completed": "soon"})),
            "completed",
            "soon",
        ),
        (
            "POST",
            "/api/prune",
            Some(json!({"completed": "10ms"})),
            "completed",
            "10ms",
        ),
        (
            "POST",
            "/api/prune",
            Some(json!({"audit": "forever"})),
            "audit",
            "forever",
        ),
        (
            "POST",
            "/api/prune",
            Some(json!({"dry_run": "yes"})),
            "dry_run",
            "yes",
        ),
    ];
    for (method, uri, body, field, value) in cases {
        let answer = call(&router, request(method, uri, Some(TOKEN), body.clone())).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{method} {uri} {body:?}: {}",
            answer.body
        );
        let error = &answer.body["error"];
        assert_eq!(error["kind"], "invalid", "{method} {uri}: {error}");
        assert!(
            error["field"]
                .as_str()
                .is_some_and(|f| f == field || f.ends_with(&format!(".{field}"))),
            "{method} {uri} {body:?} must name {field}: {error}"
        );
        assert_eq!(error["value"], value, "{method} {uri} {body:?}: {error}");
    }
    // A body that is not JSON, or not sent as JSON.
    for (content_type, text, field) in [
        ("application/json", "{\"kind\": ", "body"),
        ("text/plain", "{\"kind\": \"send_email\"}", "content-type"),
    ] {
        let request = Request::builder()
            .method("POST")
            .uri("/api/jobs")
            .header(header::HOST, "localhost")
            .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(text))
            .unwrap();
        let answer = call(&router, request).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{text}");
        assert_eq!(answer.body["error"]["field"], field, "{}", answer.body);
    }
    assert_eq!(snapshot(&api).await, before);
}

#[tokio::test]
async fn every_route_is_served_documented_and_answers_with_security_headers() {
    let f = fixture().await;
    let api = Api::new(f.client.clone())
        .worker(f.worker.clone())
        .metrics(String::new);
    let router = api.router(Access::token(TOKEN).unwrap());
    let doc: Value = serde_json::from_str(errand_admin::OPENAPI).unwrap();
    let mut documented = 0;
    for (_, ops) in doc["paths"].as_object().unwrap() {
        documented += ops.as_object().unwrap().len();
    }
    assert_eq!(
        documented,
        ROUTES.len(),
        "the document has exactly the routes"
    );
    for route in ROUTES {
        let op = &doc["paths"][route.path][route.method.to_lowercase()];
        assert!(
            op.is_object(),
            "{} {} is not documented",
            route.method,
            route.path
        );
        assert!(op["summary"].is_string());
        // A GET is served (not "no endpoint"), whatever it answers.
        if route.method == "GET" {
            let answer = call(
                &router,
                request("GET", &concrete(route.path, &f), Some(TOKEN), None),
            )
            .await;
            assert_ne!(
                answer.status,
                StatusCode::NOT_FOUND,
                "GET {}: {}",
                route.path,
                answer.body
            );
            assert_ne!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "GET {}",
                route.path
            );
        }
    }
    let served = call(
        &router,
        request("GET", "/api/openapi.json", Some(TOKEN), None),
    )
    .await;
    assert_eq!(served.body, doc);
    for uri in ["/api/jobs", "/api/nothing", "/api/jobs/abc"] {
        for token in [Some(TOKEN), None] {
            let answer = call(&router, request("GET", uri, token, None)).await;
            let h = &answer.headers;
            assert_eq!(h["x-frame-options"], "DENY", "{uri}");
            assert_eq!(h["x-content-type-options"], "nosniff");
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(
                csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
                "{csp}"
            );
        }
    }
    let missing = call(&router, request("GET", "/api/nothing", Some(TOKEN), None)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["error"]["kind"], "not_found");
    let wrong = call(&router, request("PUT", "/api/jobs", Some(TOKEN), None)).await;
    assert_eq!(wrong.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn without_a_token_only_loopback_hosts_and_csrf_carrying_mutations_pass() {
    let f = fixture().await;
    let api = Api::new(f.client.clone());
    let router = api.clone().router(Access::loopback());
    let before = snapshot(&api).await;
    // A page elsewhere reaching this machine through a DNS name of its own.
    let mut foreign = request("GET", "/api/jobs", None, None);
    foreign
        .headers_mut()
        .insert(header::HOST, "evil.example:7700".parse().unwrap());
    let answer = call(&router, foreign).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    // A mutation without the page's CSRF token, or with a wrong one.
    let uri = format!("/api/jobs/{}/cancel", f.waiting_job);
    assert_eq!(
        call(&router, request("POST", &uri, None, None))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let mut forged = request("POST", &uri, None, None);
    forged
        .headers_mut()
        .insert(CSRF_HEADER, "0123".parse().unwrap());
    assert_eq!(call(&router, forged).await.status, StatusCode::FORBIDDEN);
    assert_eq!(snapshot(&api).await, before);
    // With the token of GET /api/session it goes through.
    let session = call(&router, request("GET", "/api/session", None, None)).await;
    assert_eq!(session.body["token_required"], false);
    let csrf = session.body["csrf_token"].as_str().unwrap().to_owned();
    assert_eq!(csrf.len(), 32);
    let mut allowed = request("POST", &uri, None, None);
    allowed
        .headers_mut()
        .insert(CSRF_HEADER, csrf.parse().unwrap());
    let answer = call(&router, allowed).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["result"], "cancelled");
    // Another router (another start) has another token.
    let other = api.router(Access::loopback());
    let again = call(&other, request("GET", "/api/session", None, None)).await;
    assert_ne!(again.body["csrf_token"], session.body["csrf_token"]);
}

#[tokio::test]
async fn the_operations_work_through_http_on_every_store() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Redis] {
        operations_through_http(fixture_on(backend).await).await;
    }
}

async fn operations_through_http(f: Fixture) {
    let api = Api::new(f.client.clone())
        .worker(f.worker.clone())
        .metrics(|| "errand_jobs_completed_total 1\n".into());
    let router = api.router(Access::token(TOKEN).unwrap());
    let go = |method: &'static str, uri: String, body: Option<Value>| {
        let router = router.clone();
        async move { call(&router, request(method, &uri, Some(TOKEN), body)).await }
    };

    // The dead letters: failed jobs, found by text in their errors; retried.
    let failed = go(
        "GET",
        "/api/jobs?state=failed&error=DOES%20NOT%20EXIST".into(),
        None,
    )
    .await;
    assert_eq!(failed.status, StatusCode::OK);
    let ids: Vec<i64> = failed.body["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![f.failed_job]);
    let shown = go("GET", format!("/api/jobs/{}", f.failed_job), None).await;
    assert_eq!(
        shown.body["errors"][0]["message"],
        "mailbox bad@example.com does not exist"
    );
    let retried = go("POST", format!("/api/jobs/{}/retry", f.failed_job), None).await;
    assert_eq!(
        retried.body,
        json!({"id": f.failed_job, "result": "retried"})
    );
    let again = go("POST", format!("/api/jobs/{}/retry", f.failed_job), None).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    assert_eq!(
        go("GET", "/api/jobs/999999".into(), None).await.status,
        StatusCode::NOT_FOUND
    );

    // Drain runs it (it fails again, for good: a fatal error).
    let drained = go("POST", "/api/drain".into(), None).await;
    assert_eq!(drained.status, StatusCode::OK, "{}", drained.body);
    assert_eq!(drained.body["failed"], 1, "{}", drained.body);
    // The drain ran the worker's maintenance: its heartbeat is on record.
    let workers = go("GET", "/api/workers".into(), None).await;
    assert_eq!(workers.body["alive"], 1, "{}", workers.body);
    assert_eq!(workers.body["workers"][0]["name"], f.worker.name());
    assert_eq!(workers.body["workers"][0]["kinds"], json!(["send_email"]));
    assert_eq!(workers.body["workers"][0]["alive"], true);
    let bulk = go(
        "POST",
        "/api/jobs/retry".into(),
        Some(json!({"kind": "send_email"})),
    )
    .await;
    assert_eq!(bulk.body, json!({"retried": 1, "skipped": 0}));

    // Paging: one job per page, walked to the end, newest first.
    let mut seen = Vec::new();
    let mut uri = "/api/jobs?limit=1".to_owned();
    loop {
        let page = go("GET", uri.clone(), None).await;
        let jobs = page.body["jobs"].as_array().unwrap().clone();
        seen.extend(jobs.iter().map(|j| j["id"].as_i64().unwrap()));
        match page.body["next_before"].as_i64() {
            Some(before) => uri = format!("/api/jobs?limit=1&before={before}"),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted);
    assert_eq!(seen.len(), 4, "two mails, one later, one in the batch");
    let by_id = go(
        "GET",
        format!("/api/jobs?id={}&state=scheduled", f.waiting_job),
        None,
    )
    .await;
    assert_eq!(by_id.body["jobs"].as_array().unwrap().len(), 1);
    let by_id_other_state = go(
        "GET",
        format!("/api/jobs?id={}&state=failed", f.waiting_job),
        None,
    )
    .await;
    assert_eq!(by_id_other_state.body["jobs"].as_array().unwrap().len(), 0);

    // With a live worker on record, a kind or queue it does not serve is
    // refused (a typo would wait forever), unless asked for.
    for (body, field) in [
        (json!({"kind": "send_emial"}), "kind"),
        (json!({"kind": "send_email", "queue": "reports"}), "queue"),
    ] {
        let refused = go("POST", "/api/jobs".into(), Some(body.clone())).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.body);
        assert_eq!(refused.body["error"]["field"], field, "{}", refused.body);
    }
    let message = go(
        "POST",
        "/api/jobs".into(),
        Some(json!({"kind": "send_emial"})),
    )
    .await;
    assert!(
        message.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("they register: send_email"),
        "{}",
        message.body
    );
    let forced = go(
        "POST",
        "/api/jobs".into(),
        Some(json!({"kind": "send_emial", "allow_unknown_kind": true})),
    )
    .await;
    assert_eq!(forced.status, StatusCode::CREATED, "{}", forced.body);
    let forced_id = forced.body["id"].as_i64().unwrap();
    assert_eq!(
        go("DELETE", format!("/api/jobs/{forced_id}"), None)
            .await
            .status,
        StatusCode::OK
    );

    // Enqueue, run now, process now, cancel, delete.
    let enqueued = go("POST", "/api/jobs".into(), Some(json!({"kind": "send_email", "input": "x@example.com", "queue": "mail", "delay": "1h", "unique_key": "x"}))).await;
    assert_eq!(enqueued.status, StatusCode::CREATED, "{}", enqueued.body);
    let id = enqueued.body["id"].as_i64().unwrap();
    let duplicate = go(
        "POST",
        "/api/jobs".into(),
        Some(json!({"kind": "send_email", "input": "y", "unique_key": "x"})),
    )
    .await;
    assert_eq!(duplicate.body, json!({"id": id, "result": "duplicate"}));
    let now = go("POST", format!("/api/jobs/{id}/run_now"), None).await;
    assert_eq!(now.body["result"], "run_now");
    assert_eq!(
        f.client
            .get(errand::JobId(id))
            .await
            .unwrap()
            .unwrap()
            .state,
        JobState::Available
    );
    let woken = go("POST", "/api/process_now".into(), None).await;
    assert_eq!(woken.body, json!({"woken": 1}));
    let cancelled = go("POST", format!("/api/jobs/{}/cancel", f.waiting_job), None).await;
    assert_eq!(cancelled.body["result"], "cancelled");
    let deleted = go("DELETE", format!("/api/jobs/{}", f.waiting_job), None).await;
    assert_eq!(deleted.body["result"], "deleted");
    assert_eq!(
        go("GET", format!("/api/jobs/{}", f.waiting_job), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Queues and pauses.
    let paused = go(
        "POST",
        "/api/queues/mail/pause".into(),
        Some(json!({"note": "provider down", "by": "ann"})),
    )
    .await;
    assert_eq!(paused.body["already_paused"], false, "{}", paused.body);
    let queues = go("GET", "/api/queues".into(), None).await;
    let mail = queues.body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "mail")
        .unwrap()
        .clone();
    assert_eq!(mail["paused"]["note"], "provider down", "{mail}");
    assert_eq!(
        go("POST", "/api/queues/mail/resume".into(), None)
            .await
            .body["resumed"],
        true
    );
    // A caller names itself for the audit; a pause without `by` is its.
    let named = Request::builder()
        .method("POST")
        .uri("/api/pause")
        .header(header::HOST, "localhost:7700")
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(errand_admin::ACTOR_HEADER, "ops-bot")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"tenant": "acme"}).to_string()))
        .unwrap();
    let tenant = call(&router, named).await;
    assert_eq!(
        tenant.body["pause"]["by"], "ops-bot (token)",
        "{}",
        tenant.body
    );
    assert_eq!(
        go("GET", "/api/pauses".into(), None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        go(
            "POST",
            "/api/resume".into(),
            Some(json!({"tenant": "acme"}))
        )
        .await
        .body["resumed"],
        true
    );

    // Batches.
    let batches = go("GET", "/api/batches?tenant=acme".into(), None).await;
    assert_eq!(batches.body["batches"][0]["id"], f.batch);
    let cancel = go("POST", format!("/api/batches/{}/cancel", f.batch), None).await;
    assert_eq!(cancel.body["outcome"]["cancelled"], 1, "{}", cancel.body);
    assert_eq!(
        go("GET", "/api/batches/424242".into(), None).await.status,
        StatusCode::NOT_FOUND
    );

    // Cron.
    let created = go("POST", "/api/cron".into(), Some(json!({"name": "hourly", "kind": "send_email", "schedule": "@hourly", "zone": "Europe/Paris"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let exists = go(
        "POST",
        "/api/cron".into(),
        Some(json!({"name": "hourly", "kind": "send_email", "schedule": "@hourly"})),
    )
    .await;
    assert_eq!(exists.status, StatusCode::CONFLICT, "{}", exists.body);
    let disabled = go(
        "POST",
        "/api/cron/hourly/disable".into(),
        Some(json!({"note": "migration"})),
    )
    .await;
    assert_eq!(
        (
            disabled.body["enabled"].clone(),
            disabled.body["note"].clone()
        ),
        (json!(false), json!("migration"))
    );
    let triggered = go("POST", "/api/cron/hourly/trigger".into(), None).await;
    assert!(
        triggered.body["job"].as_i64().is_some(),
        "{}",
        triggered.body
    );
    let next = go(
        "GET",
        "/api/cron/nightly/next?count=3&from=2026-01-01T00:00:00Z".into(),
        None,
    )
    .await;
    assert_eq!(next.body[0]["utc"], "2026-01-01T03:00:00Z", "{}", next.body);
    assert_eq!(
        go("GET", "/api/cron/hourly/ledger".into(), None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        go("DELETE", "/api/cron/hourly".into(), None).await.body["result"],
        "removed"
    );
    assert_eq!(
        go("GET", "/api/cron/hourly".into(), None).await.status,
        StatusCode::NOT_FOUND
    );

    // Prune, health, metrics.
    // Jobs finished just now are within any retention: nothing would go.
    let dry = go(
        "POST",
        "/api/prune".into(),
        Some(json!({"completed": "1s", "failed": "off", "dry_run": true})),
    )
    .await;
    assert_eq!(dry.body["dry_run"], true, "{}", dry.body);
    let lines: Vec<(Value, Value)> = dry.body["pruned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["what"].clone(), l["count"].clone()))
        .collect();
    assert_eq!(
        lines,
        [
            ("completed", 0),
            ("failed", 0),
            ("cancelled", 0),
            ("batches", 0),
            ("audit", 0)
        ]
        .map(|(w, c)| (json!(w), json!(c)))
    );
    assert!(
        dry.body["pruned"][1]["finished_before"].is_null(),
        "failed: off keeps all"
    );
    // Every change is in the audit, newest first; refused, duplicate and
    // dry-run requests left none.
    let audit = go("GET", "/api/audit?limit=100".into(), None).await;
    assert_eq!(audit.status, StatusCode::OK, "{}", audit.body);
    let records = audit.body["records"].as_array().unwrap();
    let actions: Vec<&str> = records
        .iter()
        .rev()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "jobs.retry",
            "drain",
            "jobs.retry_matching",
            "jobs.enqueue",
            "jobs.delete",
            "jobs.enqueue",
            "jobs.run_now",
            "process_now",
            "jobs.cancel",
            "jobs.delete",
            "queue.pause",
            "queue.resume",
            "tenant.pause",
            "tenant.resume",
            "batches.cancel",
            "cron.create",
            "cron.disable",
            "cron.trigger",
            "cron.remove",
        ]
    );
    let first = &records[records.len() - 1];
    assert_eq!(
        (&first["actor"], &first["target"], &first["count"]),
        (&json!("token"), &json!(f.failed_job.to_string()), &json!(1))
    );
    let bulk = &records[records.len() - 3];
    assert_eq!(bulk["filter"]["kind"], "send_email", "{bulk}");
    assert_eq!(bulk["count"], 1);
    let named = &records[6];
    assert_eq!(
        (&named["action"], &named["actor"], &named["target"]),
        (
            &json!("tenant.pause"),
            &json!("ops-bot (token)"),
            &json!("acme")
        )
    );
    assert_eq!(records[0]["target"], "hourly");
    let page = go("GET", "/api/audit?limit=2".into(), None).await;
    let before = page.body["next_before"].as_i64().unwrap();
    assert_eq!(before, records[1]["id"].as_i64().unwrap());
    let next = go("GET", format!("/api/audit?limit=2&before={before}"), None).await;
    assert_eq!(next.body["records"][0], records[2]);

    let health = go("GET", "/health".into(), None).await;
    assert_eq!(health.body["status"], "ok");
    assert_eq!(health.body["workers_alive"], 1, "{}", health.body);
    assert_eq!(health.body["backend"], f.client.store().backend());
    let metrics = go("GET", "/metrics".into(), None).await;
    assert_eq!(
        metrics.body,
        Value::String("errand_jobs_completed_total 1\n".into())
    );
}

#[tokio::test]
async fn process_now_and_drain_without_a_worker_are_conflicts() {
    let f = fixture().await;
    let router = Api::new(f.client.clone()).router(Access::token(TOKEN).unwrap());
    for uri in ["/api/process_now", "/api/drain"] {
        let answer = call(&router, request("POST", uri, Some(TOKEN), None)).await;
        assert_eq!(answer.status, StatusCode::CONFLICT, "{uri}");
        assert!(
            answer.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("no worker")
        );
    }
    let metrics = call(&router, request("GET", "/metrics", Some(TOKEN), None)).await;
    assert_eq!(metrics.status, StatusCode::NOT_FOUND);
}

#[test]
fn short_or_odd_tokens_are_refused() {
    for bad in ["", "short", "has space in it", "tab\there12"] {
        let error = Access::token(bad).unwrap_err();
        assert!(error.to_string().contains("token"), "{error}");
        assert!(
            !error.to_string().contains(bad) || bad.is_empty(),
            "the token is not echoed"
        );
    }
}

/// Claims one due job of `kind` in `queue` for a worker of another process.
async fn claim_one(client: &Client, kind: &str, queue: &str) {
    use errand::store::{ClaimParams, KindClaim, QueueClaim};
    let claimed = client
        .store()
        .claim(ClaimParams {
            worker: "elsewhere-1".into(),
            queues: vec![QueueClaim {
                name: queue.into(),
                cap: None,
                fair: None,
            }],
            kinds: vec![KindClaim {
                kind: kind.into(),
                cap: None,
                global_limit: None,
            }],
            limit: 1,
            paused_tenants: vec![],
            tenant_limits: Default::default(),
            lease: std::time::Duration::from_secs(60),
            now: chrono::Utc::now(),
        })
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "one {kind} job claimed");
}

#[tokio::test]
async fn a_waiting_jobs_detail_names_what_holds_it_on_every_store() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Redis] {
        holds_through_http(fixture_on(backend).await).await;
    }
}

async fn holds_through_http(f: Fixture) {
    let router = Api::new(f.client.clone()).router(Access::token(TOKEN).unwrap());
    let holds = |id: i64| {
        let router = router.clone();
        async move {
            let answer = call(
                &router,
                request("GET", &format!("/api/jobs/{id}"), Some(TOKEN), None),
            )
            .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            answer.body["waiting_on"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| {
                    (
                        h["reason"].as_str().unwrap().to_owned(),
                        h["message"].as_str().unwrap().to_owned(),
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    // Jobs no live worker runs are the point here: taken on purpose.
    let enqueue = |mut body: Value| {
        let router = router.clone();
        body["allow_unknown_kind"] = json!(true);
        async move {
            let answer = call(
                &router,
                request("POST", "/api/jobs", Some(TOKEN), Some(body)),
            )
            .await;
            assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
            answer.body["id"].as_i64().unwrap()
        }
    };
    // The fixture's drain left the worker's heartbeat: send_email in mail and default.
    let later = holds(f.waiting_job).await;
    assert_eq!(later.len(), 1, "{later:?}");
    assert_eq!(later[0].0, "run_at");
    let unknown = enqueue(json!({"kind": "resize", "queue": "mail"})).await;
    assert_eq!(
        holds(unknown).await,
        [(
            "no_worker".to_owned(),
            "no live worker registers kind resize".to_owned()
        )]
    );
    let elsewhere = enqueue(json!({"kind": "send_email", "queue": "bulk"})).await;
    assert_eq!(
        holds(elsewhere).await,
        [(
            "no_worker".to_owned(),
            "no live worker that registers kind send_email serves queue bulk".to_owned()
        )]
    );
    let due = enqueue(
        json!({"kind": "send_email", "queue": "mail", "tenant": "acme", "input": "a@example.com"}),
    )
    .await;
    assert_eq!(
        holds(due).await,
        [],
        "nothing holds a due job a live worker serves"
    );
    // Pauses: the queue's and the tenant's, each named with who and why.
    f.client
        .pause(
            errand::PauseScope::queue("mail"),
            "ann",
            Some("provider down"),
        )
        .await
        .unwrap();
    f.client
        .pause(errand::PauseScope::tenant("acme"), "bob", None)
        .await
        .unwrap();
    let paused = holds(due).await;
    assert_eq!(paused.len(), 2, "{paused:?}");
    assert!(paused.iter().all(|(r, _)| r == "paused"));
    assert!(
        paused[0].1.contains("ann") && paused[0].1.contains("provider down"),
        "{paused:?}"
    );
    assert!(
        paused[1].1.contains("acme") && paused[1].1.contains("bob"),
        "{paused:?}"
    );
    f.client
        .resume(errand::PauseScope::queue("mail"))
        .await
        .unwrap();
    f.client
        .resume(errand::PauseScope::tenant("acme"))
        .await
        .unwrap();
    // A limit across the cluster, declared by a live worker, full.
    let now = chrono::Utc::now();
    f.client
        .store()
        .beat(errand::store::WorkerBeat {
            name: "limited-1".into(),
            host: "web-2".into(),
            pid: 7,
            queues: vec!["mail".into()],
            kinds: vec!["send_email".into()],
            concurrency: 4,
            running: 1,
            started_at: now,
            beat_at: now,
            loops: vec![],
            global_limits: [("send_email".to_owned(), 1)].into(),
            tenant_limit: Some(5),
            tenant_limits: [("acme".to_owned(), 1)].into(),
        })
        .await
        .unwrap();
    assert_eq!(holds(due).await, [], "nothing runs yet: no limit is full");
    // Another acme job, claimed first (a better priority), fills both limits.
    enqueue(json!({"kind": "send_email", "queue": "mail", "tenant": "acme", "priority": -5})).await;
    claim_one(&f.client, "send_email", "mail").await;
    let limited = holds(due).await;
    assert_eq!(
        limited,
        [
            (
                "limit".to_owned(),
                "kind send_email is at its global limit: 1 of 1 running".to_owned()
            ),
            (
                "limit".to_owned(),
                "tenant acme is at its limit: 1 of 1 running".to_owned()
            ),
        ]
    );
    // Not waiting: nothing to say.
    assert_eq!(holds(f.failed_job).await, []);
}

#[tokio::test]
async fn the_dashboard_is_served_without_a_token_under_the_security_headers() {
    let f = fixture().await;
    let router = Api::new(f.client.clone()).router(Access::token(TOKEN).unwrap());
    let nested = Router::new().nest("/errand", router.clone());
    for (router, prefix, page_path, assets) in [
        (&router, "", "/", "assets/"),
        (&nested, "/errand", "", "errand/assets/"),
    ] {
        for page in errand_admin::PAGES {
            let uri = if *page == "/" {
                format!("{prefix}{page_path}")
            } else {
                format!("{prefix}{page}")
            };
            let answer = call(router, request("GET", &uri, None, None)).await;
            assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
            let csp = answer.headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
            assert_eq!(answer.headers["x-frame-options"], "DENY");
            let kind = answer.headers[header::CONTENT_TYPE].to_str().unwrap();
            let expected = match page.rsplit('.').next() {
                Some("js") => "text/javascript",
                Some("css") => "text/css",
                _ => "text/html",
            };
            assert!(kind.starts_with(expected), "{uri}: {kind}");
        }
        // The page holds no data and no inline script, and its links
        // resolve under the prefix; the API still needs the token.
        let uri = format!("{prefix}{page_path}");
        let page = call(router, request("GET", &uri, None, None)).await;
        let html = page.body.as_str().unwrap();
        assert!(
            html.contains(&format!("src=\"{assets}app.js\"")) && !html.contains("<script>"),
            "{uri}: {html}"
        );
        let api = call(
            router,
            request("GET", &format!("{prefix}/api/overview"), None, None),
        )
        .await;
        assert_eq!(api.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn the_overview_is_read_once_per_interval_whoever_asks() {
    let f = fixture().await;
    let api = Api::new(f.client.clone());
    let first = api.overview().await.unwrap();
    // A clone acting as someone else shares the same snapshot.
    let again = api.acting_as("other").overview().await.unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &again));
    assert_eq!(first.counts[&JobState::Failed], 1);
    assert_eq!(first.counts[&JobState::Completed], 1);
    assert_eq!(first.workers.alive, 1, "the fixture's worker drained");
    assert!(first.samples.is_empty(), "one read has no interval yet");
    assert!(first.queues.queues.iter().any(|q| q.queue == "mail"));
}
