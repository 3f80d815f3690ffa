//! Compile tests of `#[errand::job]`: what must compile, and what must fail
//! with an error pointing at the offending code.

#[test]
fn job_attribute() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
