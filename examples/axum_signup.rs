//! An axum service that signs users up and sends a welcome email: the user
//! row and the email job are written in one SQLite transaction, so the job
//! exists if and only if the signup committed. A second signup with the
//! same address fails, and leaves no job behind. A bulk import writes its
//! users and a batch of their welcome emails in one transaction too: rolled
//! back, neither exists.

use axum::extract::State;
use axum::http::{Request, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use errand::{Client, Finished, JobError, SqliteEnqueueExt, SqliteStore, Worker};
use serde::{Deserialize, Serialize};
use sqlx::SqlitePool;
use tower::ServiceExt;

#[derive(Serialize, Deserialize)]
struct Welcome {
    email: String,
}

#[errand::job(queue = "mail")]
async fn send_welcome(input: Welcome) -> Result<(), JobError> {
    println!("welcome, {}", input.email);
    Ok(())
}

#[derive(Clone)]
struct App {
    db: SqlitePool,
    jobs: SqliteStore,
}

#[derive(Deserialize)]
struct Signup {
    email: String,
}

async fn signup(State(app): State<App>, Json(form): Json<Signup>) -> Result<Json<i64>, StatusCode> {
    let failed = |_| StatusCode::INTERNAL_SERVER_ERROR;
    let mut tx = app.db.begin().await.map_err(failed)?;
    let inserted = sqlx::query("INSERT INTO users (email) VALUES (?)")
        .bind(&form.email)
        .execute(&mut *tx)
        .await;
    if let Err(sqlx::Error::Database(e)) = &inserted
        && e.is_unique_violation()
    {
        return Err(StatusCode::CONFLICT); // the transaction rolls back when dropped
    }
    inserted.map_err(failed)?;
    let job = send_welcome::enqueue(Welcome { email: form.email })
        .enqueue_in_sqlite(&app.jobs, &mut tx)
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    tx.commit().await.map_err(failed)?;
    app.jobs.notify_committed(); // wake this process's workers now
    Ok(Json(job.id.0))
}

async fn sign_up_as(
    router: &Router,
    email: &str,
) -> Result<(StatusCode, Vec<u8>), Box<dyn std::error::Error>> {
    let request = Request::post("/signup")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(
            serde_json::json!({ "email": email }).to_string(),
        ))?;
    let response = router.clone().oneshot(request).await?;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20).await?;
    Ok((status, body.to_vec()))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A fresh database on every run, so that the run shows the whole story.
    for file in ["axum_signup.db", "axum_signup.db-wal", "axum_signup.db-shm"] {
        let _ = std::fs::remove_file(file);
    }
    // The application's tables and errand's jobs live in one database file,
    // so that one transaction covers both.
    let jobs = SqliteStore::connect("sqlite://axum_signup.db").await?;
    let db = SqlitePool::connect("sqlite://axum_signup.db").await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS users (email TEXT PRIMARY KEY)")
        .execute(&db)
        .await?;
    let router = Router::new()
        .route("/signup", post(signup))
        .with_state(App {
            db: db.clone(),
            jobs: jobs.clone(),
        });
    let worker = Worker::builder(jobs.clone())
        .register(send_welcome::job())
        .build()?;
    let running = worker.start();

    let (status, body) = sign_up_as(&router, "ada@example.com").await?;
    let id: i64 = serde_json::from_slice(&body)?;
    let (again, _) = sign_up_as(&router, "ada@example.com").await?;
    println!("first signup: {status}, job {id}; second: {again}");

    let client = Client::new(jobs.clone());
    let sent = client.deferred::<()>(errand::JobId(id)).wait().await?;
    let all = client
        .list(errand::ListParams {
            limit: 100,
            ..Default::default()
        })
        .await?;

    // A bulk import: the users and a batch of their welcome emails in one
    // transaction. The first attempt rolls back: neither exists.
    let emails = ["bob@example.com", "cy@example.com"];
    let mut gone = false;
    let mut imported = None;
    for commit in [false, true] {
        let mut tx = db.begin().await?;
        for email in emails {
            sqlx::query("INSERT INTO users (email) VALUES (?)")
                .bind(email)
                .execute(&mut *tx)
                .await?;
        }
        let welcomes = emails.map(|email| {
            send_welcome::enqueue(Welcome {
                email: email.into(),
            })
        });
        let batch = client
            .batch()
            .jobs(welcomes)
            .enqueue_in_sqlite(&jobs, &mut tx)
            .await?;
        if commit {
            tx.commit().await?;
            jobs.notify_committed();
            imported = Some(batch);
        } else {
            tx.rollback().await?;
            // Read before the next import, which may reuse the id.
            gone = batch.status().await.is_err();
        }
    }
    let mut import_done = false;
    if let Some(batch) = &imported {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !import_done && std::time::Instant::now() < deadline {
            import_done = batch.status().await?.finished_at.is_some();
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    println!("import rolled back, its batch gone: {gone}; committed import sent: {import_done}");
    running.shutdown().await;
    if status != StatusCode::OK
        || again != StatusCode::CONFLICT
        || sent != Finished::Completed(())
        || all.len() != 1
        || !gone
        || !import_done
    {
        return Err("one signup, one email: that did not hold".into());
    }
    Ok(())
}
