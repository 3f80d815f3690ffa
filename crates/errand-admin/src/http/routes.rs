//! Every endpoint: the table [`ROUTES`] (what the OpenAPI document and the
//! route tests walk) and the router that serves it.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use chrono::{DateTime, Utc};
use errand::cron::Key;
use errand::{BatchId, JobId, PauseScope, RetryFilter};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::extract::{Acting, Body, Query, id};
use super::{App, access, dashboard};
use crate::api::{
    AuditQuery, BatchQuery, CronEntryRequest, CronQuery, EnqueueRequest, JobQuery, PauseRequest,
    PruneRequest,
};

/// One endpoint: its method and path (`{name}` for a path parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST` or `DELETE`.
    pub method: &'static str,
    /// The path under the router's root.
    pub path: &'static str,
}

const fn route(method: &'static str, path: &'static str) -> Route {
    Route { method, path }
}

/// Every endpoint the router serves.
pub const ROUTES: &[Route] = &[
    route("GET", "/health"),
    route("GET", "/metrics"),
    route("GET", "/api/openapi.json"),
    route("GET", "/api/session"),
    route("GET", "/api/overview"),
    route("GET", "/api/stats"),
    route("GET", "/api/queues"),
    route("POST", "/api/queues/{queue}/pause"),
    route("POST", "/api/queues/{queue}/resume"),
    route("GET", "/api/tenants"),
    route("GET", "/api/pauses"),
    route("POST", "/api/pause"),
    route("POST", "/api/resume"),
    route("GET", "/api/jobs"),
    route("POST", "/api/jobs"),
    route("POST", "/api/jobs/retry"),
    route("GET", "/api/jobs/{id}"),
    route("DELETE", "/api/jobs/{id}"),
    route("POST", "/api/jobs/{id}/retry"),
    route("POST", "/api/jobs/{id}/cancel"),
    route("POST", "/api/jobs/{id}/run_now"),
    route("GET", "/api/batches"),
    route("GET", "/api/batches/totals"),
    route("GET", "/api/batches/{id}"),
    route("POST", "/api/batches/{id}/cancel"),
    route("GET", "/api/cron"),
    route("POST", "/api/cron"),
    route("GET", "/api/cron/{name}"),
    route("DELETE", "/api/cron/{name}"),
    route("POST", "/api/cron/{name}/enable"),
    route("POST", "/api/cron/{name}/disable"),
    route("POST", "/api/cron/{name}/trigger"),
    route("GET", "/api/cron/{name}/next"),
    route("GET", "/api/cron/{name}/ledger"),
    route("GET", "/api/workers"),
    route("GET", "/api/audit"),
    route("POST", "/api/prune"),
    route("POST", "/api/process_now"),
    route("POST", "/api/drain"),
];

type Shared = State<Arc<App>>;
type Answer<T> = Result<Json<T>, ApiError>;

pub(super) fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .route("/api/openapi.json", get(openapi))
        .route("/api/session", get(session))
        .route("/api/overview", get(overview))
        .route("/api/stats", get(stats))
        .route("/api/queues", get(queues))
        .route("/api/queues/{queue}/pause", post(pause_queue))
        .route("/api/queues/{queue}/resume", post(resume_queue))
        .route("/api/tenants", get(tenants))
        .route("/api/pauses", get(pauses))
        .route("/api/pause", post(pause))
        .route("/api/resume", post(resume))
        .route("/api/jobs", get(jobs).post(enqueue))
        .route("/api/jobs/retry", post(retry_matching))
        .route("/api/jobs/{id}", get(job).delete(delete_job))
        .route("/api/jobs/{id}/retry", post(retry_job))
        .route("/api/jobs/{id}/cancel", post(cancel_job))
        .route("/api/jobs/{id}/run_now", post(run_now))
        .route("/api/batches", get(batches))
        .route("/api/batches/totals", get(batch_totals))
        .route("/api/batches/{id}", get(batch))
        .route("/api/batches/{id}/cancel", post(cancel_batch))
        .route("/api/cron", get(cron_entries).post(cron_create))
        .route("/api/cron/{name}", get(cron_entry).delete(cron_remove))
        .route("/api/cron/{name}/enable", post(cron_enable))
        .route("/api/cron/{name}/disable", post(cron_disable))
        .route("/api/cron/{name}/trigger", post(cron_trigger))
        .route("/api/cron/{name}/next", get(cron_next))
        .route("/api/cron/{name}/ledger", get(cron_ledger))
        .route("/api/workers", get(workers))
        .route("/api/audit", get(audit))
        .route("/api/prune", post(prune))
        .route("/api/process_now", post(process_now))
        .route("/api/drain", post(drain))
        .fallback(no_route)
        .method_not_allowed_fallback(no_method);
    let api = api.layer(middleware::from_fn_with_state(
        Arc::clone(&app),
        access::guard,
    ));
    Router::new()
        .route("/", get(dashboard::index))
        .route("/assets/app.js", get(dashboard::script))
        .route("/assets/app.css", get(dashboard::style))
        .merge(api)
        .layer(middleware::from_fn(access::secure_headers))
        .with_state(app)
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no endpoint {method} {}", uri.path()),
    )
}

