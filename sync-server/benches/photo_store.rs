//! Photos in the database or in a photo directory: upload and read time, and what each
//! leaves on disk (not a test).
//!
//! ```text
//! cargo bench -p wangge-sync-server --bench photo_store
//! ```
//!
//! 1,000 photos of 270 KB (incompressible, as JPEGs are; the size measured over the 2G link in
//! `docs/scaling.md`), each uploaded in 64 KB chunks through the `Storage` trait, into two
//! SQLite storages in this process: one keeping the bytes in the database (the default), one
//! with a `FsPhotoStore` in a directory beside it. The arms alternate batch by batch (100
//! photos each) so that whatever else the machine does weighs on both alike; medians per
//! photo over the 10 batches. Then every photo is read back through `Storage::photo`, the same
//! way. HTTP is not included (it did not change).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use sha2::{Digest, Sha256};
use wangge_core::Catalog;
use wangge_server::storage::photo_store::{FsPhotoStore, sha256_hex};
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{ChunkOutcome, PhotoChunk, Storage};

const PHOTOS: usize = 1_000;
const BATCH: usize = 100;
const SIZE: usize = 270 * 1024;
const CHUNK: usize = 64 * 1024;

/// Photo `i`: incompressible bytes of its own (xorshift seeded by `i`).
fn photo(i: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64 ^ (i as u64 + 1);
    (0..SIZE / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect()
}

fn upload(storage: &dyn Storage, bytes: &[u8]) -> String {
    let sha = sha256_hex(&Sha256::digest(bytes));
    for offset in (0..bytes.len()).step_by(CHUNK) {
        let end = (offset + CHUNK).min(bytes.len());
        let chunk = PhotoChunk {
            sha256: &sha,
            offset: offset as u64,
            total: bytes.len() as u64,
            data: &bytes[offset..end],
            thumbnail_of: None,
            device_id: "phone",
        };
        match storage.put_photo_chunk(&chunk, 1_714_352_400_000).unwrap() {
            ChunkOutcome::Stored(u) => assert_eq!(u.complete, end == bytes.len()),
            other => panic!("{other:?}"),
        }
    }
    sha
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Bytes of the files directly in `dir` whose name starts with `prefix`, or of every file
/// under `dir` when `prefix` is empty.
fn bytes_under(dir: &Path, prefix: &str) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                if prefix.is_empty() {
                    bytes_under(&path, prefix)
                } else {
                    0
                }
            } else if e.file_name().to_string_lossy().starts_with(prefix) {
                e.metadata().unwrap().len()
            } else {
                0
            }
        })
        .sum()
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::demo().unwrap());
    let in_db = SqliteStorage::open(dir.path().join("in_db.sqlite3"), catalog.clone()).unwrap();
    let photos_dir = dir.path().join("photos");
    let in_dir = SqliteStorage::open(dir.path().join("in_dir.sqlite3"), catalog)
        .unwrap()
        .with_photo_store(Arc::new(FsPhotoStore::open(&photos_dir).unwrap()));
    let arms: [(&str, &dyn Storage); 2] = [("database", &in_db), ("directory", &in_dir)];

    let mut hashes = Vec::new();
    let mut up: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for batch in 0..PHOTOS / BATCH {
        let bytes: Vec<Vec<u8>> = (batch * BATCH..(batch + 1) * BATCH).map(photo).collect();
        // Alternate which arm goes first.
        let order = if batch % 2 == 0 { [0, 1] } else { [1, 0] };
        for arm in order {
            let started = Instant::now();
            for b in &bytes {
                let sha = upload(arms[arm].1, b);
                if arm == 0 {
                    hashes.push(sha);
                }
            }
            up[arm].push(started.elapsed().as_secs_f64() * 1e3 / BATCH as f64);
        }
    }
    let mut read: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for (batch, hashes) in hashes.chunks(BATCH).enumerate() {
        let order = if batch % 2 == 0 { [0, 1] } else { [1, 0] };
        for arm in order {
            let started = Instant::now();
            for sha in hashes {
                assert_eq!(arms[arm].1.photo(sha).unwrap().unwrap().len(), SIZE);
            }
            read[arm].push(started.elapsed().as_secs_f64() * 1e3 / BATCH as f64);
        }
    }
    for name in ["in_db.sqlite3", "in_dir.sqlite3"] {
        rusqlite::Connection::open(dir.path().join(name))
            .unwrap()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
    }
    let mb = |bytes: u64| bytes as f64 / 1e6;
    println!(
        "{PHOTOS} photos of {} KB in {} KB chunks, SQLite, medians per photo over {} batches:",
        SIZE / 1024,
        CHUNK / 1024,
        PHOTOS / BATCH
    );
    for (i, (name, _)) in arms.iter().enumerate() {
        println!(
            "  {name:>9}: upload {:.2} ms, read {:.2} ms",
            median(up[i].clone()),
            median(read[i].clone())
        );
    }
    println!(
        "  directory / database: upload × {:.2}, read × {:.2}",
        median(up[1].clone()) / median(up[0].clone()),
        median(read[1].clone()) / median(read[0].clone())
    );
    println!(
        "  on disk: database arm {:.1} MB (database file); directory arm {:.1} MB database + {:.1} MB of files",
        mb(bytes_under(dir.path(), "in_db.sqlite3")),
        mb(bytes_under(dir.path(), "in_dir.sqlite3")),
        mb(bytes_under(&photos_dir, ""))
    );
}
