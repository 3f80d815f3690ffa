#[errand::job]
async fn generic<T: serde::Serialize>(input: T) -> Result<(), errand::JobError> {
    let _ = input;
    Ok(())
}

fn main() {}
