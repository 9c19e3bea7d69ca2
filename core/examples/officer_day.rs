//! A day on the phone of a grid officer, before any server exists.
//!
//! Opens a store (default `.wangge-demo/officer.sqlite3`, or the path given
//! as the first argument), records cases the way an officer and the centre
//! would, files a workstation's zero report, and prints what the officer's
//! screen shows. Run it with:
//!
//! ```text
//! cargo run -p wangge-core --example officer_day
//! ```

use std::sync::Arc;

use chrono::{FixedOffset, TimeZone};
use wangge_core::grid::GridMatch;
use wangge_core::{
    Actor, CaseEventKind, CaseSummary, Catalog, DeviceId, GpsFix, ManualClock, MatterId, NewCase,
    Role, Store, ZeroReportEventKind,
};

const MINUTE: i64 = 60_000;

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn cst(ms: i64) -> String {
    let tz = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| unreachable!());
    tz.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%m-%d %H:%M").to_string())
        .unwrap_or_else(|| "?".into())
}

fn print_list(title: &str, list: &[CaseSummary]) {
    println!("\n── {title} ({}) ──", list.len());
    for c in list {
        println!(
            "  {} {:<11} {:<8} 格:{:<10} 应处置于 {}  {}{}",
            if c.overdue { "⚠ 超时" } else { "  正常" },
            c.status.as_str(),
            c.checklist_item,
            c.grid.as_deref().unwrap_or("(待定)"),
            c.resolution_due.map(cst).unwrap_or_else(|| "-".into()),
            c.description,
            if c.holders.is_empty() {
                String::new()
            } else {
                format!("  → {}", c.holders.join("、"))
            },
        );
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| ".wangge-demo/officer.sqlite3".into());
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let catalog = Arc::new(Catalog::demo()?);
    // The demo's day starts at 09:00 China Standard Time today.
    let now = chrono::Utc::now().timestamp_millis();
    let day_ms = 86_400_000;
    let start = (now + 8 * 3_600_000).div_euclid(day_ms) * day_ms - 8 * 3_600_000 + 9 * 3_600_000;
    let clock = Arc::new(ManualClock::new(start));
    let device = DeviceId::generate();
    let store = Store::open(&path, device, catalog.clone(), clock.clone())?;
    println!("store: {path}  (device {device})");
    println!(
        "checklist: {} items in {} categories; grids: {} cells",
        catalog.checklist.items().len(),
        catalog.checklist.categories().len(),
        catalog.grids.cell_count()
    );

    let officer = Actor {
        id: "officer-017".into(),
        role: Role::GridOfficer,
        unit: Some("网格一组".into()),
        device,
    };
    let centre = Actor {
        id: "centre-desk".into(),
        role: Role::Centre,
        unit: None,
        device,
    };
    let unit = Actor {
        id: "cg-31".into(),
        role: Role::HandlingUnit,
        unit: Some("城管中队".into()),
        device,
    };
    let staff = Actor {
        id: "ws-staff-4".into(),
        role: Role::WorkstationStaff,
        unit: None,
        device,
    };

    // Points in the demo street (WGS-84, as the phone's GPS gives them).
    let leaves: Vec<_> = catalog.grids.leaves().take(3).collect();
    let fix_at = |i: usize, accuracy_m: f64| -> GpsFix {
        use geo::InteriorPoint;
        let p = leaves[i]
            .geometry()
            .interior_point()
            .unwrap_or_else(|| geo::Point::new(121.44, 31.19));
        let (lat, lon) = catalog.grids.datum().to_wgs84(p.y(), p.x());
        GpsFix {
            lat,
            lon,
            accuracy_m,
            fix_time_ms: clock_now(&store),
        }
    };
    fn clock_now(s: &Store) -> i64 {
        s.now_ms()
    }

    println!("\n{} patrol starts, no signal.", cst(store.now_ms()));
    let vendor = store.record_case(
        &officer,
        NewCase::from_handheld("A02-001", "菜场门口流动摊贩占道经营", fix_at(0, 5.0)),
    )?;
    clock.advance(7 * MINUTE);
    let garbage = store.record_case(
        &officer,
        NewCase::from_handheld("A01-001", "垃圾箱旁暴露垃圾", fix_at(1, 4.0)),
    )?;
    store.add_case_event(
        garbage,
        &officer,
        CaseEventKind::HandledOnSpot {
            note: "已通知保洁员当场清理".into(),
            photos: vec![],
        },
    )?;
    clock.advance(6 * MINUTE);
    let rough = fix_at(2, 150.0);
    match catalog
        .grids
        .lookup(rough.lat, rough.lon, rough.accuracy_m)?
    {
        GridMatch::Ambiguous { candidates, .. } => println!(
            "{} weak fix (±150 m): the grid could be any of {} — the officer is asked to choose",
            cst(store.now_ms()),
            candidates
                .iter()
                .map(|c| c.finest().to_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => println!("{} fix (±150 m) → {other:?}", cst(store.now_ms())),
    }
    let construction = store.record_case(
        &officer,
        NewCase::from_handheld("A03-001", "居民楼顶正在搭建违法建筑", rough),
    )?;

    clock.advance(7 * MINUTE);
    println!(
        "{} the centre registers and dispatches (on this device for the demo).",
        cst(store.now_ms())
    );
    for (case, number, units) in [
        (vendor, "XT-0001", vec!["城管中队"]),
        (construction, "XT-0002", vec!["联合执法队"]),
    ] {
        store.add_case_event(
            case,
            &centre,
            CaseEventKind::Registered {
                case_number: number.into(),
                checklist_item: None,
                grid: Some(leaves[2].id().to_owned()).filter(|_| case == construction),
            },
        )?;
        store.add_case_event(
            case,
            &centre,
            CaseEventKind::Dispatched {
                units: units.into_iter().map(str::to_owned).collect(),
                lead: None,
                note: None,
            },
        )?;
    }
    store.add_case_event(
        construction,
        &centre,
        CaseEventKind::Escalated {
            reason: "违建提交区级平台".into(),
        },
    )?;
    clock.advance(5 * MINUTE);
    store.add_case_event(vendor, &unit, CaseEventKind::Arrived { note: None })?;

    clock.advance(8 * 60 * MINUTE);
    println!(
        "{} the workstation files its zero report.",
        cst(store.now_ms())
    );
    let ws = catalog
        .grids
        .path(leaves[0].id())
        .and_then(|p| p.workstation.clone())
        .unwrap_or_default();
    let today = wangge_core::store::cst_day(store.now_ms());
    store.file_zero_report(
        &staff,
        &ws,
        today,
        ZeroReportEventKind::Filed {
            nothing_to_report: false,
            note: None,
        },
    )?;
    let report = store.file_zero_report(
        &staff,
        &ws,
        today,
        ZeroReportEventKind::MatterRecorded {
            matter: MatterId::generate(),
            checklist_item: Some("A07-001".into()),
            description: "调解私设地锁纠纷，业主已自行拆除".into(),
            photos: vec![],
        },
    )?;

    println!(
        "\n════ officer-017's screen at {} ════",
        cst(store.now_ms())
    );
    print_list(
        "my open cases",
        &store.my_open_cases("officer-017", &["网格一组".to_owned()])?,
    );
    print_list("overdue in the street", &store.overdue_cases()?);
    print_list("search \"摊贩\"", &store.search_cases("摊贩")?);
    let record = store.case(construction)?;
    println!(
        "\n── timeline of {} ({}) ──",
        record.state.case_number.as_deref().unwrap_or("-"),
        record.header.description
    );
    for e in &record.events {
        println!(
            "  {}  {:<16} by {} ({})",
            cst(e.at.wall_ms),
            e.kind.name(),
            e.by.id,
            e.by.role.as_str()
        );
    }
    println!(
        "  response due {}, resolution due {}, holders: {}",
        record.state.response_due.map(cst).unwrap_or_default(),
        record.state.resolution_due.map(cst).unwrap_or_default(),
        record.state.holders.join("、")
    );
    println!(
        "\n── zero report {} {} ── filed: {}, nothing to report: {}, matters: {}",
        report.header.workstation,
        report.header.day,
        report.filed,
        report.nothing_to_report,
        report.matters.len()
    );
    println!(
        "   workstations yet to file today: {}",
        store.workstations_without_report(today)?.len()
    );
    println!("\nstatus counts: {:?}", store.status_counts()?);
    Ok(())
}
