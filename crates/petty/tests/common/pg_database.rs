//! A PostgreSQL database of its own for one test, on `PETTY_TEST_POSTGRES_URL`'s server, dropped
//! (`WITH (FORCE)`) with the guard. Shared by the `api` and `it` test binaries.

use std::process::Command;

pub(crate) struct PgDatabase {
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// `None` (and a line saying the test was skipped) when no PostgreSQL server is configured;
    /// a panic on CI, which must run them.
    pub(crate) fn create() -> Option<Self> {
        let Ok(admin_url) = std::env::var("PETTY_TEST_POSTGRES_URL") else {
            if std::env::var("CI").is_ok_and(|v| !v.is_empty()) {
                panic!("CI must set PETTY_TEST_POSTGRES_URL so the PostgreSQL tests run");
            }
            eprintln!("skipped on PostgreSQL: PETTY_TEST_POSTGRES_URL is not set");
            return None;
        };
        let name = format!("petty_test_{}", uuid::Uuid::new_v4().simple());
        let status =
            Command::new("psql").args([&admin_url, "-qc", &format!("CREATE DATABASE {name}")]).status().expect("psql");
        assert!(status.success(), "could not create {name} on {admin_url}");
        Some(Self { admin_url, name })
    }

    pub(crate) fn url(&self) -> String {
        let base = self.admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&self.admin_url);
        format!("{base}/{}", self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([&self.admin_url, "-qc", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)])
            .status();
    }
}
