//! The admin API mounted in an application's own axum router: an operator
//! finds a failed payment, fixes its cause, retries it through the API,
//! has it processed in the same HTTP call (`drain`), and reads the audit
//! of what was done. `errand serve` serves the same router on its own.

use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::routing::get;
use errand::{Client, JobError, State, Worker};
use errand_admin::{ACTOR_HEADER, Access, Api};
use serde_json::{Value, json};
use tower::ServiceExt;

const TOKEN: &str = "example-admin-token";

/// Whether the card on file works yet (an operator fixes it below).
#[derive(Default)]
struct Card {
    fixed: AtomicBool,
}

#[errand::job(queue = "billing")]
async fn charge_card(input: u32, card: State<Card>) -> Result<(), JobError> {
    if !card.fixed.load(Ordering::SeqCst) {
        return Err(JobError::fatal(format!("card of order {input} declined")));
    }
    println!("charged order {input}");
    Ok(())
}

/// One request through the application's router, as an HTTP client sends it.
async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> Result<(StatusCode, Value), Box<dyn std::error::Error>> {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {TOKEN}"))
        .header(ACTOR_HEADER, "ann")
        .header(header::CONTENT_TYPE, "application/json");
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let response = app.clone().oneshot(request.body(body)?).await?;
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

fn expect(what: &str, ok: bool, seen: &Value) -> Result<(), Box<dyn std::error::Error>> {
    if ok {
        Ok(())
    } else {
        Err(format!("{what}: got {seen}").into())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    for file in [
        "admin.db",
        "admin.db-wal",
        "admin.db-shm",
        "admin.db-errand-wake",
    ] {
        let _ = std::fs::remove_file(file);
    }
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://admin.db").await?;
    let card = std::sync::Arc::new(Card::default());
    let worker = Worker::builder(store.clone())
        .register(charge_card::job())
        .state_arc(card.clone())
        .queues(["billing"])
        .build()?;
    // The application's routes, and the admin API under /errand.
    let admin = Api::new(Client::new(store))
        .worker(worker)
        .router(Access::token(TOKEN)?);
    let app = Router::new()
        .route("/", get(|| async { "the shop" }))
        .nest("/errand", admin);

    let (status, enqueued) = call(
        &app,
        "POST",
        "/errand/api/jobs",
        Some(json!({"kind": "charge_card", "input": 1042, "queue": "billing", "tenant": "acme"})),
    )
    .await?;
    expect("enqueue", status == StatusCode::CREATED, &enqueued)?;
    let id = enqueued["id"].as_i64().ok_or("no id")?;
    let (_, drained) = call(&app, "POST", "/errand/api/drain", None).await?;
    println!("first run: {drained}");
    expect("the first run fails", drained["failed"] == 1, &drained)?;

    // The dead letters, searched by the text of their errors.
    let (_, failed) = call(
        &app,
        "GET",
        "/errand/api/jobs?state=failed&error=declined",
        None,
    )
    .await?;
    let found = &failed["jobs"][0];
    println!(
        "failed job {}: {}",
        found["id"], found["errors"][0]["message"]
    );
    expect("the failed job is found", found["id"] == id, &failed)?;

    // Each customer (tenant) with its jobs by state, from the store's counts.
    let (_, tenants) = call(&app, "GET", "/errand/api/tenants", None).await?;
    let acme = &tenants["tenants"][0];
    println!("tenant {}: {}", acme["tenant"], acme["counts"]);
    expect(
        "acme has a failed job",
        acme["tenant"] == "acme" && acme["counts"]["failed"] == 1,
        &tenants,
    )?;

    card.fixed.store(true, Ordering::SeqCst);
    let (_, retried) = call(&app, "POST", &format!("/errand/api/jobs/{id}/retry"), None).await?;
    expect("retry", retried["result"] == "retried", &retried)?;
    let (_, drained) = call(&app, "POST", "/errand/api/drain", None).await?;
    println!("after the retry: {drained}");
    expect("the retry completes", drained["completed"] == 1, &drained)?;

    let (_, audit) = call(&app, "GET", "/errand/api/audit", None).await?;
    let records = audit["records"].as_array().ok_or("no audit records")?;
    for record in records.iter().rev() {
        println!(
            "audit: {} {} {} by {}",
            record["at"], record["action"], record["target"], record["actor"]
        );
    }
    let actions: Vec<&str> = records
        .iter()
        .rev()
        .filter_map(|r| r["action"].as_str())
        .collect();
    expect(
        "the audit has every change",
        actions == ["jobs.enqueue", "drain", "jobs.retry", "drain"],
        &audit,
    )?;

    // Without the token the API answers 401; the application's own routes stay open.
    let anonymous = Request::get("/errand/api/jobs").body(Body::empty())?;
    let status = app.clone().oneshot(anonymous).await?.status();
    expect(
        "no token, no entry",
        status == StatusCode::UNAUTHORIZED,
        &json!(status.as_u16()),
    )?;
    println!("without the token: {status}");
    Ok(())
}
