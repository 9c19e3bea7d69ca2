//! The fuzz targets besides `push` (`fuzz_check.rs`): the catalog loaders,
//! the roster loader and the photo import, with their seed corpora and
//! invariants; and [`by_name`], which builds any target from the committed
//! corpus for the driver (`examples/fuzz.rs`) and the regression tests.
//!
//! | target    | one input                                | mutation                          |
//! |-----------|------------------------------------------|-----------------------------------|
//! | `catalog` | `CatalogFiles` as JSON (three texts)     | JSON values of one of the files   |
//! | `roster`  | a roster file's text                     | JSON values, sometimes raw bytes  |
//! | `photo`   | a JPEG, PNG or WebP file                 | chunks/segments, checksums fixed  |
//!
//! The JSON targets mutate parsed values rather than generating them
//! (`arbitrary`-style) because the loaders' interesting paths sit behind
//! valid JSON of nearly the right shape: a node retyped, removed or copied
//! from elsewhere in a real file reaches the field rules; raw bytes mostly
//! reach the JSON parser. The photo target mutates inside PNG chunks, JPEG
//! segments and WebP chunks and fixes their lengths and CRCs, so that the
//! bytes get past the container to the decoders.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wangge_core::checklist::{Checklist, WorkCalendar};
use wangge_core::grid::{GridIndex, GridLevel};
use wangge_core::photo::{PhotoError, PhotoOptions, prepare};
use wangge_core::{Catalog, CatalogFiles, Error};
use wangge_server::roster::{self, RosterError, RosterFile};
use wangge_server::storage::Unit;

use crate::fuzz_check::Fixture;
use crate::fuzz_engine::{
    Finding, MAX_INPUT, Report, Rng, Target, finding, json_words, mutate_bytes, mutate_json,
    read_dir_sorted,
};

/// Every target, in the order the script runs them.
pub const TARGETS: [&str; 4] = ["push", "catalog", "roster", "photo"];

/// Builds target `name` from its committed corpus `<corpus>/<name>/`.
pub fn by_name(name: &str, corpus: &Path) -> Result<Box<dyn Target>, String> {
    let dir = corpus.join(name);
    let read = |dir: &Path| {
        read_dir_sorted(dir).map_err(|e| format!("cannot read the corpus {}: {e}", dir.display()))
    };
    let target: Box<dyn Target> = match name {
        "push" => Box::new(
            Fixture::load(&dir)
                .map_err(|e| format!("cannot read the corpus {}: {e}", dir.display()))?,
        ),
        "catalog" => Box::new(CatalogTarget::new(read(&dir)?)),
        "roster" => Box::new(RosterTarget::new(read(&dir)?)),
        "photo" => Box::new(PhotoTarget::new(read(&dir)?)),
        other => return Err(format!("no target {other:?} (targets: {TARGETS:?})")),
    };
    if target.seeds().is_empty() {
        return Err(format!(
            "the corpus {} is empty (write it with `--write-corpus`)",
            dir.display()
        ));
    }
    Ok(target)
}

