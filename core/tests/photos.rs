//! The device's photo store: content-addressed import, attaching photos to cases and events,
//! thumbnails, evidence flags from the original's metadata, upload bookkeeping, disk usage,
//! refusal of unknown photos, and a SIGKILL during a loop of imports leaving no partial photo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Cursor, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use image::Rgb;
use rusqlite::Connection;
use sha2::{Digest, Sha256};
use support::*;
use wangge_core::photo::{EvidenceFlag, PhotoError, PhotoEvidence, PhotoFormat, PhotoOptions};
use wangge_core::zero_report::ZeroReportEventKind;
use wangge_core::{
    CaseEventKind, DeviceId, Error, GpsFix, MatterId, NewCase, PhotoCapture, PhotoRef, Store,
    SystemClock,
};

/// 2024-05-01 14:03:22 +08:00, the capture time the EXIF below writes.
const TAKEN_MS: i64 = 1_714_543_402_000;
const TAKEN_EXIF: &str = "2024:05:01 14:03:22";
/// Xietu Road street office, Xuhui, Shanghai (approximately).
const XIETU: (f64, f64) = (31.1937, 121.4527);

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A JPEG whose EXIF says it was taken at `TAKEN_EXIF` at `gps`, as a phone camera writes it.
fn camera_jpeg(seed: u64, gps: (f64, f64)) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let jpeg = plain_jpeg(seed);
    let ascii = |tag, s: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    };
    let dms = |tag, degrees: f64| {
        let d = degrees.abs();
        let whole = d.trunc();
        let minutes = ((d - whole) * 60.0).trunc();
        let seconds = ((d - whole) * 60.0 - minutes) * 60.0;
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Rational(vec![
                Rational {
                    num: whole as u32,
                    denom: 1,
                },
                Rational {
                    num: minutes as u32,
                    denom: 1,
                },
                Rational {
                    num: (seconds * 10_000.0).round() as u32,
                    denom: 10_000,
                },
            ]),
        }
    };
    let fields = [
        ascii(Tag::Make, "TestPhone"),
        ascii(Tag::DateTimeOriginal, TAKEN_EXIF),
        ascii(Tag::GPSLatitudeRef, "N"),
        dms(Tag::GPSLatitude, gps.0),
        ascii(Tag::GPSLongitudeRef, "E"),
        dms(Tag::GPSLongitude, gps.1),
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let len = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A point `metres` due north of `from`.
fn north_of(from: (f64, f64), metres: f64) -> (f64, f64) {
    (from.0 + metres / 111_195.0, from.1)
}

fn fix_at(pos: (f64, f64), at_ms: i64) -> GpsFix {
    GpsFix {
        lat: pos.0,
        lon: pos.1,
        accuracy_m: 5.0,
        fix_time_ms: at_ms,
    }
}

/// A case in a fixed grid cell whose report carries `photos` and a fix at `pos`.
fn new_case(pos: (f64, f64), at_ms: i64, photos: Vec<PhotoRef>) -> NewCase {
    let mut new = NewCase::from_handheld("A02-001", "流动摊贩占道经营", fix_at(pos, at_ms));
    new.grid = Some("XT-W01-U1".into());
    new.photos = photos;
    new
}

/// The evidence as (photo hash, flags) pairs.
fn flags_of(evidence: Vec<PhotoEvidence>) -> Vec<(String, Vec<EvidenceFlag>)> {
    evidence
        .into_iter()
        .map(|e| (e.photo.sha256, e.flags))
        .collect()
}

fn count(path: &std::path::Path, table: &str) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_duplicate_import_stores_one_blob() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let opts = PhotoOptions::default();
    let bytes = plain_jpeg(1);
    let first = d.store.import_photo(&bytes, &opts).unwrap();
    let again = d.store.import_photo(&bytes, &opts).unwrap();
    assert_eq!(first, again);
    let path = d.store.path().to_owned();
    for table in ["photos", "photo_data", "photo_thumbs"] {
        assert_eq!(count(&path, table), 1, "{table}");
    }
    // The stored bytes are what the reference names.
    let stored = d.store.photo_bytes(&first.sha256).unwrap().unwrap();
    assert_eq!(sha_hex(&stored), first.sha256);
    assert_eq!(stored.len() as u64, first.bytes);
    assert_eq!((first.width, first.height), (480, 360));
    // Another photo is another blob.
    let other = d.store.import_photo(&plain_jpeg(2), &opts).unwrap();
    assert_ne!(other.sha256, first.sha256);
    assert_eq!(count(&path, "photo_data"), 2);
}

