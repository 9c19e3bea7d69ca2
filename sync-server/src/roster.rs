//! The roster file: the street's people and units, imported with
//! `wangge-server roster import FILE`.
//!
//! ```json
//! {
//!   "units": [
//!     {"id": "城管中队", "kind": "department"},
//!     {"id": "巡查执法一队", "kind": "patrol_enforcement", "name": "城管巡查执法一队"}
//!   ],
//!   "people": [
//!     {"staff_id": "XT-GO-001", "name": "王建国", "roles": ["grid_officer"],
//!      "units": ["巡查执法一队"], "blocks": ["XT-B1"]},
//!     {"staff_id": "XT-UH-001", "name": "陈志强", "roles": ["handling_unit"],
//!      "units": ["城管中队"], "active": false}
//!   ]
//! }
//! ```
//!
//! Unknown fields are refused (a misspelt `"activ": false` must not silently leave a person
//! active). The whole file is checked before anything is stored, and every problem is
//! reported at once, each naming its entry (`people[3] (XT-GO-004)`) and what to fix.
//!
//! The rules, and why:
//!
//! * Staff ids are 1–64 characters of `A-Z a-z 0-9 _ . -`: they are what events carry as
//!   their author and what logs name, so they must be stable, printable and never a name
//!   (names are personal data; a staff id is not).
//! * Staff ids and unit ids are unique in the file: a second entry would silently replace the
//!   first.
//! * Unit ids are what dispatch events name as holders (`"城管中队"`): non-empty, at most 64
//!   characters (the core's limit for an actor's unit), no control characters.
//! * Every unit a person names is a unit of this file **or of the register already in the
//!   database**: a later import of new staff need not repeat the whole unit list, and a unit
//!   is never removed by an import, so a unit once imported stays valid.
//! * Roles are the core's role names; a person has at least one.
//! * Blocks and workstations are cells of the street's grid dataset of that level (a
//!   workstation id in `blocks` is refused: scopes compare ids level by level).
//! * A `handling_unit` person belongs to at least one unit: a handler acts for a unit, and a
//!   case reaches a handler only through the unit it is dispatched to.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use wangge_core::grid::GridLevel;
use wangge_core::{Catalog, Role};

use crate::storage::{Person, Unit, UnitKind};

/// The demo street's roster (`sync-server/data/roster-demo.json`), used by `wangge-server
/// demo` and by tests.
pub const DEMO_ROSTER: &str = include_str!("../data/roster-demo.json");

/// Every role of the core, for validation messages.
const ROLES: [Role; 6] = [
    Role::GridOfficer,
    Role::StreetOfficial,
    Role::WorkstationStaff,
    Role::Centre,
    Role::HandlingUnit,
    Role::Supervisor,
];

/// Every unit kind, for validation messages.
const UNIT_KINDS: [UnitKind; 8] = [
    UnitKind::Centre,
    UnitKind::GridTeam,
    UnitKind::PatrolEnforcement,
    UnitKind::ResidentialService,
    UnitKind::AssessmentInspection,
    UnitKind::Department,
    UnitKind::JointEnforcement,
    UnitKind::DistrictPlatform,
];

/// Longest staff id (events and logs carry it).
pub const MAX_STAFF_ID: usize = 64;
/// Longest unit id (the core's limit for an actor's unit).
pub const MAX_UNIT_ID: usize = 64;
/// Longest person or unit name.
pub const MAX_NAME: usize = 100;

/// A unit as written in the roster file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitEntry {
    /// The id, also the holder name in dispatch events.
    pub id: String,
    /// One of the [`UnitKind`] names, e.g. `department`.
    pub kind: String,
    /// Display name, if other than the id.
    #[serde(default)]
    pub name: Option<String>,
}

