//! The conformance suite against every backend of this workspace.

#[cfg(feature = "sqlite")]
mod sqlite {
    errand_store_tests::conformance_suite!(errand_store_tests::backends::sqlite::harness);
}

#[cfg(feature = "postgres")]
mod postgres {
    errand_store_tests::conformance_suite!(errand_store_tests::backends::postgres::harness);
}
