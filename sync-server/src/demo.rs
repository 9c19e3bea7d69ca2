//! `wangge-server demo`: the server with its embedded SQLite, plus field
//! devices that record cases offline and sync, and the centre registering
//! and dispatching — so a newcomer sees the whole loop on one machine.
//!
//! The demo imports the demo street's roster (`sync-server/data/roster-demo.json`) and
//! enrols every simulated device to a person of it; each device records as exactly that
//! person (staff id, one of their roles, one of their units), as the server requires.
//!
//! Everything lives in `.wangge-demo/` (wiped at start).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use geo::InteriorPoint;
use wangge_core::{
    Actor, CaseSummary, Catalog, DeviceId, GpsFix, NewCase, Role, Store, SyncClient, SyncConfig,
    SystemClock, ZeroReportEventKind,
};
use wangge_server::roster;
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{Device, Person, Storage};

use crate::ScopeOverrides;

type DynError = Box<dyn std::error::Error>;

const DIR: &str = ".wangge-demo";

/// The demo's console logins: a centre operator, a handler of 城管中队, one of 物业, an
/// inspector. All have [`DEMO_PASSWORD`] (a demo on 127.0.0.1, never a real street).
const DEMO_LOGINS: [(&str, &str); 4] = [
    ("XT-CC-001", "centre"),
    ("XT-UH-001", "chengguan"),
    ("XT-UH-005", "wuye"),
    ("XT-SV-001", "inspector"),
];
/// The password of the demo's console logins.
const DEMO_PASSWORD: &str = "wangge-demo";

struct FieldDevice {
    name: String,
    block: String,
    /// The person's units: the teams whose dispatched cases the device receives.
    teams: Vec<String>,
    store: Store,
    client: SyncClient,
    officer: Actor,
}

/// The actor a device enrolled to `person` records as: the person's staff id, `role` (one
/// of theirs), their main unit, and the device.
fn actor_of(person: &Person, role: Role, device: &Device) -> Result<Actor, DynError> {
    if !person.roles.contains(&role) {
        return Err(format!(
            "{} does not hold the role {}",
            person.staff_id,
            role.as_str()
        )
        .into());
    }
    Ok(Actor {
        id: person.staff_id.clone(),
        role,
        unit: person.units.first().cloned(),
        device: DeviceId::parse(&device.device_id)?,
    })
}

/// The demo roster's active grid officers, one per block in turn, so that the first
/// devices cover different blocks.
fn officers_by_block<'a>(people: &'a [Person], blocks: &[String]) -> Vec<&'a Person> {
    let mut per_block: Vec<Vec<&Person>> = blocks
        .iter()
        .map(|b| {
            people
                .iter()
                .filter(|p| p.active && p.roles.contains(&Role::GridOfficer))
                .filter(|p| p.blocks.first() == Some(b))
                .collect()
        })
        .collect();
    let mut order = Vec::new();
    while per_block.iter().any(|v| !v.is_empty()) {
        for v in &mut per_block {
            if !v.is_empty() {
                order.push(v.remove(0));
            }
        }
    }
    order
}

fn fix_in(catalog: &Catalog, cell: &str) -> Option<GpsFix> {
    let c = catalog.grids.cell(cell)?;
    let p = c.geometry().interior_point()?;
    let (lat, lon) = catalog.grids.datum().to_wgs84(p.y(), p.x());
    Some(GpsFix {
        lat,
        lon,
        accuracy_m: 5.0,
        fix_time_ms: chrono::Utc::now().timestamp_millis(),
    })
}

fn print_cases(title: &str, cases: &[CaseSummary]) {
    println!("   {title} ({}):", cases.len());
    for c in cases.iter().take(8) {
        println!(
            "     {:<12} {:<11} {:<10} {}{}",
            c.case_number.as_deref().unwrap_or("(未立案)"),
            c.status.as_str(),
            c.grid.as_deref().unwrap_or("-"),
            c.description,
            if c.holders.is_empty() {
                String::new()
            } else {
                format!("  → {}", c.holders.join("、"))
            }
        );
    }
    if cases.len() > 8 {
        println!("     … and {} more", cases.len() - 8);
    }
}

fn sync(device: &FieldDevice) -> Result<(), DynError> {
    let mut printed = 0;
    let report = device.client.sync(&device.store, &mut |p| {
        // Called after every round and once more after the photos.
        if p.rounds > printed {
            printed = p.rounds;
            println!(
                "     {} round {}: sent {} docs, received {} docs, {} B up / {} B down, {} pending",
                device.name,
                p.rounds,
                p.docs_sent,
                p.docs_received,
                p.bytes_sent,
                p.bytes_received,
                p.docs_pending
            );
        }
    })?;
    println!(
        "   {} synced in {} round(s); every case on the server: {}",
        device.name,
        report.rounds,
        device.store.pending_count()? == 0
    );
    Ok(())
}

