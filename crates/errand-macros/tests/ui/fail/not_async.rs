#[errand::job]
fn not_async() -> Result<(), errand::JobError> {
    Ok(())
}

fn main() {}
