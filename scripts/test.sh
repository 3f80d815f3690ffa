#!/usr/bin/env bash
# The whole check, from a clean clone: format, lints, every test.
# PostgreSQL and Redis (for the backends that need them) come from
# ERRAND_TEST_POSTGRES_URL / ERRAND_TEST_REDIS_URL, else the local defaults;
# scripts/services.sh starts or installs them when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

export ERRAND_TEST_POSTGRES_URL="${ERRAND_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export ERRAND_TEST_REDIS_URL="${ERRAND_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export ERRAND_TEST_REDIS_CLUSTER_URL="${ERRAND_TEST_REDIS_CLUSTER_URL:-redis://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n==> %s\n' "$*"; }

# shellcheck source=services.sh
. "$(dirname "$0")/services.sh"
step "services: PostgreSQL at $ERRAND_TEST_POSTGRES_URL"
ensure_postgres
step "services: Redis at $ERRAND_TEST_REDIS_URL"
ensure_redis
step "services: Redis Cluster at $ERRAND_TEST_REDIS_CLUSTER_URL"
ensure_redis_cluster
step "browser: chromium and playwright-core for the dashboard test"
ensure_browser

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy (all targets, all features, warnings are errors)"
cargo clippy --workspace --all-targets --all-features -- -D warnings

step "cargo check: the facade with its default features, with none, and with each alone"
cargo check -q -p errand
cargo check -q -p errand --no-default-features
for feature in sqlite postgres redis testing prometheus; do
  cargo check -q -p errand --no-default-features --features "$feature"
done

step "cargo doc (warnings are errors)"
# errand-cli's binary is also called errand: its page would overwrite the library's.
RUSTDOCFLAGS="-D warnings" cargo doc -q --workspace --exclude errand-cli --all-features --no-deps

step "cargo test (workspace)"
cargo test --workspace --all-features
echo "dashboard screenshots: target/dashboard-screenshots/<store>/"
