#[errand::job]
async fn borrowed(input: &str) -> Result<(), errand::JobError> {
    let _ = input;
    Ok(())
}

fn main() {}