#[test]
fn a_refused_photo_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let opts = PhotoOptions::default();
    for bad in [Vec::new(), b"not an image at all".to_vec(), {
        let mut truncated = plain_jpeg(3);
        truncated.truncate(truncated.len() / 2);
        truncated
    }] {
        let err = d.store.import_photo(&bad, &opts).unwrap_err();
        assert!(matches!(err, Error::Photo(_)), "{err}");
    }
    assert_eq!(d.store.photo_disk_usage().unwrap().total_bytes(), 0);
    assert!(d.store.photos_not_uploaded().unwrap().is_empty());
}

#[test]
fn photos_attach_to_a_case_and_an_event_and_their_thumbnails_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let opts = PhotoOptions::default();
    let before = d.store.import_photo(&plain_jpeg(10), &opts).unwrap();
    let after = d.store.import_photo(&plain_jpeg(11), &opts).unwrap();
    let case = d
        .store
        .record_case(
            &d.officer(),
            new_case(XIETU, MONDAY_9AM, vec![before.clone()]),
        )
        .unwrap();
    d.clock.advance(10 * MINUTE);
    let record = d
        .store
        .add_case_event(
            case,
            &d.officer(),
            CaseEventKind::Comment {
                text: "摊贩已劝离".into(),
                photos: vec![after.clone(), before.clone()],
            },
        )
        .unwrap();
    assert_eq!(record.header.photos, vec![before.clone()]);

    let thumbs = d.store.case_thumbnails(case).unwrap();
    let refs: Vec<&PhotoRef> = thumbs.iter().map(|(p, _)| p).collect();
    assert_eq!(refs, vec![&before, &after], "report first, each photo once");
    for (photo, thumb) in &thumbs {
        assert_eq!(
            Some(thumb),
            d.store.thumbnail(&photo.sha256).unwrap().as_ref()
        );
        let img = image::load_from_memory_with_format(thumb, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((img.width(), img.height()), (320, 240));
        let stored = d.store.stored_photo(&photo.sha256).unwrap().unwrap();
        assert_eq!(stored.thumb_sha256, sha_hex(thumb));
        assert_eq!(stored.thumb_bytes, thumb.len() as u64);
    }
    // The thumbnails survive a reopen (they are in the database, not in memory).
    let path = d.store.path().to_owned();
    drop(d);
    let store = Store::open(
        &path,
        DeviceId::parse(&device_of(&path)).unwrap(),
        catalog(),
        Arc::new(SystemClock),
    )
    .unwrap();
    assert_eq!(store.case_thumbnails(case).unwrap(), thumbs);
}

fn device_of(path: &std::path::Path) -> String {
    let bytes: Vec<u8> = Connection::open(path)
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'device_id'", [], |r| {
            r.get(0)
        })
        .unwrap();
    String::from_utf8(bytes).unwrap()
}

