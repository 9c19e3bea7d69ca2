//! Fresh PostgreSQL storages for tests: each in a schema of its own, dropped at the end.
//!
//! The database comes from `WANGGE_TEST_POSTGRES` (a URL such as
//! `postgres://postgres@127.0.0.1:5432/wangge_test`; `scripts/test.sh` creates the
//! database and sets it). Without it a test says it was skipped and passes, except under
//! `CI=true`, where a PostgreSQL test that cannot run fails: CI must run them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a failed step is a test failure"
)]

use std::str::FromStr;
use std::sync::{Arc, OnceLock};

use wangge_core::Catalog;

use super::PgStorage;

/// The variable naming the test database.
pub const TEST_DB_VAR: &str = "WANGGE_TEST_POSTGRES";

/// The test database's URL, or `None` (after saying why) when PostgreSQL tests are
/// skipped. Panics under `CI=true` when the variable is missing or the database cannot be
/// reached.
pub fn test_database(test: &str) -> Option<String> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let Some(url) = std::env::var(TEST_DB_VAR).ok().filter(|u| !u.is_empty()) else {
        assert!(
            !ci,
            "{test}: {TEST_DB_VAR} is not set, and CI must run the PostgreSQL tests; \
             set it to postgres://postgres@127.0.0.1:5432/<database> (scripts/test.sh does)"
        );
        eprintln!(
            "skipped {test}: set {TEST_DB_VAR}=postgres://postgres@127.0.0.1:5432/<database> \
             to run the PostgreSQL tests"
        );
        return None;
    };
    if let Err(e) = prepare(&url) {
        assert!(
            !ci,
            "{test}: cannot use the PostgreSQL test database {url}: {e}"
        );
        eprintln!("skipped {test}: cannot use the PostgreSQL test database {url}: {e}");
        return None;
    }
    Some(url)
}

/// Creates `pg_trgm` once, in `public`, so that every test schema finds it there (an
/// extension created inside a test's schema would be dropped with it).
fn prepare(url: &str) -> Result<(), String> {
    static PREPARED: OnceLock<Result<(), String>> = OnceLock::new();
    PREPARED
        .get_or_init(|| {
            let config = postgres::Config::from_str(url).map_err(|e| e.to_string())?;
            let mut client = config.connect(postgres::NoTls).map_err(|e| e.to_string())?;
            // Two test processes may race to create it: the loser's error is harmless.
            let _ = client.batch_execute("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public");
            let exists: bool = client
                .query_one(
                    "SELECT count(*) > 0 FROM pg_extension WHERE extname = 'pg_trgm'",
                    &[],
                )
                .map_err(|e| e.to_string())?
                .get(0);
            if exists {
                Ok(())
            } else {
                Err("the pg_trgm extension cannot be created (install postgresql-contrib)".into())
            }
        })
        .clone()
}

/// A schema of the test database, dropped when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    admin_url: String,
    name: String,
    /// The URL that puts a connection in this schema (with `public` for `pg_trgm`).
    pub url: String,
}

impl TestSchema {
    /// A new, empty schema in the database at `url`.
    pub fn new(url: &str) -> Self {
        let name = format!("wangge_t_{}", uuid::Uuid::now_v7().simple());
        let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        TestSchema {
            admin_url: url.to_owned(),
            url: format!("{url}{separator}options=-csearch_path%3D{name}%2Cpublic"),
            name,
        }
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = postgres::Client::connect(&self.admin_url, postgres::NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// A fresh storage in a schema of its own, or `None` when PostgreSQL tests are skipped.
pub fn fresh(test: &str, catalog: Arc<Catalog>) -> Option<(PgStorage, TestSchema)> {
    let url = test_database(test)?;
    let schema = TestSchema::new(&url);
    let storage = PgStorage::open_with_pool_size(&schema.url, catalog, 4).unwrap();
    Some((storage, schema))
}
