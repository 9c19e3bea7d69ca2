//! Several server instances on one PostgreSQL database (issue 11): three `wangge-server
//! serve` processes share a database, twenty phones sync through randomly chosen instances
//! while the centre registers and dispatches through others. At the end every phone holds
//! exactly the cases of its scope, each as the server holds it; the server holds every
//! change a phone was told it has; no case number was handed out twice.
//!
//! Needs `WANGGE_TEST_POSTGRES` (see `wangge_server::storage::postgres::testing`); the seed
//! comes from `WANGGE_INSTANCES_SEED` or the clock, and is printed, so a failure can be run
//! again exactly (`scripts/instances.sh` runs it with 20 seeds).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use geo::InteriorPoint;
use wangge_core::{
    Actor, CaseQuery, Catalog, DeviceId, GpsFix, ManualClock, NewCase, Role, Store, SyncClient,
    SyncConfig,
};
use wangge_server::storage::postgres::testing::{TestSchema, test_database};

#[path = "support/process.rs"]
mod process;
use process::{Server, cli, free_port, wait_until};

/// 2024-04-29 09:00 in Shanghai (ms): the phones' clock.
const MONDAY_9AM: i64 = 1_714_352_400_000;
/// Cases each phone records.
const CASES_PER_PHONE: usize = 3;
/// Syncs each phone makes while the centre works.
const SYNCS_PER_PHONE: usize = 4;

/// A small deterministic generator (xorshift64*): the test's choices follow from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

/// Counts a finished phone thread when dropped.
struct Done<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

fn serve(db: &str) -> (Server, String) {
    let port = free_port();
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_wangge-server"))
            .arg("serve")
            .env("WANGGE_DB", db)
            .env("WANGGE_DB_POOL", "4")
            .env("WANGGE_LISTEN", format!("127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_until("an instance answers /ready", || {
        reqwest::blocking::get(format!("{base}/ready")).is_ok_and(|r| r.status().is_success())
    });
    (server, base)
}

/// One phone: its person, scope and store.
struct Phone {
    person: String,
    device: DeviceId,
    token: String,
    blocks: Vec<String>,
    workstations: Vec<String>,
    teams: Vec<String>,
    store: Store,
    /// The cell its officer works in.
    cell: String,
}

impl Phone {
    fn actor(&self, role: Role) -> Actor {
        Actor {
            id: self.person.clone(),
            role,
            unit: None,
            device: self.device,
        }
    }

    fn role(&self) -> Role {
        if self.person.starts_with("XT-WS-") {
            Role::WorkstationStaff
        } else {
            Role::GridOfficer
        }
    }

    /// Syncs through the instance at `base`, to the end of the feed.
    fn sync(&self, base: &str) -> wangge_core::Result<wangge_core::SyncProgress> {
        let mut config = SyncConfig::new(base, &self.token);
        // Small pages: a pull crosses several responses and cursors while others write.
        config.pull_batch_docs = 4;
        config.max_attempts = 4;
        config.initial_backoff = Duration::from_millis(20);
        SyncClient::new(config)
            .unwrap()
            .sync(&self.store, &mut |_| {})
    }
}

/// A cell of the phone's scope: its workstation's first unit grid, or one of its block's.
fn cell_of(catalog: &Catalog, blocks: &[String], workstations: &[String]) -> String {
    let workstation = workstations.first().cloned().unwrap_or_else(|| {
        (1..=18)
            .map(|n| format!("XT-W{n:02}"))
            .find(|w| {
                catalog
                    .grids
                    .cell(w)
                    .and_then(|c| c.parent())
                    .is_some_and(|b| blocks.iter().any(|x| x == b))
            })
            .expect("every demo block has a workstation")
    });
    format!("{workstation}-U1")
}

fn fix_in(catalog: &Catalog, cell: &str) -> GpsFix {
    let p = catalog
        .grids
        .cell(cell)
        .unwrap()
        .geometry()
        .interior_point()
        .unwrap();
    let (lat, lon) = catalog.grids.datum().to_wgs84(p.y(), p.x());
    GpsFix {
        lat,
        lon,
        accuracy_m: 5.0,
        fix_time_ms: MONDAY_9AM,
    }
}