#[test]
fn evidence_flags_a_photo_taken_days_before_or_far_away() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", TAKEN_MS + 5 * MINUTE);
    let opts = PhotoOptions::default();
    // Taken at the Xietu office, five minutes before the report: nothing to flag.
    let photo = d
        .store
        .import_photo(&camera_jpeg(20, XIETU), &opts)
        .unwrap();
    let stored = d.store.stored_photo(&photo.sha256).unwrap().unwrap();
    assert_eq!(stored.original.taken_at_ms, Some(TAKEN_MS));
    assert_eq!(stored.original.format, PhotoFormat::Jpeg);
    let (lat, lon) = stored.original.gps.unwrap();
    assert!((lat - XIETU.0).abs() < 1e-5 && (lon - XIETU.1).abs() < 1e-5);
    // The stored JPEG itself carries none of it.
    let jpeg = d.store.photo_bytes(&photo.sha256).unwrap().unwrap();
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(&jpeg))
            .is_err()
    );
    let good = d
        .store
        .record_case(
            &d.officer(),
            new_case(XIETU, d.store.now_ms(), vec![photo.clone()]),
        )
        .unwrap();
    assert_eq!(photo.capture.taken_at_ms, Some(TAKEN_MS));
    assert_eq!(
        flags_of(d.store.photo_evidence(good).unwrap()),
        vec![(photo.sha256.clone(), vec![])]
    );

    // The same photo attached three days later to a case 2 km away.
    d.clock.set(TAKEN_MS + 72 * HOUR);
    let far = north_of(XIETU, 2000.0);
    let suspicious = d
        .store
        .record_case(
            &d.officer(),
            new_case(far, d.store.now_ms(), vec![photo.clone()]),
        )
        .unwrap();
    let evidence = flags_of(d.store.photo_evidence(suspicious).unwrap());
    assert_eq!(evidence.len(), 1);
    let (sha, flags) = &evidence[0];
    assert_eq!(sha, &photo.sha256);
    assert_eq!(flags[0], EvidenceFlag::TakenLongBefore { hours: 72 });
    let EvidenceFlag::FarFromReport { metres } = flags[1] else {
        panic!("expected FarFromReport, got {flags:?}");
    };
    assert!((1990..=2010).contains(&metres), "{metres}");

    // An event photo is judged against the event's time; a photo without EXIF says so.
    let bare = d.store.import_photo(&plain_jpeg(21), &opts).unwrap();
    d.store
        .add_case_event(
            good,
            &d.officer(),
            CaseEventKind::Comment {
                text: "现场照片".into(),
                photos: vec![bare.clone()],
            },
        )
        .unwrap();
    let evidence = flags_of(d.store.photo_evidence(good).unwrap());
    assert_eq!(
        evidence,
        vec![
            (photo.sha256.clone(), vec![]),
            (
                bare.sha256.clone(),
                vec![EvidenceFlag::NoCaptureTime, EvidenceFlag::NoPosition]
            ),
        ]
    );
}

#[test]
fn photos_not_uploaded_lists_every_imported_photo_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let opts = PhotoOptions::default();
    assert!(d.store.photos_not_uploaded().unwrap().is_empty());
    let a = d.store.import_photo(&plain_jpeg(30), &opts).unwrap();
    d.clock.advance(MINUTE);
    let b = d.store.import_photo(&plain_jpeg(31), &opts).unwrap();
    let pending = d.store.photos_not_uploaded().unwrap();
    let shas: Vec<&str> = pending.iter().map(|p| p.photo.sha256.as_str()).collect();
    assert_eq!(shas, vec![a.sha256.as_str(), b.sha256.as_str()]);
    for p in &pending {
        assert!(!p.photo_uploaded && !p.thumb_uploaded);
        assert_eq!(p.thumb_sha256.len(), 64);
        assert!(p.thumb_bytes > 0 && p.thumb_bytes < p.photo.bytes);
    }
    assert_eq!(pending[0].imported_at_ms, MONDAY_9AM);
    assert_eq!(pending[1].imported_at_ms, MONDAY_9AM + MINUTE);
    // Importing a duplicate adds nothing to upload.
    d.store.import_photo(&plain_jpeg(30), &opts).unwrap();
    assert_eq!(d.store.photos_not_uploaded().unwrap().len(), 2);
}