/// A sync configuration for the demo's devices, which talk to the demo's own server on this
/// machine over plain `http://`, whatever address it listens on (`0.0.0.0` included).
fn local_config(base: &str, token: String) -> SyncConfig {
    let mut config = SyncConfig::new(base, token);
    config.allow_insecure_http = true;
    config
}

/// Runs the demo.
pub fn run(
    listen: SocketAddr,
    devices: usize,
    stay: bool,
    catalog: Arc<Catalog>,
    office: wangge_server::office::OfficeConfig,
) -> Result<(), DynError> {
    let _ = std::fs::remove_dir_all(DIR);
    std::fs::create_dir_all(DIR)?;
    let storage = Arc::new(SqliteStorage::open(
        Path::new(DIR).join("server.sqlite3"),
        catalog.clone(),
    )?);
    let base = format!("http://{listen}");

    let roster = roster::parse(
        "sync-server/data/roster-demo.json",
        roster::DEMO_ROSTER,
        &catalog,
        &storage.units()?,
    )?;
    storage.upsert_roster(&roster.people, &roster.units)?;
    println!(
        "imported the demo roster: {} units, {} people",
        roster.units.len(),
        roster.people.len()
    );
    let person = |staff_id: &str| -> Result<&Person, DynError> {
        roster
            .people
            .iter()
            .find(|p| p.staff_id == staff_id)
            .ok_or_else(|| format!("the demo roster lacks {staff_id}").into())
    };

    let (_, centre_token) = crate::enroll(
        storage.as_ref(),
        &catalog,
        "管理中心-受理台",
        "XT-CC-001",
        ScopeOverrides::default(),
    )?;
    println!("enrolled 管理中心-受理台 to XT-CC-001 (centre)");
    let now = chrono::Utc::now().timestamp_millis();
    for (staff_id, username) in DEMO_LOGINS {
        wangge_server::console::account::create_login(
            storage.as_ref(),
            staff_id,
            username,
            DEMO_PASSWORD,
            now,
        )?;
    }
    let blocks: Vec<String> = catalog
        .grids
        .cells_at(wangge_core::grid::GridLevel::Block)
        .map(|c| c.id().to_owned())
        .collect();
    let officers = officers_by_block(&roster.people, &blocks);
    if officers.is_empty() {
        return Err("the demo roster has no active grid officer with a block".into());
    }
    let mut field = Vec::new();
    for i in 0..devices.max(1) {
        // More devices than officers: an officer carries a second handheld.
        let officer = officers[i % officers.len()];
        let block = officer.blocks.first().cloned().unwrap_or_default();
        let name = format!("手持{:02}", i + 1);
        let (device, token) = crate::enroll(
            storage.as_ref(),
            &catalog,
            &name,
            &officer.staff_id,
            ScopeOverrides::default(),
        )?;
        let store = Store::open(
            Path::new(DIR).join(format!("device-{}.sqlite3", i + 1)),
            DeviceId::parse(&device.device_id)?,
            catalog.clone(),
            Arc::new(SystemClock),
        )?;
        let client = SyncClient::new(local_config(&base, token))?;
        println!(
            "enrolled {name} to {} (grid officer): block {block}, teams {}",
            officer.staff_id,
            officer.units.join("、")
        );
        field.push(FieldDevice {
            officer: actor_of(officer, Role::GridOfficer, &device)?,
            name,
            block,
            teams: officer.units.clone(),
            store,
            client,
        });
    }
    // The residential workstation's own terminal, for its daily zero report.
    let staff_person = person("XT-WS-001")?;
    let ws = staff_person
        .workstations
        .first()
        .cloned()
        .ok_or("XT-WS-001 of the demo roster has no workstation")?;
    let ws_name = "工作站终端01".to_owned();
    let (ws_device, ws_token) = crate::enroll(
        storage.as_ref(),
        &catalog,
        &ws_name,
        &staff_person.staff_id,
        ScopeOverrides::default(),
    )?;
    let workstation = FieldDevice {
        officer: actor_of(staff_person, Role::WorkstationStaff, &ws_device)?,
        name: ws_name,
        block: String::new(),
        teams: staff_person.units.clone(),
        store: Store::open(
            Path::new(DIR).join("workstation-1.sqlite3"),
            DeviceId::parse(&ws_device.device_id)?,
            catalog.clone(),
            Arc::new(SystemClock),
        )?,
        client: SyncClient::new(local_config(&base, ws_token))?,
    };
    println!(
        "enrolled {} to {} (workstation staff): workstation {ws}",
        workstation.name, staff_person.staff_id
    );

    // The server runs on its own thread, as it would on its own machine.
    let server_storage = storage.clone();
    let server_catalog = catalog.clone();
    std::thread::spawn(move || {
        if let Err(e) = crate::serve(listen, server_storage, server_catalog, office) {
            eprintln!("server stopped: {e}");
        }
    });
    let http = reqwest::blocking::Client::new();
    for _ in 0..50 {
        if http.get(format!("{base}/health")).send().is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    println!("server listening on {base} (database {DIR}/server.sqlite3)\n");

    println!("1. The officers patrol with no signal and record cases offline.");
    let items = ["A02-001", "A01-001", "A02-002", "A07-001", "A03-001"];
    let texts = [
        "菜场门口流动摊贩",
        "弄堂口暴露垃圾",
        "店铺占道经营",
        "小区内私设地锁",
        "楼顶正在搭建违法建筑",
    ];
    for d in &field {
        let cells: Vec<String> = catalog
            .grids
            .leaves()
            .filter(|c| {
                catalog
                    .grids
                    .path(c.id())
                    .is_some_and(|p| p.block == d.block)
            })
            .map(|c| c.id().to_owned())
            .collect();
        for (k, (item, text)) in items.iter().zip(texts).enumerate() {
            let cell = &cells[(k * 7 + d.name.len()) % cells.len()];
            if let Some(fix) = fix_in(&catalog, cell) {
                d.store.record_case(
                    &d.officer,
                    NewCase::from_handheld(item, &format!("{text}（{}）", d.name), fix),
                )?;
            }
        }
        println!(
            "   {} recorded {} cases; pending upload: {}",
            d.name,
            items.len(),
            d.store.pending_count()?
        );
    }
    workstation.store.file_zero_report(
        &workstation.officer,
        &ws,
        wangge_core::store::cst_day(chrono::Utc::now().timestamp_millis()),
        ZeroReportEventKind::Filed {
            nothing_to_report: true,
            note: None,
        },
    )?;
    println!("   {} filed today's zero report for {ws}", workstation.name);

    println!("\n2. Signal is back: each device syncs (one request per batch).");
    for d in field.iter().chain([&workstation]) {
        sync(d)?;
    }

    println!(
        "\n3. The centre registers every case (the server assigns the official numbers) and dispatches them to 城管中队."
    );
    let auth = format!("Bearer {centre_token}");
    let cases = http
        .get(format!("{base}/v1/cases?status=reported&limit=500"))
        .header("Authorization", &auth)
        .send()?
        .error_for_status()?
        .json::<wangge_server::office::queue::CasePage>()?
        .cases;
    for c in &cases {
        http.post(format!("{base}/v1/cases/{}/register", c.id))
            .header("Authorization", &auth)
            .json(&serde_json::json!({}))
            .send()?
            .error_for_status()?;
        http.post(format!("{base}/v1/cases/{}/events", c.id))
            .header("Authorization", &auth)
            .json(&serde_json::json!({"type": "dispatched", "units": ["城管中队"]}))
            .send()?
            .error_for_status()?;
    }
    println!("   registered and dispatched {} cases", cases.len());

    println!(
        "\n4. The devices sync again: {} receives every case dispatched to its team, with its history.",
        field[0].name
    );
    for d in &field {
        sync(d)?;
    }
    let mine = field[0]
        .store
        .my_open_cases(&field[0].officer.id, &field[0].teams)?;
    print_cases(&format!("{}'s open cases", field[0].name), &mine);

    let stats: serde_json::Value = http
        .get(format!("{base}/v1/stats"))
        .header("Authorization", &auth)
        .send()?
        .error_for_status()?
        .json()?;
    println!("\n5. Back office figures: {stats}");
    if stay {
        println!("\nThe server keeps running on {base}. Centre token: {centre_token}");
        println!("Try: curl -H 'Authorization: Bearer {centre_token}' {base}/v1/cases");
        println!("\nThe console: {base}/console (password {DEMO_PASSWORD} for each of these):");
        for (staff_id, username) in DEMO_LOGINS {
            let who = person(staff_id)?;
            println!("   {username:<10} {} ({staff_id})", who.name);
        }
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
    Ok(())
}