/// Writes target `name`'s generated seed corpus into `<corpus>/<name>/`
/// (replacing what was there); returns the files written.
pub fn write_corpus(name: &str, corpus: &Path) -> std::io::Result<Vec<(String, usize)>> {
    let dir = corpus.join(name);
    if name == "push" {
        let fx = Fixture::generate();
        let _ = std::fs::remove_dir_all(&dir);
        fx.write(&dir)?;
        return Ok(fx
            .seeds
            .iter()
            .map(|(n, b)| (format!("{n}.bin"), b.len()))
            .collect());
    }
    let files = match name {
        "catalog" => catalog_seeds(),
        "roster" => roster_seeds(),
        "photo" => photo_seeds(),
        other => {
            return Err(std::io::Error::other(format!("no target {other:?}")));
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    for (file, bytes) in &files {
        std::fs::write(dir.join(file), bytes)?;
    }
    Ok(files.iter().map(|(n, b)| (n.clone(), b.len())).collect())
}

fn words_of(seeds: &[(String, Vec<u8>)], texts: impl Fn(&[u8]) -> Vec<String>) -> Vec<String> {
    let mut words = Vec::new();
    for (_, bytes) in seeds {
        for text in texts(bytes) {
            if let Ok(v) = serde_json::from_str::<Value>(&text) {
                json_words(&v, &mut words);
            }
        }
    }
    let mut seen = HashSet::new();
    words.retain(|w| seen.insert(w.clone()));
    words
}

/// `n` as a word for features: its order of magnitude in bits.
fn bucket(n: usize) -> &'static str {
    ["none", "one", "few", "some", "many", "lots"][match n {
        0 => 0,
        1 => 1,
        2..=3 => 2,
        4..=15 => 3,
        16..=127 => 4,
        _ => 5,
    }]
}

/// A typed error's message must say something.
fn has_message(what: &str, message: &str) -> Result<(), Finding> {
    if message.trim().is_empty() {
        return Err(finding(
            "empty-error",
            format!("{what} failed without a message"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// catalog: Checklist::from_json, WorkCalendar::from_json, GridIndex::from_geojson, Catalog::load
// ---------------------------------------------------------------------------

/// The catalog loaders. One input is a [`CatalogFiles`] as JSON.
///
/// Invariants: no panic; each loader's `Err` has a message; `Catalog::load`
/// fails exactly when one of the three loaders does, with the first
/// failing loader's typed error (`Error::Checklist` or `Error::Grid`); a
/// loaded catalog keeps its files, its version is the files' version, and
/// loading its files again gives the same version; what a loaded catalog
/// promises holds (every item's category and domain, every cell's parent
/// exist; deadlines are never before their start; lookups and working-day
/// questions answer without panicking).
pub struct CatalogTarget {
    seeds: Vec<(String, Vec<u8>)>,
    words: Vec<String>,
}

impl CatalogTarget {
    pub fn new(seeds: Vec<(String, Vec<u8>)>) -> CatalogTarget {
        let words = words_of(&seeds, |b| {
            serde_json::from_slice::<CatalogFiles>(b)
                .map(|f| vec![f.checklist, f.calendar, f.grids])
                .unwrap_or_default()
        });
        CatalogTarget { seeds, words }
    }
}

fn catalog_input(files: &CatalogFiles) -> Vec<u8> {
    serde_json::to_vec(files).expect("strings serialise")
}

fn catalog_seeds() -> Vec<(String, Vec<u8>)> {
    let demo = Catalog::demo().expect("the demo catalog").files().clone();
    let mut checklist: Value = serde_json::from_str(&demo.checklist).expect("checklist JSON");
    // Small: one domain, two of its categories and their items; one block of grids with
    // what lies in it.
    let domain = checklist["domains"][0]["id"].clone();
    let cats: Vec<Value> = checklist["categories"]
        .as_array()
        .expect("categories")
        .iter()
        .filter(|c| c["domain"] == domain)
        .take(2)
        .cloned()
        .collect();
    let cat_ids: Vec<Value> = cats.iter().map(|c| c["id"].clone()).collect();
    let items: Vec<Value> = checklist["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| cat_ids.contains(&i["category"]))
        .take(8)
        .cloned()
        .collect();
    checklist["domains"] = json!([checklist["domains"][0].clone()]);
    checklist["categories"] = Value::Array(cats);
    checklist["items"] = Value::Array(items);
    let mut grids: Value = serde_json::from_str(&demo.grids).expect("grids JSON");
    let features = grids["features"].as_array().expect("features").clone();
    let mut kept: HashSet<String> = HashSet::from(["XT-B1".to_owned()]);
    loop {
        let before = kept.len();
        for f in &features {
            if let Some(parent) = f["properties"]["parent"].as_str()
                && kept.contains(parent)
            {
                kept.insert(f["properties"]["id"].as_str().unwrap_or("").to_owned());
            }
        }
        if kept.len() == before {
            break;
        }
    }
    let small_features: Vec<Value> = features
        .iter()
        .filter(|f| kept.contains(f["properties"]["id"].as_str().unwrap_or("")))
        .take(6)
        .cloned()
        .collect();
    grids["features"] = Value::Array(small_features);
    let small = CatalogFiles {
        checklist: serde_json::to_string_pretty(&checklist).expect("JSON"),
        calendar: demo.calendar.clone(),
        grids: grids.to_string(),
    };
    // Minimal: one item, a year without holidays, one block.
    let minimal = CatalogFiles {
        checklist: json!({
            "domains": [{"id": "A", "name_zh": "环境", "name_en": "Environment"}],
            "categories": [{"id": "A01", "name_zh": "市容", "name_en": "Appearance", "domain": "A"}],
            "items": [{"id": "A01-001", "domain": "A", "category": "A01", "title_zh": "暴露垃圾",
                       "title_en": "Exposed garbage", "responsible_unit": "市容所", "on_spot": true,
                       "response_limit": "15m", "resolution_limit": "5wd",
                       "escalate_to_district": false, "urgent": false}]
        })
        .to_string(),
        calendar: json!({"years": [2026], "holidays": [], "make_up_working_days": []}).to_string(),
        grids: json!({"type": "FeatureCollection", "datum": "WGS-84", "features": [
            {"type": "Feature", "properties": {"id": "B1", "name": "块区", "level": "block"},
             "geometry": {"type": "Polygon", "coordinates":
                [[[121.40, 31.18], [121.41, 31.18], [121.41, 31.19], [121.40, 31.19], [121.40, 31.18]]]}}
        ]})
        .to_string(),
    };
    let mut out = vec![
        ("demo.json".to_owned(), catalog_input(&demo)),
        ("small.json".to_owned(), catalog_input(&small)),
        ("minimal.json".to_owned(), catalog_input(&minimal)),
    ];
    for (name, files) in [("small", &small), ("minimal", &minimal)] {
        if let Err(e) = Catalog::load(files.clone()) {
            panic!("the generated {name} catalog does not load: {e}");
        }
    }
    out.sort();
    out
}

impl Target for CatalogTarget {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn seeds(&self) -> &[(String, Vec<u8>)] {
        &self.seeds
    }

    fn check(&self, input: &[u8]) -> Result<Report, Finding> {
        let mut report = Report::default();
        let files: CatalogFiles = match serde_json::from_slice(input) {
            Ok(f) => f,
            Err(_) => {
                report.add("not_catalog_files", "");
                return Ok(report);
            }
        };
        let loaders = [
            (
                "checklist:ok",
                "checklist:err",
                message_of(Checklist::from_json(&files.checklist)),
            ),
            (
                "calendar:ok",
                "calendar:err",
                message_of(WorkCalendar::from_json(&files.calendar)),
            ),
            (
                "grids:ok",
                "grids:err",
                message_of(GridIndex::from_geojson(&files.grids)),
            ),
        ];
        let mut first_error: Option<String> = None;
        for (ok, err, result) in loaders {
            match result {
                Ok(()) => report.add(ok, ""),
                Err(m) => {
                    has_message(err, &m)?;
                    report.add(err, &m);
                    first_error.get_or_insert(m);
                }
            }
        }
        match (Catalog::load(files.clone()), first_error) {
            (Ok(catalog), None) => {
                check_loaded(&catalog, &files)?;
                // What it holds, roughly: a catalog unlike the others joins the pool.
                let shape = format!(
                    "{} {} {} {} {}",
                    bucket(catalog.checklist.items().len()),
                    bucket(catalog.checklist.categories().len()),
                    bucket(catalog.calendar.holidays().len()),
                    bucket(catalog.calendar.years().count()),
                    bucket(catalog.grids.cell_count()),
                );
                report.add("loaded", &shape);
            }
            (Err(e), Some(first)) => {
                if !matches!(e, Error::Checklist(_) | Error::Grid(_)) {
                    return Err(finding(
                        "untyped-error",
                        format!("Catalog::load failed with {e:?}, not a checklist or grid error"),
                    ));
                }
                if e.to_string() != first {
                    return Err(finding(
                        "load-disagrees",
                        format!("Catalog::load says {e:?}; the first failing loader said {first}"),
                    ));
                }
            }
            (Ok(_), Some(first)) => {
                return Err(finding(
                    "load-disagrees",
                    format!("Catalog::load accepted files a loader refuses: {first}"),
                ));
            }
            (Err(e), None) => {
                return Err(finding(
                    "load-disagrees",
                    format!("Catalog::load refused files every loader accepts: {e}"),
                ));
            }
        }
        Ok(report)
    }

    fn mutate(&self, rng: &mut Rng, base: &[u8], donors: &[Vec<u8>]) -> Vec<u8> {
        let Ok(mut files) = serde_json::from_slice::<CatalogFiles>(base) else {
            let mut out = base.to_vec();
            mutate_bytes(rng, &mut out, donors);
            return out;
        };
        let text = match rng.below(3) {
            0 => &mut files.checklist,
            1 => &mut files.calendar,
            _ => &mut files.grids,
        };
        *text = mutate_json(rng, text, &self.words);
        let mut out = catalog_input(&files);
        out.truncate(MAX_INPUT);
        out
    }
}

/// A loader's result as its error message.
fn message_of<T, E: std::fmt::Display>(r: Result<T, E>) -> Result<(), String> {
    r.map(drop).map_err(|e| e.to_string())
}

fn check_loaded(catalog: &Catalog, files: &CatalogFiles) -> Result<(), Finding> {
    if catalog.files() != files {
        return Err(finding(
            "files-changed",
            "a loaded catalog's files differ from the files loaded",
        ));
    }
    if catalog.version() != files.version() {
        return Err(finding(
            "version-unstable",
            "the catalog's version is not its files' version",
        ));
    }
    match Catalog::load(catalog.files().clone()) {
        Ok(again) if again.version() == catalog.version() => {}
        Ok(again) => {
            return Err(finding(
                "version-unstable",
                format!(
                    "load → files → load: version {} became {}",
                    catalog.version(),
                    again.version()
                ),
            ));
        }
        Err(e) => {
            return Err(finding(
                "reload-fails",
                format!("a loaded catalog's own files do not load: {e}"),
            ));
        }
    }
    let list = &catalog.checklist;
    for item in list.items().iter().take(64) {
        if list.category(&item.category).is_none() || list.domain(&item.domain).is_none() {
            return Err(finding(
                "dangling-reference",
                format!(
                    "item {} names category {} / domain {} that the checklist lacks",
                    item.id, item.category, item.domain
                ),
            ));
        }
        let mut starts = vec![0i64, 1_772_413_200_000, i64::MIN + 1, i64::MAX - 1];
        starts.extend(catalog.calendar.years().take(3).filter_map(|y| {
            NaiveDate::from_ymd_opt(y, 12, 31)
                .and_then(|d| d.and_hms_opt(23, 0, 0))
                .map(|t| t.and_utc().timestamp_millis())
        }));
        for limit in [&item.response_limit, &item.resolution_limit] {
            for &start in &starts {
                let due = limit.deadline(start, &catalog.calendar);
                if due < start {
                    return Err(finding(
                        "deadline-before-start",
                        format!("item {}: {limit:?} from {start} is due at {due}", item.id),
                    ));
                }
            }
        }
    }
    for year in catalog.calendar.years().take(3) {
        for (m, d) in [(1, 1), (2, 29), (10, 1), (12, 31)] {
            if let Some(date) = NaiveDate::from_ymd_opt(year, m, d) {
                let _ = catalog.calendar.is_working_day(date);
                let _ = catalog.calendar.holiday_on(date);
                let _ = date.weekday();
            }
        }
    }
    let grids = &catalog.grids;
    for cell in grids.cells().take(32) {
        if let Some(parent) = cell.parent()
            && grids.cell(parent).is_none()
        {
            return Err(finding(
                "dangling-reference",
                format!(
                    "cell {} names parent {parent} that the grids lack",
                    cell.id()
                ),
            ));
        }
        if cell.level() == GridLevel::Block && cell.parent().is_some() {
            return Err(finding(
                "dangling-reference",
                format!("block {} has a parent", cell.id()),
            ));
        }
        let c = cell.bounds().center();
        for accuracy in [0.0, 25.0] {
            let _ = grids.lookup(c.y, c.x, accuracy);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// roster: wangge_server::roster::parse
// ---------------------------------------------------------------------------

/// The roster loader. One input is a roster file's text.
///
/// Invariants: no panic; `parse` fails as `Parse` exactly when the text is
/// not a `RosterFile`, and otherwise agrees with `validate`; it is all or
/// nothing: an `Invalid` error lists at least one problem, each with a
/// message, and an accepted roster holds every entry of the file, as
/// written, each by the rules (valid unique staff ids, known units, roles,
/// blocks and workstations of the street's grids); an accepted roster
/// written back as a file parses to the same roster.
pub struct RosterTarget {
    seeds: Vec<(String, Vec<u8>)>,
    words: Vec<String>,
    catalog: Catalog,
    known_units: Vec<Unit>,
}

/// A unit the register already holds: a roster may name it without listing it.
const KNOWN_UNIT: &str = "区城管执法局";

impl RosterTarget {
    pub fn new(seeds: Vec<(String, Vec<u8>)>) -> RosterTarget {
        let words = words_of(&seeds, |b| vec![String::from_utf8_lossy(b).into_owned()]);
        let known_units = vec![
            serde_json::from_value(json!({"id": KNOWN_UNIT, "kind": "department"}))
                .expect("a unit"),
        ];
        RosterTarget {
            seeds,
            words,
            catalog: Catalog::demo().expect("the demo catalog"),
            known_units,
        }
    }
}

fn roster_seeds() -> Vec<(String, Vec<u8>)> {
    let demo: Value = serde_json::from_str(roster::DEMO_ROSTER).expect("demo roster");
    let mut small = demo.clone();
    small["units"] = json!(demo["units"].as_array().expect("units")[..3]);
    let mut people: Vec<Value> = demo["people"].as_array().expect("people")[..4].to_vec();
    let unit0 = demo["units"][0]["id"].clone();
    people[0]["units"] = json!([unit0, KNOWN_UNIT]);
    people[1]["active"] = json!(false);
    people[2]["admin"] = json!(true);
    people[3]["units"] = json!([]);
    small["people"] = Value::Array(people.clone());
    let mut leaver = people[1].clone();
    leaver["units"] = json!([KNOWN_UNIT]);
    let people_only = json!({"people": [leaver, {
        "staff_id": "XT-UH-900", "name": "新同事", "roles": ["handling_unit"], "units": [KNOWN_UNIT]
    }]});
    vec![
        (
            "demo.json".to_owned(),
            roster::DEMO_ROSTER.as_bytes().to_vec(),
        ),
        (
            "people-only.json".to_owned(),
            serde_json::to_vec_pretty(&people_only).expect("JSON"),
        ),
        (
            "small.json".to_owned(),
            serde_json::to_vec_pretty(&small).expect("JSON"),
        ),
    ]
}

impl Target for RosterTarget {
    fn name(&self) -> &'static str {
        "roster"
    }

    fn seeds(&self) -> &[(String, Vec<u8>)] {
        &self.seeds
    }

    fn check(&self, input: &[u8]) -> Result<Report, Finding> {
        let mut report = Report::default();
        let Ok(text) = std::str::from_utf8(input) else {
            report.add("not_utf8", "");
            return Ok(report);
        };
        let parsed = roster::parse("fuzz", text, &self.catalog, &self.known_units);
        let file = serde_json::from_str::<RosterFile>(text);
        match (&parsed, file) {
            (Err(e @ RosterError::Parse { source, .. }), Err(_)) => {
                has_message("parse", &e.to_string())?;
                report.add("parse_error", &source.to_string());
            }
            (Err(e @ RosterError::Parse { .. }), Ok(_)) => {
                return Err(finding(
                    "parse-disagrees",
                    format!("parse says {e} of text that is a RosterFile"),
                ));
            }
            (_, Err(e)) => {
                return Err(finding(
                    "parse-disagrees",
                    format!("parse accepted text that is not a RosterFile: {e}"),
                ));
            }
            (_, Ok(file)) => {
                let validated = roster::validate(file.clone(), &self.catalog, &self.known_units);
                match (&parsed, validated) {
                    (Ok(roster), Ok(again)) if *roster == again => {
                        self.check_accepted(&file, roster)?;
                        let shape = format!(
                            "{} {} {}",
                            bucket(roster.units.len()),
                            bucket(roster.people.len()),
                            bucket(roster.people.iter().filter(|p| !p.active).count()),
                        );
                        report.add("accepted", &shape);
                    }
                    (Err(RosterError::Invalid { problems, .. }), Err(again))
                        if *problems == again =>
                    {
                        if problems.is_empty() {
                            return Err(finding(
                                "invalid-without-problems",
                                "parse refused the roster without naming a problem",
                            ));
                        }
                        for p in problems {
                            has_message("a roster problem", &p.to_string())?;
                            report.add("invalid", &variant_name(&format!("{p:?}")));
                        }
                    }
                    (p, v) => {
                        return Err(finding(
                            "parse-disagrees",
                            format!("parse gave {p:?}, validate of the same file {v:?}"),
                        ));
                    }
                }
            }
        }
        Ok(report)
    }

    fn mutate(&self, rng: &mut Rng, base: &[u8], donors: &[Vec<u8>]) -> Vec<u8> {
        // Text only: the loader reads a file with `read_to_string`.
        let mut out = if rng.below(10) < 9 {
            mutate_json(rng, &String::from_utf8_lossy(base), &self.words).into_bytes()
        } else {
            let mut out = base.to_vec();
            mutate_bytes(rng, &mut out, donors);
            String::from_utf8_lossy(&out).into_owned().into_bytes()
        };
        out.truncate(MAX_INPUT);
        out
    }
}

/// The variant's name of a `Debug` text (`BadUnitId { .. }` → `BadUnitId`).
fn variant_name(debug: &str) -> String {
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

impl RosterTarget {
    fn check_accepted(&self, file: &RosterFile, roster: &roster::Roster) -> Result<(), Finding> {
        let broken = |detail: String| Err(finding("accepted-breaks-rules", detail));
        if roster.units.len() != file.units.len() || roster.people.len() != file.people.len() {
            return broken(format!(
                "the file has {} units and {} people, the roster {} and {}",
                file.units.len(),
                file.people.len(),
                roster.units.len(),
                roster.people.len()
            ));
        }
        let mut units: HashSet<&str> = self.known_units.iter().map(|u| u.id.as_str()).collect();
        let mut listed = HashSet::new();
        for (u, entry) in roster.units.iter().zip(&file.units) {
            if u.id != entry.id || u.name != entry.name || !listed.insert(u.id.as_str()) {
                return broken(format!("unit {:?} is not as written, or twice", entry.id));
            }
            units.insert(&u.id);
        }
        let mut staff = HashSet::new();
        for (p, entry) in roster.people.iter().zip(&file.people) {
            let as_written = p.staff_id == entry.staff_id
                && p.name == entry.name
                && p.admin == entry.admin
                && p.active == entry.active
                && p.units == entry.units
                && p.blocks == entry.blocks
                && p.workstations == entry.workstations
                && p.roles
                    .iter()
                    .map(|r| r.as_str())
                    .eq(entry.roles.iter().map(String::as_str));
            if !as_written {
                return broken(format!("person {:?} is not as written", entry.staff_id));
            }
            if !roster::is_valid_staff_id(&p.staff_id) || !staff.insert(p.staff_id.as_str()) {
                return broken(format!("staff id {:?} is invalid or repeated", p.staff_id));
            }
            if p.roles.is_empty() {
                return broken(format!("{} has no role", p.staff_id));
            }
            if let Some(u) = p.units.iter().find(|u| !units.contains(u.as_str())) {
                return broken(format!("{} acts for unknown unit {u:?}", p.staff_id));
            }
            let at_level = |id: &String, level: GridLevel| {
                self.catalog
                    .grids
                    .cell(id)
                    .is_some_and(|c| c.level() == level)
            };
            if let Some(b) = p.blocks.iter().find(|b| !at_level(b, GridLevel::Block)) {
                return broken(format!("{} covers {b:?}, not a block", p.staff_id));
            }
            if let Some(w) = p
                .workstations
                .iter()
                .find(|w| !at_level(w, GridLevel::Workstation))
            {
                return broken(format!("{} covers {w:?}, not a workstation", p.staff_id));
            }
        }
        // Written back as a file, it is the same roster.
        let units: Vec<Value> = roster
            .units
            .iter()
            .map(|u| serde_json::to_value(u).expect("a unit serialises"))
            .collect();
        let people: Vec<Value> = roster
            .people
            .iter()
            .map(|p| serde_json::to_value(p).expect("a person serialises"))
            .collect();
        let text = json!({"units": units, "people": people}).to_string();
        match roster::parse("again", &text, &self.catalog, &self.known_units) {
            Ok(again) if again == *roster => Ok(()),
            other => Err(finding(
                "roster-roundtrip",
                format!("the accepted roster written back parses to {other:?}"),
            )),
        }
    }
}

// ---------------------------------------------------------------------------
// photo: wangge_core::photo::prepare
// ---------------------------------------------------------------------------

/// The photo import. One input is an image file.
///
/// Invariants: no panic; within [`PhotoTarget::options`]' limits: the
/// process's peak memory grows by at most [`PhotoTarget::memory_budget`]
/// (checked when `measure_memory` is set: the driver, a process of its
/// own) and the engine's time limit holds; an error is one of the photo's
/// (never `Internal`, never `InvalidOptions`) with a message; a prepared
/// photo is a baseline JPEG (SOI … EOI) that decodes to its stated size,
/// whose longest edge is at most `max_edge`, with no EXIF, its thumbnail a
/// JPEG of at most `thumb_edge`, and its hash the SHA-256 of its bytes.
pub struct PhotoTarget {
    seeds: Vec<(String, Vec<u8>)>,
    /// Reset and read the process's peak RSS around each input.
    pub measure_memory: bool,
    /// The largest growth of the peak RSS over one input, in bytes.
    peak_growth: std::cell::Cell<u64>,
}

impl PhotoTarget {
    pub fn new(seeds: Vec<(String, Vec<u8>)>) -> PhotoTarget {
        PhotoTarget {
            seeds,
            measure_memory: false,
            peak_growth: std::cell::Cell::new(0),
        }
    }

    /// Smaller than the phone's defaults, so an input at the limit decodes
    /// in milliseconds; the same code paths.
    pub fn options() -> PhotoOptions {
        PhotoOptions {
            max_edge: 512,
            quality: 75,
            thumb_edge: 128,
            max_input_pixels: 4_000_000,
            max_input_bytes: 1 << 20,
        }
    }

    /// How much the peak RSS may grow over one input: the full-size image
    /// at 4 bytes a pixel twice over (decoder output and the decoder's own
    /// buffers) plus 48 MiB for everything else.
    pub fn memory_budget() -> u64 {
        2 * 4 * Self::options().max_input_pixels + (48 << 20)
    }
}

/// `VmRSS` or `VmHWM` of this process, in bytes (Linux).
fn proc_status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Resets the process's peak RSS to its current RSS (Linux ≥ 4.0).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn jpeg_segments_have_exif(jpeg: &[u8]) -> bool {
    let mut i = 2;
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        if marker == 0xDA {
            return false;
        }
        let len = usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
        if marker == 0xE1 && jpeg[i + 4..].starts_with(b"Exif") {
            return true;
        }
        i += 2 + len;
    }
    false
}

fn check_jpeg(what: &str, bytes: &[u8], size: (u32, u32), max_edge: u32) -> Result<(), Finding> {
    let bad = |detail: String| Err(finding("bad-output", format!("{what}: {detail}")));
    if !bytes.starts_with(&[0xFF, 0xD8]) || !bytes.ends_with(&[0xFF, 0xD9]) {
        return bad("not SOI … EOI".into());
    }
    if size.0 == 0 || size.1 == 0 || size.0.max(size.1) > max_edge {
        return bad(format!(
            "{}×{} for a longest edge of {max_edge}",
            size.0, size.1
        ));
    }
    if jpeg_segments_have_exif(bytes) {
        return bad("it carries EXIF".into());
    }
    match image::load_from_memory_with_format(bytes, image::ImageFormat::Jpeg) {
        Ok(img) if (img.width(), img.height()) == size => Ok(()),
        Ok(img) => bad(format!(
            "says {}×{}, decodes to {}×{}",
            size.0,
            size.1,
            img.width(),
            img.height()
        )),
        Err(e) => bad(format!("does not decode: {e}")),
    }
}

impl Target for PhotoTarget {
    fn name(&self) -> &'static str {
        "photo"
    }

    fn seeds(&self) -> &[(String, Vec<u8>)] {
        &self.seeds
    }

    fn check(&self, input: &[u8]) -> Result<Report, Finding> {
        let opts = Self::options();
        let mut report = Report::default();
        let before = if self.measure_memory && reset_peak_rss() {
            proc_status_bytes("VmRSS:")
        } else {
            None
        };
        let result = prepare(input, &opts);
        let growth = match (before, proc_status_bytes("VmHWM:")) {
            (Some(before), Some(peak)) => peak.saturating_sub(before),
            _ => 0,
        };
        self.peak_growth.set(self.peak_growth.get().max(growth));
        if growth > Self::memory_budget() {
            return Err(finding(
                "memory",
                format!(
                    "peak RSS grew by {} MiB (budget {} MiB) on {}",
                    growth >> 20,
                    Self::memory_budget() >> 20,
                    match &result {
                        Ok(p) => format!("{:?}", p.original),
                        Err(e) => e.to_string(),
                    }
                ),
            ));
        }
        match result {
            Ok(p) => {
                check_jpeg("the photo", &p.jpeg, (p.width, p.height), opts.max_edge)?;
                check_jpeg(
                    "the thumbnail",
                    &p.thumbnail,
                    (p.thumb_width, p.thumb_height),
                    opts.thumb_edge,
                )?;
                let sha: String = Sha256::digest(&p.jpeg)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                if sha != p.sha256 {
                    return Err(finding("bad-output", "sha256 is not the photo's hash"));
                }
                report.add(
                    match p.original.format {
                        wangge_core::photo::PhotoFormat::Jpeg => "ok:jpeg",
                        wangge_core::photo::PhotoFormat::Png => "ok:png",
                        wangge_core::photo::PhotoFormat::Webp => "ok:webp",
                    },
                    &format!(
                        "{:?} {} {}",
                        p.original.orientation,
                        p.width.max(p.height) == opts.max_edge,
                        p.original.gps.is_some()
                    ),
                );
            }
            Err(e @ (PhotoError::Internal { .. } | PhotoError::InvalidOptions { .. })) => {
                return Err(finding("internal-error", e.to_string()));
            }
            Err(e) => {
                has_message("prepare", &e.to_string())?;
                // What tells paths apart: the decoder's own words, not the values.
                let (label, detail) = match &e {
                    PhotoError::Empty => ("err:empty", String::new()),
                    PhotoError::TooManyBytes { .. } => ("err:too_many_bytes", String::new()),
                    PhotoError::Unsupported(_) => ("err:unsupported", String::new()),
                    PhotoError::TooManyPixels { format, .. } => {
                        ("err:too_many_pixels", format.to_string())
                    }
                    PhotoError::Implausible { format, .. } => {
                        ("err:implausible", format.to_string())
                    }
                    PhotoError::Corrupt { format, detail } => {
                        let detail: String = detail.chars().take(48).collect();
                        ("err:corrupt", format!("{format} {detail}"))
                    }
                    _ => ("err:other", e.to_string()),
                };
                report.add(label, &detail);
            }
        }
        Ok(report)
    }

    fn notes(&self) -> Vec<String> {
        if !self.measure_memory {
            return Vec::new();
        }
        vec![format!(
            "peak memory     : {} MiB at most over one input (budget {} MiB)",
            self.peak_growth.get() >> 20,
            Self::memory_budget() >> 20
        )]
    }

    fn mutate(&self, rng: &mut Rng, base: &[u8], donors: &[Vec<u8>]) -> Vec<u8> {
        let mut out = base.to_vec();
        for _ in 0..1 + rng.below(3) {
            if rng.below(10) < 6 {
                image_mutation(rng, &mut out, donors);
            } else {
                mutate_bytes(rng, &mut out, donors);
            }
        }
        out.truncate(MAX_INPUT);
        out
    }
}

// --- Image containers: split, mutate one part, fix lengths and checksums ---

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// One part of a container: a PNG chunk, a JPEG segment before the scan (or
/// the scan and what follows, as one part with `tag` 0xDA), a RIFF chunk.
#[derive(Clone)]
struct Part {
    tag: [u8; 4],
    body: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq)]
enum Container {
    Png,
    Jpeg,
    Riff,
}

fn split_png(b: &[u8]) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut i = 8;
    while i + 12 <= b.len() {
        let len = u32::from_be_bytes(b[i..i + 4].try_into().ok()?) as usize;
        let end = i.checked_add(12)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        parts.push(Part {
            tag: b[i + 4..i + 8].try_into().ok()?,
            body: b[i + 8..i + 8 + len].to_vec(),
        });
        i = end;
    }
    Some(parts)
}

fn join_png(parts: &[Part], fix_crc: bool) -> Vec<u8> {
    let mut out = PNG_SIGNATURE.to_vec();
    for p in parts {
        out.extend_from_slice(&(p.body.len() as u32).to_be_bytes());
        out.extend_from_slice(&p.tag);
        out.extend_from_slice(&p.body);
        // Left wrong now and then, for the decoder's checksum path.
        let mut crc = crc32fast::Hasher::new();
        crc.update(&p.tag);
        crc.update(&p.body);
        let crc = crc.finalize() ^ u32::from(!fix_crc);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    out
}

fn split_jpeg(b: &[u8]) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF {
        let marker = b[i + 1];
        if marker == 0xDA {
            parts.push(Part {
                tag: [0xDA, 0, 0, 0],
                body: b[i + 2..].to_vec(),
            });
            return Some(parts);
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        if len < 2 || i + 2 + len > b.len() {
            return None;
        }
        parts.push(Part {
            tag: [marker, 0, 0, 0],
            body: b[i + 4..i + 2 + len].to_vec(),
        });
        i += 2 + len;
    }
    None
}

fn join_jpeg(parts: &[Part]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    for p in parts {
        out.extend_from_slice(&[0xFF, p.tag[0]]);
        if p.tag[0] != 0xDA {
            let len = (p.body.len() + 2).min(0xFFFF) as u16;
            out.extend_from_slice(&len.to_be_bytes());
        }
        out.extend_from_slice(&p.body);
    }
    out
}

fn split_riff(b: &[u8]) -> Option<Vec<Part>> {
    let mut parts = Vec::new();
    let mut i = 12;
    while i + 8 <= b.len() {
        let len = u32::from_le_bytes(b[i + 4..i + 8].try_into().ok()?) as usize;
        let end = i.checked_add(8)?.checked_add(len)?;
        if end > b.len() {
            return None;
        }
        parts.push(Part {
            tag: b[i..i + 4].try_into().ok()?,
            body: b[i + 8..end].to_vec(),
        });
        i = end + (len & 1);
    }
    Some(parts)
}

fn join_riff(parts: &[Part], head: &[u8]) -> Vec<u8> {
    let mut body = head[8..12].to_vec();
    for p in parts {
        body.extend_from_slice(&p.tag);
        body.extend_from_slice(&(p.body.len() as u32).to_le_bytes());
        body.extend_from_slice(&p.body);
        if p.body.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn container_of(b: &[u8]) -> Option<(Container, Vec<Part>)> {
    if b.starts_with(&PNG_SIGNATURE) {
        split_png(b).map(|p| (Container::Png, p))
    } else if b.starts_with(&[0xFF, 0xD8]) {
        split_jpeg(b).map(|p| (Container::Jpeg, p))
    } else if b.len() >= 12 && b.starts_with(b"RIFF") {
        split_riff(b).map(|p| (Container::Riff, p))
    } else {
        None
    }
}

/// Mutates one chunk or segment of an image (its body's bytes, or a size
/// field of a header chunk), or removes, repeats, reorders one, or borrows
/// one from another image of the same kind; then writes lengths and (nearly
/// always) CRCs back.
fn image_mutation(rng: &mut Rng, buf: &mut Vec<u8>, donors: &[Vec<u8>]) {
    let Some((kind, mut parts)) = container_of(buf) else {
        mutate_bytes(rng, buf, donors);
        return;
    };
    if parts.is_empty() {
        mutate_bytes(rng, buf, donors);
        return;
    }
    let i = rng.below(parts.len());
    match rng.below(10) {
        0 => {
            parts.remove(i);
        }
        1 => {
            let p = parts[i].clone();
            parts.insert(rng.below(parts.len() + 1), p);
        }
        2 if parts.len() > 1 => {
            let j = rng.below(parts.len());
            parts.swap(i, j);
        }
        3 => {
            let same: Vec<Part> = donors
                .iter()
                .filter_map(|d| container_of(d))
                .filter(|(k, _)| *k == kind)
                .flat_map(|(_, p)| p)
                .collect();
            if !same.is_empty() {
                let p = rng.pick(&same).clone();
                parts.insert(rng.below(parts.len() + 1), p);
            }
        }
        4 => {
            // Sizes and counts in a header: widths, heights, bit depths, components.
            let body = &mut parts[i].body;
            if body.len() >= 4 {
                let at = rng.below(body.len().min(16) - 1);
                let v: u16 = *rng.pick(&[0, 1, 2, 3, 255, 256, 0x7fff, 0xffff, 2000, 4096]);
                body[at..at + 2].copy_from_slice(&v.to_be_bytes());
            }
        }
        _ => {
            for _ in 0..1 + rng.below(3) {
                mutate_bytes(rng, &mut parts[i].body, &[]);
            }
        }
    }
    let fix = !rng.one_in(10);
    *buf = match kind {
        Container::Png => join_png(&parts, fix),
        Container::Jpeg => join_jpeg(&parts),
        Container::Riff => join_riff(&parts, &buf[..12]),
    };
}

// --- Seeds ---

fn quadrants(width: u32, height: u32) -> image::RgbImage {
    image::RgbImage::from_fn(width, height, |x, y| {
        let colours: [[u8; 3]; 4] = [[220, 20, 20], [20, 200, 20], [20, 20, 220], [230, 220, 20]];
        let q = usize::from(x >= width / 2) + 2 * usize::from(y >= height / 2);
        let shade = ((x * 7 + y * 3) % 32) as u8;
        let c = colours[q];
        image::Rgb([c[0].saturating_sub(shade), c[1].saturating_sub(shade), c[2]])
    })
}

fn encode(img: image::DynamicImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode a seed image");
    out.into_inner()
}

fn jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encode a seed JPEG");
    out
}

/// `jpeg` with an EXIF APP1 segment after SOI: orientation, and when
/// `full`, a camera, a capture time and a GPS fix.
fn with_exif(jpeg: &[u8], orientation: u16, full: bool) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value as ExifValue};
    let field = |tag, value| Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    };
    let ascii = |s: &str| ExifValue::Ascii(vec![s.as_bytes().to_vec()]);
    let r = |num, denom| Rational { num, denom };
    let mut fields = vec![field(Tag::Orientation, ExifValue::Short(vec![orientation]))];
    if full {
        fields.extend([
            field(Tag::Make, ascii("FuzzPhone")),
            field(Tag::DateTimeOriginal, ascii("2026:03:02 09:15:30")),
            field(Tag::OffsetTimeOriginal, ascii("+08:00")),
            field(Tag::GPSLatitudeRef, ascii("N")),
            field(
                Tag::GPSLatitude,
                ExifValue::Rational(vec![r(31, 1), r(11, 1), r(274_000, 10_000)]),
            ),
            field(Tag::GPSLongitudeRef, ascii("E")),
            field(
                Tag::GPSLongitude,
                ExifValue::Rational(vec![r(121, 1), r(26, 1), r(3_000, 10_000)]),
            ),
        ]);
    }
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = std::io::Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("write EXIF");
    let tiff = tiff.into_inner();
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((8 + tiff.len()) as u16).to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn photo_seeds() -> Vec<(String, Vec<u8>)> {
    use image::{DynamicImage, ImageFormat};
    let small = quadrants(64, 48);
    let rgba = image::RgbaImage::from_fn(40, 30, |x, y| {
        image::Rgba([
            (x * 6) as u8,
            (y * 8) as u8,
            90,
            if x < 20 { 255 } else { 128 },
        ])
    });
    let grey16 = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(24, 20, |x, y| {
        image::Luma([(x * 2000 + y * 700) as u16])
    });
    // Near the pixel limit but a few KB: what a decompression bomb looks like, kept legal.
    let flat = image::GrayImage::from_pixel(2000, 1900, image::Luma([128]));
    vec![
        ("quadrants.jpg".into(), jpeg(&small, 85)),
        (
            "exif-rotated-gps.jpg".into(),
            with_exif(&jpeg(&quadrants(48, 64), 80), 6, true),
        ),
        (
            "exif-mirrored.jpg".into(),
            with_exif(&jpeg(&small, 70), 4, false),
        ),
        ("wide.jpg".into(), jpeg(&quadrants(700, 300), 40)),
        (
            "rgba.png".into(),
            encode(DynamicImage::ImageRgba8(rgba), ImageFormat::Png),
        ),
        (
            "grey16.png".into(),
            encode(DynamicImage::ImageLuma16(grey16), ImageFormat::Png),
        ),
        (
            "flat-3.8mp.png".into(),
            encode(DynamicImage::ImageLuma8(flat), ImageFormat::Png),
        ),
        (
            "lossless.webp".into(),
            encode(
                DynamicImage::ImageRgb8(quadrants(32, 24)),
                ImageFormat::WebP,
            ),
        ),
    ]
}
