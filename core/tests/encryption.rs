//! Encryption at rest (SQLCipher): nothing of a case or a photo is readable in the store's
//! files without the key (and the same scan of a plain store finds both, so the scan can
//! fail); a wrong or missing key is a typed error; a plain store is encrypted in place, and a
//! process killed at any step of that leaves a store that opens with every case in it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;

use support::*;
use wangge_core::photo::PhotoOptions;
use wangge_core::store::encryption::STOP_MIGRATION_ENV;
use wangge_core::{DeviceId, Error, ManualClock, NewCase, PhotoRef, Store, StoreKey};

/// What every test case's description starts with: a resident's name and address, what a
/// lost phone must not give away.
const SECRET: &str = "居民王秀英反映：斜土路2567弄12号楼下有人占道经营";

const KEY: [u8; 32] = [
    0x3c, 0x91, 0x5e, 0x07, 0xa2, 0x4f, 0xd8, 0x66, 0x10, 0xbb, 0x2e, 0xf5, 0x73, 0x09, 0xc4, 0x58,
    0x8d, 0x31, 0xe0, 0x7a, 0x1f, 0x96, 0x42, 0xcd, 0x05, 0x6b, 0xa8, 0x3e, 0xf1, 0x24, 0x9f, 0x50,
];

fn key() -> StoreKey {
    StoreKey::from_bytes(&KEY).unwrap()
}

fn open(path: &Path, device: DeviceId, key: Option<&StoreKey>) -> wangge_core::Result<Store> {
    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    Store::open_with_key(path, device, catalog(), clock, key)
}

fn officer(device: DeviceId) -> wangge_core::Actor {
    actor("officer-017", wangge_core::Role::GridOfficer, None, device)
}

/// Records `n` cases, each with the secret description and the number `i`, the first with
/// the photo. Returns the stored photo's bytes (re-encoded by the import: what is on disk).
fn record_cases(store: &Store, n: usize, seed: u64) -> (PhotoRef, Vec<u8>) {
    let photo = store
        .import_photo(&plain_jpeg(seed), &PhotoOptions::default())
        .unwrap();
    let device = store.device();
    for i in 0..n {
        let fix = fix_in(&store.catalog().grids, "XT-W01-U1", store.now_ms());
        let mut new = NewCase::from_handheld("A02-001", &format!("{SECRET} #{i}"), fix);
        if i == 0 {
            new.photos = vec![photo.clone()];
        }
        store.record_case(&officer(device), new).unwrap();
    }
    let bytes = store.photo_bytes(&photo.sha256).unwrap().unwrap();
    (photo, bytes)
}

/// Every case's description, sorted.
fn descriptions(store: &Store) -> Vec<String> {
    let mut all: Vec<String> = store
        .cases(&wangge_core::CaseQuery::default())
        .unwrap()
        .into_iter()
        .map(|c| c.description)
        .collect();
    all.sort();
    all
}

fn expected_descriptions(n: usize) -> Vec<String> {
    let mut all: Vec<String> = (0..n).map(|i| format!("{SECRET} #{i}")).collect();
    all.sort();
    all
}

/// What a scan of every file in a directory found.
#[derive(Debug, Default, PartialEq)]
struct Found {
    text_in: Vec<String>,
    photo_in: Vec<String>,
}