async fn no_method(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} does not take {method}", uri.path()),
    )
}

/// What `/health` answers.
#[derive(Debug, Serialize)]
struct Health {
    /// `ok`, or `unavailable` when the store cannot be read.
    status: &'static str,
    /// `sqlite`, `postgres` or `redis`.
    backend: &'static str,
    /// The store answered a read.
    store_reachable: bool,
    /// Worker processes that beat within the last 30 seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    workers_alive: Option<usize>,
    /// The store's error, when it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

async fn health(State(app): Shared) -> Response {
    let client = app.api.client();
    let backend = client.store().backend();
    match app.api.workers().await {
        Ok(workers) => Json(Health {
            status: "ok",
            backend,
            store_reachable: true,
            workers_alive: Some(workers.alive),
            error: None,
        })
        .into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "unavailable",
                backend,
                store_reachable: false,
                workers_alive: None,
                error: Some(e.to_string()),
            }),
        )
            .into_response(),
    }
}

async fn metrics(State(app): Shared) -> Response {
    match app.api.scrape_metrics().await {
        Some(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no metrics recorder: give the admin API one with Api::metrics",
        )
        .into_response(),
    }
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], super::OPENAPI).into_response()
}

/// What a page needs to talk to the API.
#[derive(Debug, Serialize)]
struct Session {
    /// Send as the `x-csrf-token` header with every mutation.
    csrf_token: String,
    /// Mutations are refused.
    read_only: bool,
    /// Requests need a bearer token.
    token_required: bool,
}

async fn session(State(app): Shared) -> Json<Session> {
    Json(Session {
        csrf_token: app.csrf.clone(),
        read_only: app.access.is_read_only(),
        token_required: !app.access.is_open(),
    })
}

/// A tenant filter alone.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantQuery {
    tenant: Option<String>,
}

async fn overview(State(app): Shared) -> Answer<crate::Overview> {
    Ok(Json(app.api.overview().await?.as_ref().clone()))
}

async fn stats(State(app): Shared, Query(q): Query<TenantQuery>) -> Answer<errand::Stats> {
    Ok(Json(app.api.stats(q.tenant.as_deref()).await?))
}

async fn queues(State(app): Shared) -> Answer<crate::QueuesBody> {
    Ok(Json(app.api.queues().await?))
}

async fn tenants(
    State(app): Shared,
    Query(q): Query<crate::TenantQuery>,
) -> Answer<crate::TenantsPage> {
    Ok(Json(app.api.tenants(q).await?))
}

/// Who pauses a queue and why (a queue's pause has no tenant).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct QueuePauseBody {
    note: Option<String>,
    by: Option<String>,
}

async fn pause_queue(
    Acting(api): Acting,
    Path(queue): Path<String>,
    Body(body): Body<QueuePauseBody>,
) -> Answer<crate::Paused> {
    let request = PauseRequest {
        tenant: None,
        note: body.note,
        by: body.by,
    };
    Ok(Json(api.pause(PauseScope::queue(queue), request).await?))
}

async fn resume_queue(Acting(api): Acting, Path(queue): Path<String>) -> Answer<crate::Resumed> {
    Ok(Json(api.resume(PauseScope::queue(queue)).await?))
}

async fn pauses(State(app): Shared) -> Answer<Vec<errand::Pause>> {
    Ok(Json(app.api.pauses().await?))
}

fn scope(tenant: Option<&str>) -> PauseScope {
    tenant.map_or(PauseScope::All, PauseScope::tenant)
}

async fn pause(Acting(api): Acting, Body(request): Body<PauseRequest>) -> Answer<crate::Paused> {
    let scope = scope(request.tenant.as_deref());
    Ok(Json(api.pause(scope, request).await?))
}

async fn resume(Acting(api): Acting, Body(q): Body<TenantQuery>) -> Answer<crate::Resumed> {
    Ok(Json(api.resume(scope(q.tenant.as_deref())).await?))
}

async fn jobs(State(app): Shared, Query(q): Query<JobQuery>) -> Answer<crate::JobsPage> {
    Ok(Json(app.api.jobs(q).await?))
}

async fn enqueue(
    Acting(api): Acting,
    Body(request): Body<EnqueueRequest>,
) -> Result<(StatusCode, Json<crate::JobAction>), ApiError> {
    let action = api.enqueue(request).await?;
    let status = if action.result == "duplicate" {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(action)))
}

async fn retry_matching(
    Acting(api): Acting,
    Body(filter): Body<RetryFilter>,
) -> Answer<errand::RetryMatching> {
    Ok(Json(api.retry_matching(filter).await?))
}

async fn job(State(app): Shared, Path(raw): Path<String>) -> Answer<crate::JobDetail> {
    Ok(Json(app.api.job(JobId(id("id", &raw)?)).await?))
}

async fn delete_job(Acting(api): Acting, Path(raw): Path<String>) -> Answer<crate::JobAction> {
    Ok(Json(api.delete(JobId(id("id", &raw)?)).await?))
}

