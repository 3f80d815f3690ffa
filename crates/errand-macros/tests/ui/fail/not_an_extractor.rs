#[errand::job]
async fn wrong(input: u32, name: String) -> Result<(), errand::JobError> {
    let _ = (input, name);
    Ok(())
}

fn main() {}