/// A person as written in the roster file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonEntry {
    /// Stable staff id.
    pub staff_id: String,
    /// Full name.
    pub name: String,
    /// Role names, e.g. `grid_officer`.
    pub roles: Vec<String>,
    /// May administer the server.
    #[serde(default)]
    pub admin: bool,
    /// Unit ids the person acts for.
    #[serde(default)]
    pub units: Vec<String>,
    /// Grid block ids.
    #[serde(default)]
    pub blocks: Vec<String>,
    /// Residential workstation ids.
    #[serde(default)]
    pub workstations: Vec<String>,
    /// False once the person has left.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// The roster file as written, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RosterFile {
    /// The units and teams.
    #[serde(default)]
    pub units: Vec<UnitEntry>,
    /// The people.
    #[serde(default)]
    pub people: Vec<PersonEntry>,
}

/// A validated roster, ready for [`crate::storage::Storage::upsert_roster`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    /// The units, in the file's order.
    pub units: Vec<Unit>,
    /// The people, in the file's order.
    pub people: Vec<Person>,
}

/// Which entry of the file a problem is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `units[index]`.
    Unit {
        /// Position in the `units` array, from 0.
        index: usize,
        /// Its id as written.
        id: String,
    },
    /// `people[index]`.
    Person {
        /// Position in the `people` array, from 0.
        index: usize,
        /// Its staff id as written (shown escaped if it is not a valid one).
        staff_id: String,
    },
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entry::Unit { index, id } => write!(f, "units[{index}] ({id:?})"),
            Entry::Person { index, staff_id } => write!(f, "people[{index}] ({staff_id:?})"),
        }
    }
}

/// One problem of a roster file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The file has no units and no people.
    #[error(
        "the roster is empty: list the street's units and people (see sync-server/data/roster-demo.json)"
    )]
    Empty,
    /// A staff id with characters or a length that is not allowed.
    #[error(
        "{entry}: staff id must be 1-{MAX_STAFF_ID} characters of A-Z a-z 0-9 _ . - \
         (a stable code such as XT-GO-001, never a name)"
    )]
    BadStaffId {
        /// The entry.
        entry: Entry,
    },
    /// A staff id listed twice.
    #[error("{entry}: staff id already used by people[{first}]; give each person one entry")]
    DuplicateStaffId {
        /// The second entry.
        entry: Entry,
        /// Index of the first entry.
        first: usize,
    },
    /// A unit id that is empty, too long or holds control characters.
    #[error(
        "{entry}: unit id must be 1-{MAX_UNIT_ID} characters without control characters \
         or surrounding spaces (it is the holder name dispatch uses, e.g. 城管中队)"
    )]
    BadUnitId {
        /// The entry.
        entry: Entry,
    },
    /// A unit id listed twice.
    #[error("{entry}: unit id already used by units[{first}]; give each unit one entry")]
    DuplicateUnit {
        /// The second entry.
        entry: Entry,
        /// Index of the first entry.
        first: usize,
    },
    /// An unknown unit kind.
    #[error(
        "{entry}: unknown unit kind {kind:?}; use one of {}",
        unit_kind_names()
    )]
    UnknownUnitKind {
        /// The entry.
        entry: Entry,
        /// The kind as written.
        kind: String,
    },
    /// A name that is empty, too long or holds control characters.
    #[error("{entry}: name must be 1-{MAX_NAME} characters without control characters")]
    BadName {
        /// The entry.
        entry: Entry,
    },
    /// A person without roles.
    #[error("{entry}: give the person at least one role ({})", role_names())]
    NoRoles {
        /// The entry.
        entry: Entry,
    },
    /// An unknown role name.
    #[error("{entry}: unknown role {role:?}; use one of {}", role_names())]
    UnknownRole {
        /// The entry.
        entry: Entry,
        /// The role as written.
        role: String,
    },
    /// The same role, unit, block or workstation twice in one person.
    #[error("{entry}: {what} {value:?} is listed twice; list it once")]
    Repeated {
        /// The entry.
        entry: Entry,
        /// "role", "unit", "block" or "workstation".
        what: &'static str,
        /// The repeated value.
        value: String,
    },
    /// A unit neither in the file nor in the register.
    #[error(
        "{entry}: unit {unit:?} is neither in this file's units nor in the server's register; \
         add it to \"units\" or correct the name"
    )]
    UnknownUnit {
        /// The entry.
        entry: Entry,
        /// The unit as written.
        unit: String,
    },
    /// A block or workstation that is not in the street's grid dataset.
    #[error(
        "{entry}: {expected} {id:?} is not in the street's grid dataset; use an id of a {expected} cell (e.g. XT-B1, XT-W01)"
    )]
    UnknownGrid {
        /// The entry.
        entry: Entry,
        /// The id as written.
        id: String,
        /// The level the list asks for.
        expected: GridLevel,
    },
    /// A grid cell of another level than the list asks for.
    #[error(
        "{entry}: {id:?} is a {actual} cell but is listed under {expected}s; move it to the right list"
    )]
    WrongGridLevel {
        /// The entry.
        entry: Entry,
        /// The id as written.
        id: String,
        /// The level the list asks for.
        expected: GridLevel,
        /// The cell's level.
        actual: GridLevel,
    },
    /// A handling_unit person without units.
    #[error("{entry}: a handling_unit acts for a unit; list the person's unit(s) in \"units\"")]
    HandlerWithoutUnit {
        /// The entry.
        entry: Entry,
    },
}