#[test]
fn disk_usage_counts_photos_and_thumbnails() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let opts = PhotoOptions::default();
    let a = d.store.import_photo(&plain_jpeg(40), &opts).unwrap();
    let b = d.store.import_photo(&plain_jpeg(41), &opts).unwrap();
    d.store.import_photo(&plain_jpeg(40), &opts).unwrap();
    let usage = d.store.photo_disk_usage().unwrap();
    assert_eq!(usage.photos, 2);
    assert_eq!(usage.photo_bytes, a.bytes + b.bytes);
    let thumbs: u64 = [&a, &b]
        .iter()
        .map(|p| d.store.thumbnail(&p.sha256).unwrap().unwrap().len() as u64)
        .sum();
    assert_eq!(usage.thumbnails, 2);
    assert_eq!(usage.thumbnail_bytes, thumbs);
    assert_eq!(usage.total_bytes(), a.bytes + b.bytes + thumbs);
}

#[test]
fn an_unknown_photo_hash_is_refused_and_nothing_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let unknown = PhotoRef {
        sha256: "ab".repeat(32),
        bytes: 1000,
        width: 10,
        height: 10,
        capture: PhotoCapture::default(),
        thumb_sha256: None,
    };
    let err = d
        .store
        .record_case(
            &d.officer(),
            new_case(XIETU, MONDAY_9AM, vec![unknown.clone()]),
        )
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownPhoto(s) if *s == unknown.sha256),
        "{err}"
    );
    assert!(err.to_string().contains("import_photo"), "{err}");
    assert_eq!(
        d.store
            .document_count(wangge_core::doc::DocKind::Case)
            .unwrap(),
        0
    );

    // On an event of an existing case.
    let case = d
        .store
        .record_case(&d.officer(), new_case(XIETU, MONDAY_9AM, vec![]))
        .unwrap();
    let err = d
        .store
        .add_case_event(
            case,
            &d.officer(),
            CaseEventKind::Comment {
                text: "补充照片".into(),
                photos: vec![unknown.clone()],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPhoto(_)), "{err}");
    assert_eq!(d.store.case(case).unwrap().events.len(), 1);

    // A reference that lies about a stored photo's size.
    let real = d
        .store
        .import_photo(&plain_jpeg(50), &PhotoOptions::default())
        .unwrap();
    let lying = PhotoRef {
        bytes: real.bytes + 1,
        ..real.clone()
    };
    let err = d
        .store
        .record_case(&d.officer(), new_case(XIETU, MONDAY_9AM, vec![lying]))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");

    // A reference that claims another capture time than the photo's own metadata.
    let backdated = PhotoRef {
        capture: PhotoCapture {
            taken_at_ms: Some(MONDAY_9AM),
            gps: Some(XIETU),
        },
        ..real.clone()
    };
    let err = d
        .store
        .record_case(&d.officer(), new_case(XIETU, MONDAY_9AM, vec![backdated]))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    assert!(err.to_string().contains("import_photo"), "{err}");

    // On a zero report's matter.
    let err = d
        .store
        .file_zero_report(
            &d.staff(),
            "XT-W01",
            wangge_core::store::cst_day(MONDAY_9AM),
            ZeroReportEventKind::MatterRecorded {
                matter: MatterId::generate(),
                checklist_item: None,
                description: "楼道堆物已清理".into(),
                photos: vec![unknown],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPhoto(_)), "{err}");
    assert_eq!(
        d.store
            .zero_report("XT-W01", wangge_core::store::cst_day(MONDAY_9AM))
            .unwrap(),
        None
    );
}

