struct Handler;

impl Handler {
    #[errand::job]
    async fn run(&self) -> Result<(), errand::JobError> {
        Ok(())
    }
}

fn main() {}