fn role_names() -> String {
    ROLES.map(Role::as_str).join(", ")
}

fn unit_kind_names() -> String {
    UNIT_KINDS
        .iter()
        .filter_map(|k| kind_str(*k))
        .collect::<Vec<_>>()
        .join(", ")
}

fn kind_str(kind: UnitKind) -> Option<String> {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

fn show_problems(problems: &[Problem]) -> String {
    let mut text = format!(
        "{} problem{} to fix; nothing was imported:",
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    );
    for p in problems {
        text.push_str("\n  - ");
        text.push_str(&p.to_string());
    }
    text
}

/// Why a roster cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    /// The file cannot be read.
    #[error("cannot read the roster file {path}: {source}; check the path")]
    Read {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not JSON of the roster's shape.
    #[error(
        "the roster {origin} is not a valid roster: {source}; expected {{\"units\": [{{\"id\", \"kind\", \"name\"?}}], \
         \"people\": [{{\"staff_id\", \"name\", \"roles\", \"admin\"?, \"units\"?, \"blocks\"?, \"workstations\"?, \"active\"?}}]}}"
    )]
    Parse {
        /// The file (or "text").
        origin: String,
        /// The error, with its line and column.
        source: serde_json::Error,
    },
    /// The file is well-formed but some entries are wrong.
    #[error("the roster {origin} has {}", show_problems(problems))]
    Invalid {
        /// The file (or "text").
        origin: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

impl RosterError {
    /// The problems of an [`RosterError::Invalid`] roster (empty for the other errors).
    pub fn problems(&self) -> &[Problem] {
        match self {
            RosterError::Invalid { problems, .. } => problems,
            _ => &[],
        }
    }
}

/// Whether `id` is a valid staff id.
pub fn is_valid_staff_id(id: &str) -> bool {
    (1..=MAX_STAFF_ID).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn is_valid_unit_id(id: &str) -> bool {
    let n = id.chars().count();
    (1..=MAX_UNIT_ID).contains(&n) && id.trim() == id && !id.chars().any(char::is_control)
}

fn is_valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=MAX_NAME).contains(&n) && !name.trim().is_empty() && !name.chars().any(char::is_control)
}

fn parse_role(name: &str) -> Option<Role> {
    ROLES.into_iter().find(|r| r.as_str() == name)
}

fn parse_unit_kind(name: &str) -> Option<UnitKind> {
    UNIT_KINDS
        .into_iter()
        .find(|k| kind_str(*k).as_deref() == Some(name))
}