#[test]
fn a_photo_read_back_from_its_case_attaches_again_with_its_exact_position() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", TAKEN_MS + 5 * MINUTE);
    // Xietu's longitude as the EXIF rationals 121°27'9.72" give it is 121.45270000000001, one of
    // the values serde_json without `float_roundtrip` read back 1 ULP off.
    let photo = d
        .store
        .import_photo(&camera_jpeg(70, XIETU), &PhotoOptions::default())
        .unwrap();
    let (_, lon) = photo.capture.gps.unwrap();
    assert_eq!(lon.to_bits(), 121.452_700_000_000_01_f64.to_bits());
    let case = d
        .store
        .record_case(
            &d.officer(),
            new_case(XIETU, d.store.now_ms(), vec![photo.clone()]),
        )
        .unwrap();

    // What the case document gives back is the reference that was attached, bit for bit.
    let header = d.store.case(case).unwrap().header;
    let read_back = header.photos[0].clone();
    assert_eq!(read_back, photo);
    let (lat, lon) = read_back.capture.gps.unwrap();
    let (lat0, lon0) = photo.capture.gps.unwrap();
    assert_eq!(
        (lat.to_bits(), lon.to_bits()),
        (lat0.to_bits(), lon0.to_bits())
    );

    // So attaching it again (the handling unit's "after" photo, a remark) is accepted.
    d.clock.advance(MINUTE);
    let record = d
        .store
        .add_case_event(
            case,
            &d.officer(),
            CaseEventKind::Comment {
                text: "同一张照片".into(),
                photos: vec![read_back.clone()],
            },
        )
        .unwrap();
    assert_eq!(record.events.last().unwrap().kind.photos(), &[read_back]);
}

#[test]
fn a_photo_ref_names_the_thumbnail_made_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let photo = d
        .store
        .import_photo(&plain_jpeg(80), &PhotoOptions::default())
        .unwrap();
    let thumb = d.store.thumbnail(&photo.sha256).unwrap().unwrap();
    assert_eq!(photo.thumb_sha256, Some(sha_hex(&thumb)));
    let stored = d.store.stored_photo(&photo.sha256).unwrap().unwrap();
    assert_eq!(stored.photo, photo);
    assert_eq!(
        stored.photo.thumb_sha256.as_ref(),
        Some(&stored.thumb_sha256)
    );
    assert_eq!(d.store.photos_not_uploaded().unwrap()[0].photo, photo);

    // The thumbnail's name travels in the document.
    let case = d
        .store
        .record_case(
            &d.officer(),
            new_case(XIETU, MONDAY_9AM, vec![photo.clone()]),
        )
        .unwrap();
    assert_eq!(
        d.store.case(case).unwrap().header.photos,
        vec![photo.clone()]
    );

    // A reference naming another thumbnail is refused, and nothing is recorded.
    let other_thumb = PhotoRef {
        thumb_sha256: Some("ab".repeat(32)),
        ..photo.clone()
    };
    let comment = |photos| CaseEventKind::Comment {
        text: "补充照片".into(),
        photos,
    };
    let err = d
        .store
        .add_case_event(case, &d.officer(), comment(vec![other_thumb]))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("thumbnail") && msg.contains("import_photo"),
        "{msg}"
    );
    // A malformed thumbnail hash is refused before the store is asked.
    let malformed = PhotoRef {
        thumb_sha256: Some("not a hash".into()),
        ..photo.clone()
    };
    let err = d
        .store
        .add_case_event(case, &d.officer(), comment(vec![malformed]))
        .unwrap_err();
    assert!(err.to_string().contains("thumbnail hash"), "{err}");
    assert_eq!(d.store.case(case).unwrap().events.len(), 1);

    // A reference from a document written before references named their thumbnail claims
    // nothing about it, and may still be attached.
    let legacy = PhotoRef {
        thumb_sha256: None,
        ..photo.clone()
    };
    d.store
        .add_case_event(case, &d.officer(), comment(vec![legacy]))
        .unwrap();
    assert_eq!(d.store.case(case).unwrap().events.len(), 2);
}

/// The JPEG `jpeg` cut in the middle of its picture data and closed with an End Of Image
/// marker: the structure is complete, half the picture is missing.
fn cut_and_closed(jpeg: &[u8]) -> Vec<u8> {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let data = sos + 2 + usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    let mut cut = jpeg[..data + (jpeg.len() - data) / 2].to_vec();
    cut.extend_from_slice(&[0xFF, 0xD9]);
    cut
}

/// A small valid JPEG whose frame header is patched to declare `width`×`height` pixels.
fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg_of(&picture(90, 64, 48));
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

