#[errand::job]
async fn wrong() -> u32 {
    1
}

fn main() {}
