//! Photos in a directory, as an operator runs them: a real `wangge-server serve` first without
//! and then with `--photos-dir`, a field phone uploading photos over HTTP in chunks, the
//! centre's device fetching them, and `photos export-to-dir` moving the photo the database
//! still holds while the server runs — on SQLite, and on PostgreSQL when
//! `WANGGE_TEST_POSTGRES` names a database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sha2::{Digest, Sha256};

#[path = "support/process.rs"]
mod process;
use process::{Server, cli, free_port, wait_until};
use wangge_server::storage::postgres::testing::{TestSchema, test_database};

/// `wangge-server serve` on `db` and `port`, with `photos_dir` if given, once it answers.
fn serve(db: &str, port: u16, photos_dir: Option<&Path>) -> Server {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wangge-server"));
    command
        .arg("serve")
        .env("WANGGE_DB", db)
        .env("WANGGE_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("WANGGE_PHOTOS_DIR")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(dir) = photos_dir {
        command.env("WANGGE_PHOTOS_DIR", dir);
    }
    let server = Server(command.spawn().unwrap());
    wait_until("the server answers /health", || {
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/health"))
            .is_ok_and(|r| r.status().is_success())
    });
    server
}

fn sha(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Enrols a device to `person`; its token.
fn enroll(db: &str, name: &str, person: &str) -> String {
    let (out, _) = cli(db, &["enroll", "--name", name, "--person", person]);
    out.lines()
        .find_map(|l| l.strip_prefix("token="))
        .unwrap()
        .to_owned()
}

struct Device {
    http: reqwest::blocking::Client,
    base: String,
    token: String,
}

impl Device {
    /// Uploads `bytes` in chunks of `chunk` bytes, as a phone resumes: each from where the
    /// server says the upload stands.
    fn upload(&self, bytes: &[u8], chunk: usize) {
        let hash = sha(bytes);
        let mut offset = 0;
        while offset < bytes.len() {
            let end = (offset + chunk).min(bytes.len());
            let answer: serde_json::Value = self
                .http
                .put(format!(
                    "{}/v1/photos/{hash}?offset={offset}&total={}",
                    self.base,
                    bytes.len()
                ))
                .bearer_auth(&self.token)
                .body(bytes[offset..end].to_vec())
                .send()
                .unwrap()
                .error_for_status()
                .unwrap()
                .json()
                .unwrap();
            offset = answer["received"].as_u64().unwrap() as usize;
            assert_eq!(answer["complete"], offset == bytes.len(), "{answer}");
        }
    }

    /// `GET /v1/photos/{hash}`: its status and body.
    fn fetch(&self, hash: &str) -> (u16, Vec<u8>) {
        let response = self
            .http
            .get(format!("{}/v1/photos/{hash}", self.base))
            .bearer_auth(&self.token)
            .send()
            .unwrap();
        (
            response.status().as_u16(),
            response.bytes().unwrap().to_vec(),
        )
    }
}

/// A photo of `n` bytes that no other test makes.
fn photo(seed: u8, n: usize) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

fn file_of(dir: &Path, hash: &str) -> std::path::PathBuf {
    dir.join(&hash[..2]).join(&hash[2..4]).join(hash)
}

/// The whole story on the database `db`; `photos_in_db` counts the photos whose bytes the
/// database holds.
fn photos_move_to_the_directory(dir: &Path, db: &str, photos_in_db: &dyn Fn() -> i64) {
    let roster = concat!(env!("CARGO_MANIFEST_DIR"), "/data/roster-demo.json");
    cli(db, &["roster", "import", roster]);
    let field_token = enroll(db, "手持01", "XT-GO-001");
    let centre_token = enroll(db, "指挥中心", "XT-CC-001");
    let photos = dir.join("photos");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let device = |token: &str| Device {
        http: http.clone(),
        base: base.clone(),
        token: token.to_owned(),
    };
    let (phone, centre) = (device(&field_token), device(&centre_token));

    // Before the directory: the photo goes into the database.
    let old = photo(1, 300_000);
    {
        let _server = serve(db, port, None);
        phone.upload(&old, 128 * 1024);
        assert_eq!(centre.fetch(&sha(&old)), (200, old.clone()));
    }
    assert_eq!(photos_in_db(), 1);

    // With it: new photos are files, the old one is still served from the database.
    let _server = serve(db, port, Some(&photos));
    let new = photo(2, 250_000);
    phone.upload(&new, 100_000);
    assert_eq!(std::fs::read(file_of(&photos, &sha(&new))).unwrap(), new);
    assert_eq!(
        photos_in_db(),
        1,
        "the new photo's bytes are not in the database"
    );
    assert_eq!(centre.fetch(&sha(&new)), (200, new.clone()));
    assert_eq!(centre.fetch(&sha(&old)), (200, old.clone()));

    // Moved while the server runs; served from the directory from then on.
    let (out, _) = cli(
        db,
        &[
            "photos",
            "export-to-dir",
            "--photos-dir",
            photos.to_str().unwrap(),
        ],
    );
    assert!(out.contains("moved 1 photos"), "{out}");
    assert_eq!(photos_in_db(), 0);
    assert_eq!(std::fs::read(file_of(&photos, &sha(&old))).unwrap(), old);
    assert_eq!(centre.fetch(&sha(&old)), (200, old.clone()));

    // A damaged file is refused with a JSON error, not served.
    std::fs::write(file_of(&photos, &sha(&old)), &old[..1000]).unwrap();
    let (status, body) = centre.fetch(&sha(&old));
    assert_eq!(status, 500);
    let error: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(error["error"], "internal", "{error}");
}

#[test]
fn photos_move_from_the_database_to_the_directory_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("street.sqlite3");
    let db = db.to_str().unwrap();
    photos_move_to_the_directory(dir.path(), db, &|| {
        rusqlite::Connection::open(db)
            .unwrap()
            .query_row(
                "SELECT count(*) FROM photos WHERE length(data) > 0",
                [],
                |r| r.get(0),
            )
            .unwrap()
    });
}

#[test]
fn photos_move_from_the_database_to_the_directory_on_postgres() {
    let Some(url) = test_database("photos_move_to_the_directory_on_postgres") else {
        return;
    };
    let schema = TestSchema::new(&url);
    let dir = tempfile::tempdir().unwrap();
    photos_move_to_the_directory(dir.path(), &schema.url, &|| {
        let mut client = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
        client
            .query_one(
                "SELECT count(*) FROM photos WHERE octet_length(data) > 0",
                &[],
            )
            .unwrap()
            .get(0)
    });
}