#[test]
fn a_photo_that_does_not_decode_completely_is_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let opts = PhotoOptions::default();

    let whole = camera_jpeg(91, XIETU);
    let cut = cut_and_closed(&whole);
    assert!(cut.ends_with(&[0xFF, 0xD9]) && cut.len() < whole.len());
    let err = d.store.import_photo(&cut, &opts).unwrap_err();
    let Error::Photo(PhotoError::Corrupt {
        format: PhotoFormat::Jpeg,
        ..
    }) = &err
    else {
        panic!("expected a corrupt photo, got {err:?}");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("cut short") && msg.contains("take or copy the photo again"),
        "{msg}"
    );

    let declaring = jpeg_declaring(8000, 6000);
    assert!(declaring.len() < 4 * 1024, "{} bytes", declaring.len());
    let err = d.store.import_photo(&declaring, &opts).unwrap_err();
    let Error::Photo(PhotoError::Implausible {
        width: 8000,
        height: 6000,
        ..
    }) = &err
    else {
        panic!("expected an implausible photo, got {err:?}");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("declares 8000×6000 pixels but holds only")
            && msg.contains("KB")
            && msg.contains("damaged or truncated; take the photo again"),
        "{msg}"
    );

    let path = d.store.path().to_owned();
    for table in ["photos", "photo_data", "photo_thumbs"] {
        assert_eq!(count(&path, table), 0, "{table}");
    }
    assert!(d.store.photos_not_uploaded().unwrap().is_empty());
    // The whole photo imports.
    d.store.import_photo(&whole, &opts).unwrap();
    assert_eq!(count(&path, "photos"), 1);
}

#[test]
fn a_received_case_lists_its_thumbnails_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let a = Device::open(dir.path(), "a", MONDAY_9AM);
    let b = Device::open(dir.path(), "b", MONDAY_9AM);
    let photo = a
        .store
        .import_photo(&plain_jpeg(60), &PhotoOptions::default())
        .unwrap();
    let case = a
        .store
        .record_case(
            &a.officer(),
            new_case(XIETU, MONDAY_9AM, vec![photo.clone()]),
        )
        .unwrap();
    assert!(a.store.thumbnails_missing(10).unwrap().is_empty());
    let bytes = a.store.document_bytes(&case.to_string()).unwrap().unwrap();
    b.store.merge_document(&case.to_string(), &bytes).unwrap();
    assert_eq!(
        b.store.thumbnails_missing(10).unwrap(),
        vec![photo.sha256.clone()]
    );
    // B cannot show it yet, nor attach it: it holds neither the photo nor its thumbnail.
    assert!(b.store.case_thumbnails(case).unwrap().is_empty());
    // Yet it judges the evidence as A does: the capture facts travel in the document.
    let evidence = b.store.photo_evidence(case).unwrap();
    assert_eq!(evidence, a.store.photo_evidence(case).unwrap());
    assert_eq!(
        flags_of(evidence),
        vec![(
            photo.sha256.clone(),
            vec![EvidenceFlag::NoCaptureTime, EvidenceFlag::NoPosition]
        )]
    );
    let err = b
        .store
        .record_case(&b.officer(), new_case(XIETU, MONDAY_9AM, vec![photo]))
        .unwrap_err();
    assert!(matches!(err, Error::UnknownPhoto(_)), "{err}");
    // The references are a projection: rebuilt from the documents.
    b.store.rebuild_projections().unwrap();
    assert_eq!(b.store.thumbnails_missing(10).unwrap().len(), 1);
}

const CHILD_ENV: &str = "WANGGE_PHOTO_CRASH_CHILD_STORE";
const DEVICE_ENV: &str = "WANGGE_PHOTO_CRASH_CHILD_DEVICE";
const ROUND_ENV: &str = "WANGGE_PHOTO_CRASH_CHILD_ROUND";
const CRASH_TEST: &str = "a_killed_importer_leaves_no_partial_photo";