/// Reads and validates a roster file. `known_units` are the units already in the register.
pub fn load(path: &Path, catalog: &Catalog, known_units: &[Unit]) -> Result<Roster, RosterError> {
    let text = std::fs::read_to_string(path).map_err(|source| RosterError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&path.display().to_string(), &text, catalog, known_units)
}

/// Parses and validates roster text; `origin` names it in errors (a file name).
pub fn parse(
    origin: &str,
    text: &str,
    catalog: &Catalog,
    known_units: &[Unit],
) -> Result<Roster, RosterError> {
    let file: RosterFile = serde_json::from_str(text).map_err(|source| RosterError::Parse {
        origin: origin.to_owned(),
        source,
    })?;
    validate(file, catalog, known_units).map_err(|problems| RosterError::Invalid {
        origin: origin.to_owned(),
        problems,
    })
}

/// Records `value` in `seen`, or a [`Problem::Repeated`].
fn once<'a>(
    seen: &mut HashSet<&'a str>,
    value: &'a str,
    what: &'static str,
    entry: &Entry,
    problems: &mut Vec<Problem>,
) {
    if !seen.insert(value) {
        problems.push(Problem::Repeated {
            entry: entry.clone(),
            what,
            value: value.to_owned(),
        });
    }
}

/// Checks a roster file against the rules of the module documentation and the street's
/// grids; returns every problem found, or the roster.
pub fn validate(
    file: RosterFile,
    catalog: &Catalog,
    known_units: &[Unit],
) -> Result<Roster, Vec<Problem>> {
    let mut problems = Vec::new();
    if file.units.is_empty() && file.people.is_empty() {
        return Err(vec![Problem::Empty]);
    }

    let mut unit_index: HashMap<&str, usize> = HashMap::new();
    let mut units = Vec::new();
    for (index, u) in file.units.iter().enumerate() {
        let entry = Entry::Unit {
            index,
            id: u.id.clone(),
        };
        if !is_valid_unit_id(&u.id) {
            problems.push(Problem::BadUnitId {
                entry: entry.clone(),
            });
        } else if let Some(&first) = unit_index.get(u.id.as_str()) {
            problems.push(Problem::DuplicateUnit {
                entry: entry.clone(),
                first,
            });
        } else {
            unit_index.insert(&u.id, index);
        }
        if let Some(name) = &u.name
            && !is_valid_name(name)
        {
            problems.push(Problem::BadName {
                entry: entry.clone(),
            });
        }
        match parse_unit_kind(&u.kind) {
            Some(kind) => units.push(Unit {
                id: u.id.clone(),
                kind,
                name: u.name.clone(),
            }),
            None => problems.push(Problem::UnknownUnitKind {
                entry,
                kind: u.kind.clone(),
            }),
        }
    }
    let unit_known =
        |id: &str| unit_index.contains_key(id) || known_units.iter().any(|u| u.id == id);

    let mut staff_index: HashMap<&str, usize> = HashMap::new();
    let mut people = Vec::new();
    for (index, p) in file.people.iter().enumerate() {
        let entry = Entry::Person {
            index,
            staff_id: p.staff_id.clone(),
        };
        let before = problems.len();
        if !is_valid_staff_id(&p.staff_id) {
            problems.push(Problem::BadStaffId {
                entry: entry.clone(),
            });
        } else if let Some(&first) = staff_index.get(p.staff_id.as_str()) {
            problems.push(Problem::DuplicateStaffId {
                entry: entry.clone(),
                first,
            });
        } else {
            staff_index.insert(&p.staff_id, index);
        }
        if !is_valid_name(&p.name) {
            problems.push(Problem::BadName {
                entry: entry.clone(),
            });
        }

        if p.roles.is_empty() {
            problems.push(Problem::NoRoles {
                entry: entry.clone(),
            });
        }
        let mut roles = Vec::new();
        let mut seen = HashSet::new();
        for name in &p.roles {
            once(&mut seen, name, "role", &entry, &mut problems);
            match parse_role(name) {
                Some(role) => roles.push(role),
                None => problems.push(Problem::UnknownRole {
                    entry: entry.clone(),
                    role: name.clone(),
                }),
            }
        }

        let mut seen = HashSet::new();
        for unit in &p.units {
            once(&mut seen, unit, "unit", &entry, &mut problems);
            if !unit_known(unit) {
                problems.push(Problem::UnknownUnit {
                    entry: entry.clone(),
                    unit: unit.clone(),
                });
            }
        }
        if roles.contains(&Role::HandlingUnit) && p.units.is_empty() {
            problems.push(Problem::HandlerWithoutUnit {
                entry: entry.clone(),
            });
        }

        for (list, expected, what) in [
            (&p.blocks, GridLevel::Block, "block"),
            (&p.workstations, GridLevel::Workstation, "workstation"),
        ] {
            let mut seen = HashSet::new();
            for id in list {
                once(&mut seen, id, what, &entry, &mut problems);
                match catalog.grids.cell(id) {
                    None => problems.push(Problem::UnknownGrid {
                        entry: entry.clone(),
                        id: id.clone(),
                        expected,
                    }),
                    Some(cell) if cell.level() != expected => {
                        problems.push(Problem::WrongGridLevel {
                            entry: entry.clone(),
                            id: id.clone(),
                            expected,
                            actual: cell.level(),
                        })
                    }
                    Some(_) => {}
                }
            }
        }

        if problems.len() == before {
            people.push(Person {
                staff_id: p.staff_id.clone(),
                name: p.name.clone(),
                roles,
                admin: p.admin,
                units: p.units.clone(),
                blocks: p.blocks.clone(),
                workstations: p.workstations.clone(),
                active: p.active,
            });
        }
    }

    if problems.is_empty() {
        Ok(Roster { units, people })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn catalog() -> Arc<Catalog> {
        static C: std::sync::OnceLock<Arc<Catalog>> = std::sync::OnceLock::new();
        C.get_or_init(|| Arc::new(Catalog::demo().unwrap())).clone()
    }

    fn check(text: &str) -> Result<Roster, RosterError> {
        parse("test.json", text, &catalog(), &[])
    }

    fn problems(text: &str) -> Vec<Problem> {
        check(text).unwrap_err().problems().to_vec()
    }

    fn person(index: usize, staff_id: &str) -> Entry {
        Entry::Person {
            index,
            staff_id: staff_id.into(),
        }
    }

    const UNITS: &str = r#""units": [{"id": "城管中队", "kind": "department"}]"#;

    #[test]
    fn the_demo_roster_is_valid_and_names_the_units_dispatch_uses() {
        let roster = parse("demo", DEMO_ROSTER, &catalog(), &[]).unwrap();
        let unit = |id: &str| roster.units.iter().any(|u| u.id == id);
        // Unit names the demo, the core's tests and the e2e tests dispatch to.
        for id in [
            "城管中队",
            "物业",
            "市政科",
            "联合执法队",
            "区级平台",
            "管理中心",
        ] {
            assert!(unit(id), "the demo roster lacks unit {id}");
        }
        // Every responsible unit of the demo checklist can be dispatched to.
        for item in catalog().checklist.items() {
            assert!(
                unit(&item.responsible_unit),
                "checklist item {} names unit {} the demo roster lacks",
                item.id,
                item.responsible_unit
            );
        }
        let kinds = |kind: UnitKind| roster.units.iter().filter(|u| u.kind == kind).count();
        assert_eq!(kinds(UnitKind::PatrolEnforcement), 3);
        assert_eq!(kinds(UnitKind::ResidentialService), 3);
        assert_eq!(kinds(UnitKind::AssessmentInspection), 3);
        let with = |role: Role| {
            roster
                .people
                .iter()
                .filter(move |p| p.roles.contains(&role))
        };
        assert!(with(Role::Centre).count() >= 2);
        assert!(with(Role::Supervisor).count() >= 1);
        assert!(with(Role::WorkstationStaff).count() >= 18);
        assert!(
            with(Role::HandlingUnit).any(|p| p.units.iter().any(|u| u == "城管中队")),
            "a handler of 城管中队"
        );
        for block in catalog().grids.cells_at(GridLevel::Block) {
            assert!(
                with(Role::GridOfficer).any(|p| p.blocks.iter().any(|b| b == block.id())),
                "no grid officer covers {}",
                block.id()
            );
        }
        for ws in catalog().grids.cells_at(GridLevel::Workstation) {
            assert!(
                with(Role::WorkstationStaff).any(|p| p.workstations.iter().any(|w| w == ws.id())),
                "no staff at {}",
                ws.id()
            );
        }
    }

    #[test]
    fn a_minimal_roster_loads_with_its_defaults() {
        let roster = check(&format!(
            r#"{{{UNITS}, "people": [{{"staff_id": "XT-UH-001", "name": "陈志强",
                "roles": ["handling_unit"], "units": ["城管中队"]}}]}}"#
        ))
        .unwrap();
        assert_eq!(
            roster.people,
            vec![Person {
                staff_id: "XT-UH-001".into(),
                name: "陈志强".into(),
                roles: vec![Role::HandlingUnit],
                admin: false,
                units: vec!["城管中队".into()],
                blocks: vec![],
                workstations: vec![],
                active: true,
            }]
        );
        assert_eq!(roster.units[0].kind, UnitKind::Department);
    }

    #[test]
    fn unknown_fields_and_bad_json_are_refused_with_their_line() {
        let err = check(
            r#"{"people": [{"staff_id": "A", "name": "x", "roles": ["centre"],
                "activ": false}]}"#,
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, RosterError::Parse { .. }), "{text}");
        assert!(text.contains("activ") && text.contains("line 2"), "{text}");
        let err = check(r#"{"people": [}"#).unwrap_err();
        assert!(err.to_string().contains("line 1"), "{err}");
        assert!(matches!(
            check("{}").unwrap_err().problems(),
            [Problem::Empty]
        ));
    }

    #[test]
    fn staff_ids_must_be_codes_and_unique() {
        let found = problems(
            r#"{"people": [
                {"staff_id": "XT-GO-001", "name": "a", "roles": ["grid_officer"]},
                {"staff_id": "王建国", "name": "b", "roles": ["grid_officer"]},
                {"staff_id": "", "name": "c", "roles": ["grid_officer"]},
                {"staff_id": "XT-GO-001", "name": "d", "roles": ["grid_officer"]},
                {"staff_id": "has space", "name": "e", "roles": ["grid_officer"]}
            ]}"#,
        );
        assert_eq!(
            found,
            vec![
                Problem::BadStaffId {
                    entry: person(1, "王建国")
                },
                Problem::BadStaffId {
                    entry: person(2, "")
                },
                Problem::DuplicateStaffId {
                    entry: person(3, "XT-GO-001"),
                    first: 0
                },
                Problem::BadStaffId {
                    entry: person(4, "has space")
                },
            ]
        );
        assert!(is_valid_staff_id(&"a".repeat(64)));
        assert!(!is_valid_staff_id(&"a".repeat(65)));
        assert!(is_valid_staff_id("XT_GO.01-a"));
    }

    #[test]
    fn units_must_be_unique_well_named_and_of_a_known_kind() {
        let found = problems(
            r#"{"units": [
                {"id": "城管中队", "kind": "department"},
                {"id": "城管中队", "kind": "department"},
                {"id": " 物业", "kind": "department"},
                {"id": "市政科", "kind": "departmnet"}
            ]}"#,
        );
        let unit = |index: usize, id: &str| Entry::Unit {
            index,
            id: id.into(),
        };
        assert_eq!(
            found,
            vec![
                Problem::DuplicateUnit {
                    entry: unit(1, "城管中队"),
                    first: 0
                },
                Problem::BadUnitId {
                    entry: unit(2, " 物业")
                },
                Problem::UnknownUnitKind {
                    entry: unit(3, "市政科"),
                    kind: "departmnet".into()
                },
            ]
        );
        let text = check(r#"{"units": [{"id": "x", "kind": "nope"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("units[0] (\"x\")") && text.contains("patrol_enforcement"),
            "{text}"
        );
    }

    #[test]
    fn roles_must_be_given_and_known() {
        let found = problems(
            r#"{"people": [
                {"staff_id": "A", "name": "a", "roles": []},
                {"staff_id": "B", "name": "b", "roles": ["officer", "centre", "centre"]}
            ]}"#,
        );
        assert_eq!(
            found,
            vec![
                Problem::NoRoles {
                    entry: person(0, "A")
                },
                Problem::UnknownRole {
                    entry: person(1, "B"),
                    role: "officer".into()
                },
                Problem::Repeated {
                    entry: person(1, "B"),
                    what: "role",
                    value: "centre".into()
                },
            ]
        );
        let text = check(r#"{"people": [{"staff_id": "B", "name": "b", "roles": ["officer"]}]}"#)
            .unwrap_err()
            .to_string();
        assert!(
            text.contains("people[0] (\"B\")") && text.contains("grid_officer, street_official"),
            "{text}"
        );
    }

    #[test]
    fn units_of_people_must_exist_in_the_file_or_the_register() {
        let text = r#"{"people": [
            {"staff_id": "A", "name": "a", "roles": ["handling_unit"], "units": ["物业"]},
            {"staff_id": "B", "name": "b", "roles": ["handling_unit"]}
        ]}"#;
        let found = check(text).unwrap_err().problems().to_vec();
        assert_eq!(
            found,
            vec![
                Problem::UnknownUnit {
                    entry: person(0, "A"),
                    unit: "物业".into()
                },
                Problem::HandlerWithoutUnit {
                    entry: person(1, "B")
                },
            ]
        );
        // A unit already in the register is enough.
        let known = [Unit {
            id: "物业".into(),
            kind: UnitKind::Department,
            name: None,
        }];
        let err = parse("t", text, &catalog(), &known).unwrap_err();
        assert_eq!(
            err.problems(),
            [Problem::HandlerWithoutUnit {
                entry: person(1, "B")
            }]
        );
    }

    #[test]
    fn blocks_and_workstations_must_be_cells_of_their_level() {
        let found = problems(
            r#"{"people": [{"staff_id": "A", "name": "a", "roles": ["grid_officer"],
                "blocks": ["XT-B1", "XT-W01", "XT-B9"],
                "workstations": ["XT-W01", "XT-B2", "XT-W01-U1", "XT-W01"]}]}"#,
        );
        assert_eq!(
            found,
            vec![
                Problem::WrongGridLevel {
                    entry: person(0, "A"),
                    id: "XT-W01".into(),
                    expected: GridLevel::Block,
                    actual: GridLevel::Workstation
                },
                Problem::UnknownGrid {
                    entry: person(0, "A"),
                    id: "XT-B9".into(),
                    expected: GridLevel::Block
                },
                Problem::WrongGridLevel {
                    entry: person(0, "A"),
                    id: "XT-B2".into(),
                    expected: GridLevel::Workstation,
                    actual: GridLevel::Block
                },
                Problem::WrongGridLevel {
                    entry: person(0, "A"),
                    id: "XT-W01-U1".into(),
                    expected: GridLevel::Workstation,
                    actual: GridLevel::Unit
                },
                Problem::Repeated {
                    entry: person(0, "A"),
                    what: "workstation",
                    value: "XT-W01".into()
                },
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_at_once_and_says_nothing_was_imported() {
        let err = check(
            r#"{"units": [{"id": "", "kind": "department"}],
                "people": [{"staff_id": "A A", "name": "", "roles": ["x"]}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.problems().len(), 4, "{err}");
        let text = err.to_string();
        assert!(
            text.contains("4 problems to fix; nothing was imported"),
            "{text}"
        );
    }
}