/// Reads every file in `dir` (the database, its WAL and shared memory, anything else) and
/// names those holding the secret text (UTF-8) or any of four 64-byte slices of `jpeg`
/// (taken from its entropy-coded body, not its generic header).
fn scan(dir: &Path, jpeg: &[u8]) -> Found {
    let slices: Vec<&[u8]> = (1..=4)
        .map(|k| {
            let at = jpeg.len() * k / 5;
            &jpeg[at..at + 64]
        })
        .collect();
    let mut found = Found::default();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if contains(&bytes, SECRET.as_bytes()) {
            found.text_in.push(name.clone());
        }
        if slices.iter().any(|s| contains(&bytes, s)) {
            found.photo_in.push(name);
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Writes cases and a photo, scans the directory while the store is open (WAL in use) and
/// after it is closed. Returns both scans.
fn write_then_scan(key: Option<&StoreKey>) -> (Found, Found) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite3");
    let store = open(&path, DeviceId::generate(), key).unwrap();
    let (_, jpeg) = record_cases(&store, 20, 7);
    assert!(
        dir.path().join("phone.sqlite3-wal").exists(),
        "the open store keeps a WAL, so its scan covers it"
    );
    let open_scan = scan(dir.path(), &jpeg);
    drop(store);
    (open_scan, scan(dir.path(), &jpeg))
}

#[test]
fn an_encrypted_store_shows_neither_text_nor_photo_on_disk() {
    let (open_scan, closed_scan) = write_then_scan(Some(&key()));
    assert_eq!(open_scan, Found::default(), "while open");
    assert_eq!(closed_scan, Found::default(), "once closed");
}

#[test]
fn the_same_scan_of_a_plain_store_finds_both() {
    let (open_scan, closed_scan) = write_then_scan(None);
    assert!(!open_scan.text_in.is_empty(), "{open_scan:?}");
    assert!(!open_scan.photo_in.is_empty(), "{open_scan:?}");
    assert!(!closed_scan.text_in.is_empty(), "{closed_scan:?}");
    assert!(!closed_scan.photo_in.is_empty(), "{closed_scan:?}");
}

#[test]
fn a_wrong_or_missing_key_is_a_typed_error_and_the_right_one_still_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite3");
    let device = DeviceId::generate();
    record_cases(&open(&path, device, Some(&key())).unwrap(), 3, 1);

    let mut other = KEY;
    other[31] ^= 1;
    let other = StoreKey::from_bytes(&other).unwrap();
    let err = open(&path, device, Some(&other)).unwrap_err();
    assert!(
        matches!(&err, Error::WrongKey { .. }) && err.to_string().contains("another key"),
        "{err}"
    );
    let err = open(&path, device, None).unwrap_err();
    assert!(
        matches!(&err, Error::WrongKey { .. }) && err.to_string().contains("no key was given"),
        "{err}"
    );
    let err = StoreKey::from_bytes(&KEY[..16]).unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");

    let store = open(&path, device, Some(&key())).unwrap();
    assert_eq!(descriptions(&store), expected_descriptions(3));
}

/// The first bytes of a file: a plain SQLite database's header, or an encrypted file's salt.
fn is_plain(path: &Path) -> bool {
    std::fs::read(path)
        .unwrap()
        .starts_with(b"SQLite format 3\0")
}

#[test]
fn a_plain_store_is_encrypted_in_place_with_everything_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("phone.sqlite3");
    let device = DeviceId::generate();
    let (photo, jpeg) = record_cases(&open(&path, device, None).unwrap(), 12, 3);
    assert!(is_plain(&path));

    let store = open(&path, device, Some(&key())).unwrap();
    assert_eq!(descriptions(&store), expected_descriptions(12));
    assert_eq!(
        store.search_cases("斜土路").unwrap().len(),
        12,
        "the full-text index came along"
    );
    assert_eq!(store.photo_bytes(&photo.sha256).unwrap().unwrap(), jpeg);
    // More writes go on as before, encrypted.
    record_cases(&store, 1, 4);
    drop(store);
    assert!(!is_plain(&path));
    assert_eq!(scan(dir.path(), &jpeg), Found::default());
    let copies: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("encrypting"))
        .collect();
    assert!(copies.is_empty(), "no copy left behind: {copies:?}");
    assert!(matches!(
        open(&path, device, None).unwrap_err(),
        Error::WrongKey { .. }
    ));
}

const CHILD_ENV: &str = "WANGGE_ENCRYPTION_CHILD";
const TEST_NAME: &str = "a_migration_killed_at_any_point_leaves_a_store_that_opens_whole";
const CASES: usize = 30;