fn strings(v: &serde_json::Value, key: &str) -> Vec<String> {
    v[key]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Enrols a phone to `person` through the CLI and opens its store in `dir`.
fn enrol(db: &str, dir: &Path, catalog: &Arc<Catalog>, person: &str, n: usize) -> Phone {
    let (out, err) = cli(
        db,
        &[
            "enroll",
            "--name",
            &format!("手持{n:02}"),
            "--person",
            person,
        ],
    );
    let field = |name: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let scope: serde_json::Value = err
        .lines()
        .find_map(|l| l.split_once("; scope ").map(|(_, s)| s))
        .map(|s| serde_json::from_str(s).unwrap())
        .unwrap();
    let device = DeviceId::parse(&field("device_id")).unwrap();
    let (blocks, workstations) = (strings(&scope, "blocks"), strings(&scope, "workstations"));
    let store = Store::open(
        dir.join(format!("phone{n:02}.sqlite3")),
        device,
        catalog.clone(),
        Arc::new(ManualClock::new(MONDAY_9AM)),
    )
    .unwrap();
    Phone {
        person: person.to_owned(),
        device,
        token: field("token"),
        cell: cell_of(catalog, &blocks, &workstations),
        teams: strings(&scope, "teams"),
        blocks,
        workstations,
        store,
    }
}

/// What the database holds: each case's scope keys and heads, and every case number.
struct ServerView {
    cases: BTreeMap<String, StoredCase>,
    numbers: Vec<String>,
}

struct StoredCase {
    block: Option<String>,
    workstation: Option<String>,
    reporter_device: Option<String>,
    teams: Vec<String>,
    heads: Vec<automerge::ChangeHash>,
}

fn heads_of(bytes: &[u8]) -> Vec<automerge::ChangeHash> {
    let mut heads = automerge::AutoCommit::load(bytes).unwrap().get_heads();
    heads.sort();
    heads
}

fn server_view(db: &str) -> ServerView {
    let mut client = postgres::Client::connect(db, postgres::NoTls).unwrap();
    let mut cases = BTreeMap::new();
    for r in client
        .query(
            "SELECT doc_id, block, workstation, reporter_device, teams::text, data
             FROM documents WHERE kind = 'case'",
            &[],
        )
        .unwrap()
    {
        let teams: String = r.get(4);
        let data: Vec<u8> = r.get(5);
        cases.insert(
            r.get(0),
            StoredCase {
                block: r.get(1),
                workstation: r.get(2),
                reporter_device: r.get(3),
                teams: serde_json::from_str(&teams).unwrap(),
                heads: heads_of(&data),
            },
        );
    }
    let numbers = client
        .query(
            "SELECT case_number FROM case_view WHERE case_number IS NOT NULL",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    ServerView { cases, numbers }
}

impl StoredCase {
    fn in_scope_of(&self, phone: &Phone) -> bool {
        let has =
            |list: &[String], v: &Option<String>| v.as_ref().is_some_and(|v| list.contains(v));
        has(&phone.blocks, &self.block)
            || has(&phone.workstations, &self.workstation)
            || self.reporter_device.as_deref() == Some(phone.device.to_string().as_str())
            || self.teams.iter().any(|t| phone.teams.contains(t))
    }
}

/// The people the twenty phones are enrolled to: the eight active officers of the demo
/// roster (blocks, some with teams) and twelve workstations.
fn people() -> Vec<String> {
    let officers = (1..=8).map(|n| format!("XT-GO-{n:03}"));
    let workstations = (1..=12).map(|n| format!("XT-WS-{n:03}"));
    officers.chain(workstations).collect()
}

/// Units the centre dispatches to: teams some officers belong to, and others.
const UNITS: [&str; 4] = ["城管中队", "巡查执法一队", "巡查执法二队", "市容所"];

#[test]
fn three_instances_twenty_phones_one_database_nothing_skipped_no_number_twice() {
    let Some(url) = test_database("three_instances_twenty_phones_one_database") else {
        return;
    };
    let seed: u64 = std::env::var("WANGGE_INSTANCES_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    println!("seed {seed} (WANGGE_INSTANCES_SEED={seed} runs this again)");
    let schema = TestSchema::new(&url);
    let db = schema.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    let catalog = Arc::new(Catalog::demo().unwrap());

    cli(db, &["migrate"]);
    let roster = concat!(env!("CARGO_MANIFEST_DIR"), "/data/roster-demo.json");
    cli(db, &["roster", "import", roster]);
    let phones: Vec<Phone> = people()
        .iter()
        .enumerate()
        .map(|(n, person)| enrol(db, dir.path(), &catalog, person, n))
        .collect();
    let (out, _) = cli(db, &["enroll", "--name", "中心", "--person", "XT-CC-001"]);
    let centre_token = out
        .lines()
        .find_map(|l| l.strip_prefix("token="))
        .unwrap()
        .to_owned();

    let servers: Vec<(Server, String)> = (0..3).map(|_| serve(db)).collect();
    let bases: Vec<String> = servers.iter().map(|(_, b)| b.clone()).collect();

    // Every case number the centre was given, by case.
    let numbered: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let phones_done = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for (n, phone) in phones.iter().enumerate() {
            let bases = &bases;
            let catalog = &catalog;
            let phones_done = &phones_done;
            s.spawn(move || {
                // Counted when the thread ends, panicking or not, so the centre stops.
                let _done = Done(phones_done);
                let mut rng = Rng((seed ^ (n as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1);
                let mut recorded = 0;
                for round in 0..SYNCS_PER_PHONE {
                    while recorded < CASES_PER_PHONE * (round + 1) / SYNCS_PER_PHONE {
                        let new = NewCase::from_handheld(
                            "A01-001",
                            &format!("暴露垃圾 {n}-{recorded}"),
                            fix_in(catalog, &phone.cell),
                        );
                        phone
                            .store
                            .record_case(&phone.actor(phone.role()), new)
                            .unwrap();
                        recorded += 1;
                    }
                    std::thread::sleep(Duration::from_millis(rng.below(150) as u64));
                    // A failed round (an instance busy past the retries) is retried later:
                    // nothing the phone recorded is lost, which the end checks.
                    let _ = phone.sync(&bases[rng.below(bases.len())]);
                }
            });
        }
        // The centre: registers what has arrived and dispatches what is registered, through
        // randomly chosen instances, until the phones are done.
        s.spawn(|| {
            let mut rng = Rng(seed | 1);
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap();
            let mut dispatched = BTreeSet::new();
            let mut admin = postgres::Client::connect(db, postgres::NoTls).unwrap();
            loop {
                let done = phones_done.load(std::sync::atomic::Ordering::SeqCst) == phones.len();
                let rows = admin
                    .query(
                        "SELECT case_id, case_number FROM case_view ORDER BY case_id",
                        &[],
                    )
                    .unwrap();
                for r in rows {
                    if rng.below(3) != 0 {
                        continue;
                    }
                    let (id, number): (String, Option<String>) = (r.get(0), r.get(1));
                    let base = &bases[rng.below(bases.len())];
                    let answer = if number.is_none() {
                        http.post(format!("{base}/v1/cases/{id}/register"))
                            .bearer_auth(&centre_token)
                            .json(&serde_json::json!({}))
                            .send()
                            .unwrap()
                    } else if dispatched.insert(id.clone()) {
                        let unit = UNITS[rng.below(UNITS.len())];
                        http.post(format!("{base}/v1/cases/{id}/events"))
                            .bearer_auth(&centre_token)
                            .json(&serde_json::json!({"type": "dispatched", "units": [unit]}))
                            .send()
                            .unwrap()
                    } else {
                        continue;
                    };
                    let status = answer.status();
                    let body: serde_json::Value = answer.json().unwrap();
                    // A registration racing another one is refused by the case rules (409),
                    // never answered with a second number.
                    assert!(
                        status.is_success() || status.as_u16() == 409,
                        "seed {seed}: the centre's action on {id}: {status} {body}"
                    );
                    if let Some(number) = body["state"]["case_number"].as_str() {
                        let previous = numbered
                            .lock()
                            .unwrap()
                            .insert(id.clone(), number.to_owned());
                        assert!(
                            previous.as_deref().is_none_or(|p| p == number),
                            "seed {seed}: case {id} numbered {previous:?} then {number}"
                        );
                    }
                }
                if done {
                    break;
                }
                std::thread::sleep(Duration::from_millis(rng.below(100) as u64));
            }
        });
    });

    // Everyone syncs to the end of the feed, through any instance: a first pass delivers
    // what a phone's last round may not have, the second brings every phone up to date.
    let mut rng = Rng(seed.rotate_left(17) | 1);
    for _ in 0..2 {
        for phone in &phones {
            let progress = phone.sync(&bases[rng.below(bases.len())]).unwrap();
            assert_eq!(
                progress.docs_refused, 0,
                "seed {seed}: {} had a refusal",
                phone.person
            );
            assert_eq!(phone.store.pending_count().unwrap(), 0);
        }
    }

    let view = server_view(db);
    assert_eq!(
        view.cases.len(),
        phones.len() * CASES_PER_PHONE,
        "seed {seed}: every recorded case is on the server"
    );
    // No number twice, and every number the centre was given is the stored one.
    let distinct: BTreeSet<&String> = view.numbers.iter().collect();
    assert_eq!(
        distinct.len(),
        view.numbers.len(),
        "seed {seed}: a case number repeats"
    );
    let numbered = numbered.into_inner().unwrap();
    assert!(
        !numbered.is_empty(),
        "seed {seed}: the centre registered cases"
    );
    for (id, number) in &numbered {
        let record = phones
            .iter()
            .find_map(|p| p.store.case(id.parse().unwrap()).ok());
        if let Some(record) = record {
            assert_eq!(record.state.case_number.as_ref(), Some(number));
        }
    }
    let dispatched = view.cases.values().filter(|c| !c.teams.is_empty()).count();
    println!(
        "seed {seed}: {} cases, {} numbered, {} with a team among their scope keys",
        view.cases.len(),
        view.numbers.len(),
        dispatched
    );
    // Every phone holds exactly its scope, each case as the server holds it.
    for phone in &phones {
        let held: BTreeSet<String> = phone
            .store
            .cases(&CaseQuery {
                limit: Some(100_000),
                ..CaseQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let scope: BTreeSet<String> = view
            .cases
            .iter()
            .filter(|(_, c)| c.in_scope_of(phone))
            .map(|(id, _)| id.clone())
            .collect();
        assert_eq!(
            held, scope,
            "seed {seed}: {} holds exactly its scope",
            phone.person
        );
        for id in &held {
            let bytes = phone.store.document_bytes(id).unwrap().unwrap();
            assert_eq!(
                heads_of(&bytes),
                view.cases[id].heads,
                "seed {seed}: {} holds case {id} as the server does",
                phone.person
            );
        }
    }
    drop(servers);
}
