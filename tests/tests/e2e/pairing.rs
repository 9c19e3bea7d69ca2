//! Enrolment by pairing code over real HTTP: the back office makes a one-time code for a
//! person, a phone exchanges it at `POST /v1/enrol` for its device id and token (kept in its
//! store), and syncs with it. A code is single use, expires, is refused for a person who left,
//! locks after a few wrong guesses (and locks nothing else); re-enrolment and revocation show
//! on the phone; neither the code nor the token reaches a log line or the server's database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use wangge_core::{
    Clock, DeviceId, Error, NewCase, Role, Store, SyncClient, SyncConfig, SyncError,
};
use wangge_e2e::logs::captured_logs;
use wangge_e2e::*;
use wangge_server::pairing::{self, NewPairingCode};
use wangge_server::storage::{DeviceRole, Person, Storage};

/// A grid officer of block XT-B1 in the register (active unless told).
pub(crate) fn officer(staff_id: &str, active: bool) -> Person {
    Person {
        staff_id: staff_id.into(),
        name: format!("测试人员{staff_id}"),
        roles: vec![Role::GridOfficer],
        admin: false,
        units: vec![],
        blocks: vec!["XT-B1".into()],
        workstations: vec![],
        active,
    }
}

/// Adds `person` to the register and makes a pairing code for a field device of theirs (the
/// person's blocks and workstations), valid `minutes` from the server's clock, as
/// `wangge-server pair` does. Returns the code as people read it (`ABC-DEFGH`).
pub(crate) fn make_code(server: &TestServer, person: &Person, minutes: i64) -> String {
    server
        .storage
        .upsert_roster(std::slice::from_ref(person), &[])
        .unwrap();
    let now = server.clock.now_ms();
    loop {
        let code = pairing::new_code().unwrap();
        let stored = server
            .storage
            .create_pairing_code(&NewPairingCode {
                code_id: pairing::code_id(&code).to_owned(),
                code_hash: pairing::hash_code(&code),
                staff_id: person.staff_id.clone(),
                device_name: None,
                role: DeviceRole::Field,
                scope: scope(&["XT-B1"], &[], &[]),
                created_at: now,
                expires_at: now + minutes * 60_000,
            })
            .unwrap();
        if stored {
            return pairing::display(&code);
        }
    }
}

/// A phone's fresh store (its device id generated at install).
pub(crate) fn phone(dir: &std::path::Path, name: &str) -> Store {
    Store::open(
        dir.join(format!("{name}.sqlite3")),
        DeviceId::generate(),
        catalog(),
        Arc::new(wangge_core::ManualClock::new(MONDAY_9AM)),
    )
    .unwrap()
}

pub(crate) fn config(server: &TestServer) -> SyncConfig {
    let mut config = SyncConfig::new(&server.base, "");
    config.initial_backoff = Duration::from_millis(20);
    config.max_attempts = 3;
    config
}

/// The paired store's own sync client.
pub(crate) fn paired_client(store: &Store) -> SyncClient {
    SyncClient::new(store.paired_sync_config().unwrap().unwrap()).unwrap()
}

#[track_caller]
fn refusal(result: wangge_core::Result<impl std::fmt::Debug>) -> String {
    match result {
        Err(Error::Sync(SyncError::PairingRefused { code, message })) => {
            assert!(!message.is_empty());
            code
        }
        other => panic!("expected a pairing refusal, got {other:?}"),
    }
}

fn post_enrol(server: &TestServer, body: &str) -> (u16, serde_json::Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/enrol", server.base))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().unwrap())
}