/// The child: imports distinct photos forever, printing each hash once the call returns.
fn child_loop(path: &str, device: &str, round: u64) -> ! {
    let device = DeviceId::parse(device).unwrap();
    let store = Store::open(path, device, catalog(), Arc::new(SystemClock)).unwrap();
    let opts = PhotoOptions::default();
    let mut img = picture(round, 480, 360);
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let seed = round * 1_000_000 + i;
        for y in 0..32 {
            for x in 0..32 {
                img.put_pixel(
                    x,
                    y,
                    Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8]),
                );
            }
        }
        let photo = store.import_photo(&jpeg_of(&img), &opts).unwrap();
        writeln!(out, "imported {}", photo.sha256).unwrap();
        out.flush().unwrap();
    }
    unreachable!()
}

#[test]
fn a_killed_importer_leaves_no_partial_photo() {
    if let (Ok(path), Ok(device), Ok(round)) = (
        std::env::var(CHILD_ENV),
        std::env::var(DEVICE_ENV),
        std::env::var(ROUND_ENV),
    ) {
        child_loop(&path, &device, round.parse().unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("photo-crash.sqlite3");
    let device = DeviceId::generate();
    let mut acknowledged: Vec<String> = Vec::new();
    for round in 0..3u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", CRASH_TEST, "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, &path)
            .env(DEVICE_ENV, device.to_string())
            .env(ROUND_ENV, (round + 1).to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill after a varying number of acknowledged imports, while the child is in the
        // middle of the next one (most of an import is preparing; the kill lands in the
        // transaction now and then, and the check below must hold either way).
        let target = 4 + round as usize * 3;
        let mut seen = 0;
        for line in lines.by_ref() {
            if let Some(sha) = line.unwrap().strip_prefix("imported ") {
                acknowledged.push(sha.to_owned());
                seen += 1;
                if seen == target {
                    break;
                }
            }
        }
        // A short, varying delay moves the kill across the phases of the next import.
        std::thread::sleep(std::time::Duration::from_millis(3 + 7 * round));
        child.kill().unwrap(); // SIGKILL
        for line in lines.map_while(Result::ok) {
            if let Some(sha) = line.strip_prefix("imported ") {
                acknowledged.push(sha.to_owned());
            }
        }
        assert!(
            !child.wait().unwrap().success(),
            "the child must have been killed"
        );
    }
    assert!(acknowledged.len() >= 4 + 7 + 10);

    let store = Store::open(&path, device, catalog(), Arc::new(SystemClock)).unwrap();
    let conn = Connection::open(&path).unwrap();
    let ok: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    // Every blob hashes to its name, and every photo has both blobs and its row.
    let mut stmt = conn.prepare("SELECT sha256, jpeg FROM photo_data").unwrap();
    let data: Vec<(String, Vec<u8>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (sha, jpeg) in &data {
        assert_eq!(&sha_hex(jpeg), sha, "a photo's bytes do not match its hash");
    }
    let mut stmt = conn
        .prepare("SELECT thumb_sha256, jpeg FROM photo_thumbs")
        .unwrap();
    for row in stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .unwrap()
    {
        let (sha, jpeg) = row.unwrap();
        assert_eq!(
            sha_hex(&jpeg),
            sha,
            "a thumbnail's bytes do not match its hash"
        );
    }
    let orphans: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM photos p WHERE NOT EXISTS (SELECT 1 FROM photo_data d WHERE d.sha256 = p.sha256)
                 OR NOT EXISTS (SELECT 1 FROM photo_thumbs t WHERE t.sha256 = p.sha256))
             + (SELECT count(*) FROM photo_data d WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = d.sha256))
             + (SELECT count(*) FROM photo_thumbs t WHERE NOT EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = t.sha256))",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "a photo was stored in part");
    assert_eq!(count(&path, "photos"), data.len() as i64);
    for sha in &acknowledged {
        let bytes = store
            .photo_bytes(sha)
            .unwrap()
            .unwrap_or_else(|| panic!("acknowledged photo {sha} lost"));
        assert_eq!(&sha_hex(&bytes), sha);
        assert!(store.thumbnail(sha).unwrap().is_some());
    }
    // And the store still imports.
    store
        .import_photo(&plain_jpeg(999), &PhotoOptions::default())
        .unwrap();
}