async fn retry_job(Acting(api): Acting, Path(raw): Path<String>) -> Answer<crate::JobAction> {
    Ok(Json(api.retry(JobId(id("id", &raw)?)).await?))
}

async fn cancel_job(Acting(api): Acting, Path(raw): Path<String>) -> Answer<crate::JobAction> {
    Ok(Json(api.cancel(JobId(id("id", &raw)?)).await?))
}

async fn run_now(Acting(api): Acting, Path(raw): Path<String>) -> Answer<crate::JobAction> {
    Ok(Json(api.run_now(JobId(id("id", &raw)?)).await?))
}

async fn batches(State(app): Shared, Query(q): Query<BatchQuery>) -> Answer<crate::BatchesPage> {
    Ok(Json(app.api.batches(q).await?))
}

async fn batch_totals(
    State(app): Shared,
    Query(q): Query<TenantQuery>,
) -> Answer<errand::BatchTotals> {
    Ok(Json(app.api.batch_totals(q.tenant.as_deref()).await?))
}

async fn batch(State(app): Shared, Path(raw): Path<String>) -> Answer<errand::Batch> {
    Ok(Json(app.api.batch(BatchId(id("id", &raw)?)).await?))
}

async fn cancel_batch(
    Acting(api): Acting,
    Path(raw): Path<String>,
) -> Answer<crate::BatchCancelled> {
    Ok(Json(api.batch_cancel(BatchId(id("id", &raw)?)).await?))
}

async fn cron_entries(
    State(app): Shared,
    Query(q): Query<CronQuery>,
) -> Answer<Vec<errand::cron::EntryRow>> {
    Ok(Json(app.api.cron_entries(q).await?))
}

async fn cron_create(
    Acting(api): Acting,
    Body(request): Body<CronEntryRequest>,
) -> Result<(StatusCode, Json<errand::cron::EntryRow>), ApiError> {
    Ok((StatusCode::CREATED, Json(api.cron_create(request).await?)))
}

fn key(name: &str, q: &TenantQuery) -> Key {
    Key::new(q.tenant.as_deref(), name)
}

async fn cron_entry(
    State(app): Shared,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Answer<errand::cron::EntryRow> {
    Ok(Json(app.api.cron_entry(&key(&name, &q)).await?))
}

async fn cron_remove(
    Acting(api): Acting,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Answer<crate::CronRemoved> {
    Ok(Json(api.cron_remove(&key(&name, &q)).await?))
}

async fn cron_enable(
    Acting(api): Acting,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Answer<errand::cron::EntryRow> {
    Ok(Json(api.cron_enable(&key(&name, &q)).await?))
}

/// Why an entry is disabled.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct DisableBody {
    note: Option<String>,
}

async fn cron_disable(
    Acting(api): Acting,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
    Body(body): Body<DisableBody>,
) -> Answer<errand::cron::EntryRow> {
    Ok(Json(
        api.cron_disable(&key(&name, &q), body.note.as_deref())
            .await?,
    ))
}

async fn cron_trigger(
    Acting(api): Acting,
    Path(name): Path<String>,
    Query(q): Query<TenantQuery>,
) -> Answer<crate::CronTriggered> {
    Ok(Json(api.cron_trigger(&key(&name, &q)).await?))
}

/// How many fire times, after when.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NextQuery {
    tenant: Option<String>,
    count: Option<u32>,
    from: Option<DateTime<Utc>>,
}

async fn cron_next(
    State(app): Shared,
    Path(name): Path<String>,
    Query(q): Query<NextQuery>,
) -> Answer<Vec<crate::FireTime>> {
    let key = Key::new(q.tenant.as_deref(), &name);
    let fires = app
        .api
        .cron_next(&key, q.count.unwrap_or(5), q.from.unwrap_or_else(Utc::now))
        .await?;
    Ok(Json(fires))
}

/// How many ledger records.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LedgerQuery {
    tenant: Option<String>,
    limit: Option<u32>,
}

async fn cron_ledger(
    State(app): Shared,
    Path(name): Path<String>,
    Query(q): Query<LedgerQuery>,
) -> Answer<Vec<errand::cron::LedgerRecord>> {
    let key = Key::new(q.tenant.as_deref(), &name);
    Ok(Json(
        app.api.cron_ledger(&key, q.limit.unwrap_or(100)).await?,
    ))
}

async fn prune(
    Acting(api): Acting,
    Body(request): Body<PruneRequest>,
) -> Answer<crate::PruneReport> {
    Ok(Json(api.prune(request).await?))
}

async fn workers(State(app): Shared) -> Answer<crate::WorkersBody> {
    Ok(Json(app.api.workers().await?))
}

async fn process_now(Acting(api): Acting) -> Answer<crate::ProcessNow> {
    Ok(Json(api.process_now().await?))
}

async fn audit(State(app): Shared, Query(q): Query<AuditQuery>) -> Answer<crate::AuditPage> {
    Ok(Json(app.api.audit_records(q).await?))
}

async fn drain(Acting(api): Acting) -> Answer<errand::DrainSummary> {
    Ok(Json(api.drain().await?))
}