#[test]
fn a_paired_phone_syncs_with_the_token_it_received_and_answers_for_its_scope() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let code = make_code(&server, &officer("XT-GO-101", true), 15);
    let store = phone(dir.path(), "phone");
    assert_eq!(store.paired().unwrap(), None);

    let paired = store
        .pair(
            &config(&server),
            &code.to_lowercase(),
            Some("网格一组-手持07"),
        )
        .unwrap();
    assert_eq!(paired.device_id, store.device());
    assert_eq!(paired.name, "网格一组-手持07");
    assert_eq!(paired.person.as_ref().unwrap().staff_id, "XT-GO-101");
    assert_eq!(paired.scope.blocks, vec!["XT-B1"]);
    assert!(!paired.reenrolled && !paired.revoked);
    assert_eq!(store.paired().unwrap().as_ref(), Some(&paired));
    // The missing-filing query answers for the block the server named.
    assert_eq!(
        store.workstations_in_scope().unwrap(),
        vec!["XT-W01", "XT-W02", "XT-W03", "XT-W04", "XT-W05"]
    );
    // The server enrolled the store's own id to the person.
    let device = server
        .storage
        .devices()
        .unwrap()
        .into_iter()
        .find(|d| d.device_id == store.device().to_string())
        .unwrap();
    assert_eq!(device.person.as_deref(), Some("XT-GO-101"));
    assert_eq!(device.role, DeviceRole::Field);

    // The store acts as the person, and syncs with the token it keeps.
    let me = wangge_core::Actor {
        id: "XT-GO-101".into(),
        role: Role::GridOfficer,
        unit: None,
        device: store.device(),
    };
    let case = store
        .record_case(
            &me,
            NewCase::from_handheld("A04-001", "流动摊贩", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    let someone_else = wangge_core::Actor {
        id: "XT-GO-999".into(),
        ..me.clone()
    };
    assert!(
        store
            .record_case(
                &someone_else,
                NewCase::from_handheld("A04-001", "x", fix_in("XT-W01-U1", MONDAY_9AM))
            )
            .is_err(),
        "the paired store acts as its person only"
    );
    let progress = paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert_eq!((progress.docs_sent, progress.docs_refused), (1, 0));
    assert!(server.storage.case(&case.to_string()).unwrap().is_some());

    // Reopened, the store still knows its pairing and its person.
    let path = store.path().to_owned();
    let id = store.device();
    drop(store);
    let store = Store::open(&path, id, catalog(), Arc::new(wangge_core::SystemClock)).unwrap();
    assert!(
        store
            .record_case(
                &someone_else,
                NewCase::from_handheld("A04-001", "x", fix_in("XT-W01-U1", MONDAY_9AM))
            )
            .is_err()
    );
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
}

#[test]
fn a_code_is_single_use_expires_and_is_refused_for_a_person_who_left() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let code = make_code(&server, &officer("XT-GO-102", true), 15);
    let first = phone(dir.path(), "first");
    first.pair(&config(&server), &code, None).unwrap();

    // Reused, by another phone or the same one.
    let second = phone(dir.path(), "second");
    assert_eq!(
        refusal(second.pair(&config(&server), &code, None)),
        "pairing_code_used"
    );
    assert_eq!(second.paired().unwrap(), None, "nothing stored");
    assert_eq!(
        refusal(first.pair(&config(&server), &code, None)),
        "pairing_code_used"
    );

    // Expired: 15 minutes, by the server's clock.
    let late = make_code(&server, &officer("XT-GO-103", true), 15);
    server.clock.advance(15 * 60_000 + 1);
    assert_eq!(
        refusal(second.pair(&config(&server), &late, None)),
        "pairing_code_expired"
    );

    // The person left between the code and the exchange.
    let code = make_code(&server, &officer("XT-GO-104", true), 15);
    server
        .storage
        .upsert_roster(&[officer("XT-GO-104", false)], &[])
        .unwrap();
    assert_eq!(
        refusal(second.pair(&config(&server), &code, None)),
        "person_inactive"
    );
    // Back in the register, the same code works (it was not consumed).
    server
        .storage
        .upsert_roster(&[officer("XT-GO-104", true)], &[])
        .unwrap();
    second.pair(&config(&server), &code, None).unwrap();

    // Every refusal is JSON with its code, with the HTTP status the protocol names.
    let (status, body) = post_enrol(&server, &format!(r#"{{"code": "{code}"}}"#));
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("pairing_code_used"))
    );
    let (status, body) = post_enrol(&server, r#"{"code": "222-22222"}"#);
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("pairing_code_unknown"))
    );
    let (status, body) = post_enrol(&server, r#"{"code": "not a code"}"#);
    assert_eq!(
        (status, body["error"].as_str()),
        (404, Some("pairing_code_unknown"))
    );
    let (status, body) = post_enrol(&server, r#"{"code": 7}"#);
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("invalid_json"))
    );
    let (status, body) = post_enrol(&server, "{");
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("malformed_json"))
    );
    let (status, body) = post_enrol(
        &server,
        &format!(
            r#"{{"code": "ABC-DEFGH", "device_name": "{}"}}"#,
            "x".repeat(5000)
        ),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large"))
    );
}

