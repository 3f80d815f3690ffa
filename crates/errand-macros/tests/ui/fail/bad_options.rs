#[errand::job(retries = 3)]
async fn unknown_option() {}

#[errand::job(timeout = "soon")]
async fn bad_timeout() {}

#[errand::job(max_attempts = 0)]
async fn zero_attempts() {}

#[errand::job(queue = "bad queue")]
async fn bad_queue() {}

fn main() {}
