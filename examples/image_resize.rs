//! Image resizing with a typed output: jobs return the new dimensions, which
//! the caller reads through its `Deferred` handle; a job not yet started is
//! cancelled; `drain()` processes what is due and returns (for a serverless
//! function or a cron script instead of a long-running worker).

use std::time::Duration;

use errand::{Cancellation, CancellationToken, Client, JobError, JobState, Worker};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Resize {
    path: String,
    width: u32,
    height: u32,
    max_side: u32,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Dimensions {
    width: u32,
    height: u32,
}

// Two at once per process, each at most 10 s; a long resize checks its
// CancellationToken so that shutdown and `cancel()` can stop it.
#[errand::job(queue = "media", max_attempts = 3, timeout = "10s", concurrency = 2)]
async fn resize_image(input: Resize, cancel: CancellationToken) -> Result<Dimensions, JobError> {
    if cancel.is_cancelled() {
        return Err(JobError::cancel("stopped before resizing"));
    }
    let scale = f64::from(input.max_side) / f64::from(input.width.max(input.height));
    let scale = scale.min(1.0);
    println!("resizing {} by {scale:.2}", input.path);
    Ok(Dimensions {
        width: (f64::from(input.width) * scale).round() as u32,
        height: (f64::from(input.height) * scale).round() as u32,
    })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The embedded SQLite file; any store through ERRAND_DATABASE_URL and ERRAND_SCHEMA.
    let store = errand::connect_from_env("sqlite://image_resize.db").await?;
    let client = Client::new(store.clone());
    let photo = |path: &str, width, height| {
        resize_image::enqueue(Resize {
            path: path.into(),
            width,
            height,
            max_side: 1024,
        })
    };
    let beach = client.enqueue(photo("beach.jpg", 4096, 3072)).await?;
    let icon = client.enqueue(photo("icon.png", 512, 512)).await?;
    // Scheduled for later, then cancelled before it ever runs.
    let later = client
        .enqueue(photo("later.jpg", 2048, 2048).delay(Duration::from_secs(3600)))
        .await?;
    assert_eq!(later.cancel().await?, Cancellation::Cancelled);

    let worker = Worker::builder(store)
        .register(resize_image::job())
        .build()?;
    let summary = worker.drain().await?;
    println!("drained: {summary:?}");

    let beach = beach.output().await?;
    let icon = icon.output().await?;
    println!("beach.jpg -> {beach:?}, icon.png -> {icon:?}");
    if beach
        != Some(Dimensions {
            width: 1024,
            height: 768,
        })
        || icon
            != Some(Dimensions {
                width: 512,
                height: 512,
            })
        || later.state().await? != JobState::Cancelled
        || summary.completed != 2
    {
        return Err("unexpected results".into());
    }
    Ok(())
}