/// The child's two jobs: `write` records the cases into a plain store and waits to be killed
/// (so the plain store is left as a killed app leaves it, its last writes in the WAL);
/// `encrypt` opens it with the key, which encrypts it in place, stopped where the parent
/// says (see [`STOP_MIGRATION_ENV`]) or killed whenever the parent kills it.
fn child(job: &str, path: &Path, device: DeviceId) -> ! {
    // The store stays open until the kill.
    let _store = match job {
        "write" => {
            let store = open(path, device, None).unwrap();
            record_cases(&store, CASES, 9);
            println!("written");
            store
        }
        _ => {
            println!("opening");
            let store = open(path, device, Some(&key())).unwrap();
            println!("opened {}", descriptions(&store).len());
            store
        }
    };
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// A child process, killed (SIGKILL) when dropped, so a failed assertion leaves none behind.
struct KilledOnDrop(Child);

impl Drop for KilledOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(job: &str, path: &Path, device: DeviceId, stop_at: Option<&str>) -> KilledOnDrop {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, format!("{job} {device} {}", path.display()))
        .env_remove(STOP_MIGRATION_ENV)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(step) = stop_at {
        cmd.env(STOP_MIGRATION_ENV, step);
    }
    KilledOnDrop(cmd.spawn().unwrap())
}

/// Reads the child's stdout until a line holding `prefix` (the first one also holds the test
/// harness's "test … ... "), and returns it from there; panics if the output ends first.
fn wait_for(child: &mut KilledOnDrop, prefix: &str) -> String {
    let out = child.0.stdout.as_mut().unwrap();
    let mut line = String::new();
    let mut reader = BufReader::new(out);
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the child ended before printing {prefix:?}"
        );
        if let Some(at) = line.find(prefix) {
            return line[at..].trim_end().to_owned();
        }
    }
}

/// A plain store as a killed app leaves it: its cases written, its WAL not checkpointed.
fn plain_store_of_a_killed_app(dir: &Path, device: DeviceId) -> PathBuf {
    let path = dir.join("phone.sqlite3");
    let mut writer = spawn("write", &path, device, None);
    wait_for(&mut writer, "written");
    drop(writer);
    assert!(is_plain(&path));
    path
}

fn assert_opens_whole(path: &Path, device: DeviceId, after: &str) {
    let store = open(path, device, Some(&key()))
        .unwrap_or_else(|e| panic!("after a kill {after}, opening with the key failed: {e}"));
    assert_eq!(
        descriptions(&store),
        expected_descriptions(CASES),
        "after a kill {after}"
    );
    drop(store);
    assert!(!is_plain(path), "after a kill {after}");
}

#[test]
fn a_migration_killed_at_any_point_leaves_a_store_that_opens_whole() {
    if let Ok(args) = std::env::var(CHILD_ENV) {
        let mut parts = args.splitn(3, ' ');
        let (job, device, path) = (parts.next(), parts.next(), parts.next());
        child(
            job.unwrap(),
            Path::new(path.unwrap()),
            DeviceId::parse(device.unwrap()).unwrap(),
        );
    }
    // At each named step: before the rename the file is still the plain store, after it the
    // encrypted one; either way it opens with the key and holds every case.
    for (step, plain_after_kill) in [
        ("single-file", true),
        ("exported", true),
        ("synced", true),
        ("renamed", false),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let device = DeviceId::generate();
        let path = plain_store_of_a_killed_app(dir.path(), device);
        let mut migrating = spawn("encrypt", &path, device, Some(step));
        assert_eq!(
            wait_for(&mut migrating, "migration reached"),
            format!("migration reached {step}")
        );
        drop(migrating);
        assert_eq!(is_plain(&path), plain_after_kill, "killed at {step}");
        assert_opens_whole(&path, device, &format!("at {step}"));
    }
    // And killed at whatever moment a delay lands on, export included.
    for delay_ms in [0, 1, 2, 4, 8, 16, 32] {
        let dir = tempfile::tempdir().unwrap();
        let device = DeviceId::generate();
        let path = plain_store_of_a_killed_app(dir.path(), device);
        let mut migrating = spawn("encrypt", &path, device, None);
        wait_for(&mut migrating, "opening");
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        drop(migrating);
        assert_opens_whole(&path, device, &format!("{delay_ms} ms into the open"));
    }
}