#[test]
fn wrong_guesses_lock_their_code_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let code = make_code(&server, &officer("XT-GO-105", true), 15);
    let other = make_code(&server, &officer("XT-GO-106", true), 15);
    let normal = pairing::normalize(&code).unwrap();
    // Wrong secrets under the code's id.
    let wrong: Vec<String> = pairing::ALPHABET
        .iter()
        .map(|&c| format!("{}{}", &normal[..7], char::from(c)))
        .filter(|guess| *guess != normal)
        .take(pairing::MAX_WRONG_ATTEMPTS as usize)
        .collect();
    let store = phone(dir.path(), "phone");
    for guess in &wrong {
        assert_eq!(
            refusal(store.pair(&config(&server), guess, None)),
            "pairing_code_unknown"
        );
    }
    assert_eq!(
        refusal(store.pair(&config(&server), &code, None)),
        "pairing_code_locked"
    );
    // Another person's code is untouched.
    store.pair(&config(&server), &other, None).unwrap();
}

#[test]
fn reenrolment_and_revocation_show_on_the_phone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let person = officer("XT-GO-107", true);
    let store = phone(dir.path(), "phone");
    store
        .pair(&config(&server), &make_code(&server, &person, 15), None)
        .unwrap();
    let old = store.paired_sync_config().unwrap().unwrap();
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();

    // The back office revokes the phone: the next sync says so, and the store keeps it.
    assert!(
        server
            .storage
            .revoke(&store.device().to_string(), MONDAY_9AM)
            .unwrap()
    );
    let err = paired_client(&store).sync(&store, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Sync(SyncError::Revoked(_))), "{err}");
    assert!(err.to_string().contains("pair it again"), "{err}");
    assert!(store.paired().unwrap().unwrap().revoked);

    // Paired again with a new code: the same device id, a new token, no longer revoked.
    let again = store
        .pair(&config(&server), &make_code(&server, &person, 15), None)
        .unwrap();
    assert!(again.reenrolled && !again.revoked);
    assert_eq!(again.device_id, store.device());
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    let devices = server.storage.devices().unwrap();
    assert_eq!(devices.len(), 1, "re-enrolled, not a second device");
    assert_eq!(devices[0].revoked_at, None);
    // The old token no longer works.
    let err = SyncClient::new(old).unwrap().enrolment().unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::Unauthorized(_))),
        "{err}"
    );

    // Another person's code cannot take over this phone's id while it is active.
    let intruder = officer("XT-GO-108", true);
    let code = make_code(&server, &intruder, 15);
    let (status, body) = post_enrol(
        &server,
        &format!(r#"{{"code": "{code}", "device_id": "{}"}}"#, store.device()),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("device_id_taken"))
    );
}

#[test]
fn neither_the_code_nor_the_token_reaches_a_log_or_the_servers_database() {
    let logs = captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let code = make_code(&server, &officer("XT-GO-109", true), 15);
    let store = phone(dir.path(), "phone");
    store.pair(&config(&server), &code, None).unwrap();
    let token = store.paired_sync_config().unwrap().unwrap().token;
    assert!(token.starts_with("wgt_"));
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    // Refusals with the same code are logged too.
    let other = phone(dir.path(), "other");
    refusal(other.pair(&config(&server), &code, None));
    tracing::info!(target: "wangge_server", "marker: the capture works");

    let secrets = [
        token.clone(),
        token.trim_start_matches("wgt_").to_owned(),
        pairing::normalize(&code).unwrap(),
        code.clone(),
    ];
    let logged = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(logged.contains("marker: the capture works"));
    let audit =
        serde_json::to_string(&server.storage.audit_log(i64::MIN, 10_000).unwrap()).unwrap();
    assert!(audit.contains("/v1/enrol"), "{audit}");
    assert!(audit.contains("enrolled by pairing code"), "{audit}");
    assert!(audit.contains("pairing_code_used"), "{audit}");
    let device = store.device().to_string();
    assert!(
        audit.contains(&device) && audit.contains("XT-GO-109"),
        "{audit}"
    );
    server.stop();
    let mut database = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("server.sqlite3")
        {
            database.extend(std::fs::read(path).unwrap());
        }
    }
    let database = String::from_utf8_lossy(&database);
    for secret in &secrets {
        assert!(!logged.contains(secret.as_str()), "a log holds {secret}");
        assert!(
            !audit.contains(secret.as_str()),
            "the audit log holds {secret}"
        );
        assert!(
            !database.contains(secret.as_str()),
            "the database holds {secret}"
        );
    }
}
