use errand::{Attempt, CancellationToken, EnqueueBuilder, Job, JobError, JobId, Meta, State};
use serde::{Deserialize, Serialize};

// A private input type in a private function.
#[derive(Serialize, Deserialize)]
struct Email {
    to: String,
}

struct Mailer;

#[errand::job(kind = "send_email", queue = "mail", priority = -1, max_attempts = 5, timeout = "30s",
              concurrency = 4, global_concurrency = 2)]
async fn send_email(input: Email, mailer: State<Mailer>, id: JobId, attempt: Attempt, meta: Meta,
                    cancel: CancellationToken) -> Result<String, JobError> {
    let _ = (&mailer, id, attempt, meta, cancel);
    Ok(input.to)
}

// No input, unit output.
#[errand::job]
pub async fn cleanup() {}

// A std error converts with `?`.
#[errand::job]
pub(crate) async fn read_file(input: String) -> Result<usize, std::io::Error> {
    Ok(input.len())
}

fn main() {
    // A job declared inside a function body.
    #[errand::job]
    async fn local(input: u32) -> Result<u32, JobError> {
        Ok(input + 1)
    }

    let _: EnqueueBuilder<send_email> = send_email::enqueue(Email { to: "a@b.c".into() }).priority(3);
    let _: EnqueueBuilder<cleanup> = cleanup::enqueue();
    let _ = read_file::enqueue("x".into());
    let _ = local::enqueue(1);
    assert_eq!(send_email::KIND, "send_email");
    assert_eq!(<cleanup as Job>::KIND, "cleanup");
    let options = <send_email as Job>::options();
    assert_eq!(options.queue.as_deref(), Some("mail"));
    assert_eq!(options.max_attempts, Some(5));
    assert_eq!(options.timeout, Some(std::time::Duration::from_secs(30)));
    assert_eq!(options.global_concurrency, Some(2));
    let _ = (send_email::job(), cleanup::job(), local::job());
}
