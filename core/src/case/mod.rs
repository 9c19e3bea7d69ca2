//! Cases (案件): the header recorded at intake, the events of the case's
//! life, and the state derived from them.

mod event;
mod placement;
mod state;

pub use event::{CaseEvent, CaseEventKind};
pub use placement::grid_ref;
pub(crate) use placement::place_fix;
pub use state::{
    AssignmentEnd, CENTRE, CaseState, CaseStatus, DISTRICT_PLATFORM, HolderSpan, Superseded,
    UnitAssignment, derive, sort_events,
};

use serde::{Deserialize, Serialize};

use crate::catalog::Catalog;
use crate::doc::{DocKind, EventDoc};
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::ids::{CaseId, EventId};
use crate::model::{Actor, GpsFix, PhotoRef, Role, SourceChannel, check_text};

/// Longest description accepted, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
/// Longest note, reason or comment accepted, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most photos on one event or report.
pub const MAX_PHOTOS: usize = 20;

/// The grid cell a case falls in, with its ancestors.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GridRef {
    /// The finest cell (a unit grid where the dataset has them).
    pub cell: String,
    /// The residential workstation the cell belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workstation: Option<String>,
    /// The grid block the cell belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
}

/// What is fixed when a case is recorded. Never edited afterwards:
/// corrections (checklist item, grid) arrive as events, so that concurrent
/// corrections cannot overwrite one another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CaseHeader {
    /// The case's id.
    pub id: CaseId,
    /// The intake channel.
    pub channel: SourceChannel,
    /// The checklist item the reporter picked.
    pub checklist_item: String,
    /// The item's category, copied at intake so statistics do not change
    /// when the checklist is revised.
    pub category: String,
    /// The item's domain, copied likewise.
    pub domain: String,
    /// What the reporter saw.
    pub description: String,
    /// Where, when a phone took a fix (hotline cases have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<GpsFix>,
    /// A street address, for cases that arrive by phone or WeChat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// The grid the case falls in, when the fix or the reporter decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grid: Option<GridRef>,
    /// When the fix's accuracy circle crossed grid boundaries and nobody
    /// chose: the cells it may be in, for the centre to decide.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grid_candidates: Vec<String>,
    /// Who reported it.
    pub reporter: Actor,
    /// "Before" photos.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub photos: Vec<PhotoRef>,
    /// The ticket number of the outside channel (e.g. a 12345 work order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_ref: Option<String>,
}

impl CaseHeader {
    /// Checks the free text, photos, position and reporter of a header that
    /// arrived from elsewhere (the same limits [`NewCase`] has at intake).
    pub fn validate(&self) -> Result<()> {
        self.reporter.validate()?;
        check_text("description", &self.description, MAX_DESCRIPTION_CHARS)?;
        for (field, text) in [
            ("checklist item", &self.checklist_item),
            ("category", &self.category),
            ("domain", &self.domain),
        ] {
            check_text(field, text, 64)?;
        }
        if let Some(gps) = &self.gps {
            gps.validate()?;
        }
        if let Some(address) = &self.address {
            check_text("address", address, 200)?;
        }
        if let Some(r) = &self.external_ref {
            check_text("external reference", r, 64)?;
        }
        if self.grid_candidates.len() > 64 {
            return Err(Error::invalid(
                "grid candidates",
                format!("{} candidates is too many", self.grid_candidates.len()),
            ));
        }
        check_photos(&self.photos)
    }
}

/// A case as a screen shows it: header, ordered timeline and derived state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CaseRecord {
    /// The intake facts.
    pub header: CaseHeader,
    /// Every event, in the order the derivation applies them.
    pub events: Vec<CaseEvent>,
    /// The derived state.
    pub state: CaseState,
}

impl CaseRecord {
    /// Every photo of the case, each once, with the time of the report or event that first
    /// attached it (ms since the epoch): the report's photos first, then the events' in
    /// timeline order.
    pub fn photos_attached(&self) -> Vec<(&PhotoRef, i64)> {
        let mut seen = std::collections::HashSet::new();
        let header = self
            .header
            .photos
            .iter()
            .map(|p| (p, self.state.reported_at));
        let events = self
            .events
            .iter()
            .flat_map(|e| e.kind.photos().iter().map(move |p| (p, e.at.wall_ms)));
        header
            .chain(events)
            .filter(|(p, _)| seen.insert(p.sha256.as_str()))
            .collect()
    }
}

/// What a reporter supplies to record a case.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCase {
    /// The intake channel.
    pub channel: SourceChannel,
    /// The checklist item picked.
    pub checklist_item: String,
    /// What was seen.
    pub description: String,
    /// The phone's fix, if any.
    pub gps: Option<GpsFix>,
    /// A street address, if any.
    pub address: Option<String>,
    /// A grid chosen by the reporter (required when the fix is ambiguous and
    /// the reporter wants to decide, or when there is no fix).
    pub grid: Option<String>,
    /// "Before" photos (already in the photo store).
    pub photos: Vec<PhotoRef>,
    /// Ticket number of the outside channel.
    pub external_ref: Option<String>,
}

impl NewCase {
    /// A case reported from a grid officer's handheld with a GPS fix.
    pub fn from_handheld(checklist_item: &str, description: &str, gps: GpsFix) -> Self {
        NewCase {
            channel: SourceChannel::GridOfficerHandheld,
            checklist_item: checklist_item.to_owned(),
            description: description.to_owned(),
            gps: Some(gps),
            address: None,
            grid: None,
            photos: Vec::new(),
            external_ref: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
        check_text("description", &self.description, MAX_DESCRIPTION_CHARS)?;
        if let Some(gps) = &self.gps {
            gps.validate()?;
        }
        if let Some(address) = &self.address {
            check_text("address", address, 200)?;
        }
        if let Some(r) = &self.external_ref {
            check_text("external reference", r, 64)?;
        }
        check_photos(&self.photos)
    }
}

/// Decides the grid of a new case: the reporter's choice if given (it must be a known cell),
/// else the fix's cell when the accuracy circle lies inside one cell, else no grid and the
/// candidates for the centre to choose from.
pub fn place_case(catalog: &Catalog, new: &NewCase) -> Result<(Option<GridRef>, Vec<String>)> {
    let grids = &catalog.grids;
    if let Some(cell) = &new.grid {
        if grids.cell(cell).is_none() {
            return Err(Error::UnknownGrid(cell.clone()));
        }
        return Ok((Some(grid_ref(grids, cell)), Vec::new()));
    }
    let Some(fix) = &new.gps else {
        return Ok((None, Vec::new()));
    };
    place_fix(grids, fix)
}

/// A new case as it is first written, on a phone or by the server's intake desk: checks
/// `new`, looks its checklist item up, places it in the grid ([`place_case`]) and makes the
/// header and the report event, stamped `at`, both by `by`. One definition, so a case the
/// centre types in is the same document a phone would have made.
pub fn open_case(
    catalog: &Catalog,
    by: &Actor,
    id: CaseId,
    new: NewCase,
    at: Hlc,
) -> Result<(CaseHeader, CaseEvent)> {
    new.validate()?;
    let item = catalog
        .checklist
        .item(&new.checklist_item)
        .ok_or_else(|| Error::UnknownChecklistItem(new.checklist_item.clone()))?;
    let (grid, grid_candidates) = place_case(catalog, &new)?;
    let header = CaseHeader {
        id,
        channel: new.channel,
        checklist_item: item.id.clone(),
        category: item.category.clone(),
        domain: item.domain.clone(),
        description: new.description.trim().to_owned(),
        gps: new.gps,
        address: new.address,
        grid,
        grid_candidates,
        reporter: by.clone(),
        photos: new.photos,
        external_ref: new.external_ref,
    };
    let event = CaseEvent {
        id: EventId::generate(),
        at,
        by: by.clone(),
        kind: CaseEventKind::Reported,
    };
    Ok((header, event))
}

/// The Automerge document of a new case: its header and its report event, as one change by
/// `actor`.
pub fn case_document(
    header: &CaseHeader,
    report: &CaseEvent,
    actor: &automerge::ActorId,
) -> Result<EventDoc> {
    EventDoc::create(
        &header.id.to_string(),
        actor,
        DocKind::Case,
        header,
        &[(report.id.to_string(), report)],
    )
}

/// The document of a case the server creates itself (intake at the centre's desk, Open311):
/// as [`case_document`], with the report sealed together with the header by `seal` (the
/// server's MAC of [`crate::authority::report_seal_text`]), so that a device may relay the
/// case back to a server restored from a backup that lacks it.
pub fn sealed_case_document(
    header: &CaseHeader,
    report: &CaseEvent,
    actor: &automerge::ActorId,
    seal: impl FnOnce(&str) -> String,
) -> Result<EventDoc> {
    let no_events: &[(String, &CaseEvent)] = &[];
    let mut doc = EventDoc::create(
        &header.id.to_string(),
        actor,
        DocKind::Case,
        header,
        no_events,
    )?;
    let header_json = match doc.root_values("header").as_slice() {
        [crate::doc::RootValue::Text(text)] => text.clone(),
        _ => {
            return Err(Error::invalid(
                "header",
                "the new document does not hold its header as text",
            ));
        }
    };
    doc.add_sealed_event(&report.id.to_string(), report, |event_json| {
        seal(&crate::authority::report_seal_text(
            &header_json,
            event_json,
        ))
    })?;
    Ok(doc)
}

pub(crate) fn check_photos(photos: &[PhotoRef]) -> Result<()> {
    if photos.len() > MAX_PHOTOS {
        return Err(Error::invalid(
            "photos",
            format!(
                "{} photos is too many; attach at most {MAX_PHOTOS}",
                photos.len()
            ),
        ));
    }
    photos.iter().try_for_each(PhotoRef::validate)
}

/// Checks the free text, photos and role of an event before it is recorded.
pub(crate) fn check_event_input(by: &Actor, kind: &CaseEventKind) -> Result<()> {
    by.validate()?;
    use CaseEventKind as K;
    match kind {
        K::Reported => {
            return Err(Error::invalid(
                "event",
                "a case's report is recorded with record_case, not added as an event",
            ));
        }
        K::Registered { case_number, .. } => check_text("case number", case_number, 64)?,
        K::Rejected { reason } | K::Reopened { reason } | K::Escalated { reason } => {
            check_text("reason", reason, MAX_NOTE_CHARS)?
        }
        K::Dispatched { units, lead, note } => {
            check_units(units, "dispatch to at least one unit")?;
            if let Some(lead) = lead
                && !units.contains(lead)
            {
                return Err(Error::invalid(
                    "lead",
                    "the lead unit must be one of the units dispatched to",
                ));
            }
            if let Some(n) = note {
                check_text("note", n, MAX_NOTE_CHARS)?;
            }
        }
        K::Released { unit, reason } => {
            check_text("unit", unit, MAX_UNIT_CHARS)?;
            if let Some(r) = reason {
                check_text("reason", r, MAX_NOTE_CHARS)?;
            }
        }
        K::Withdrawn { units, reason } => {
            check_units(units, "withdraw the dispatch from at least one unit")?;
            check_text("reason", reason, MAX_NOTE_CHARS)?;
        }
        K::HandedBack { reason } => check_text("reason", reason, MAX_NOTE_CHARS)?,
        K::MergedInto { target, note } => {
            check_case_ref("target case", target)?;
            if let Some(n) = note {
                check_text("note", n, MAX_NOTE_CHARS)?;
            }
        }
        K::MergedFrom { source } => check_case_ref("source case", source)?,
        K::HandledOnSpot { note, .. }
        | K::Feedback { note, .. }
        | K::Comment { text: note, .. } => check_text("note", note, MAX_NOTE_CHARS)?,
        K::Arrived { note } | K::Verified { note, .. } | K::Closed { note } => {
            if let Some(n) = note {
                check_text("note", n, MAX_NOTE_CHARS)?;
            }
        }
    }
    check_photos(kind.photos())?;
    check_role(by.role, kind)
}

/// Longest unit name accepted, in characters.
const MAX_UNIT_CHARS: usize = 64;
/// Most units one dispatch or withdrawal names.
const MAX_UNITS: usize = 32;

fn check_units(units: &[String], empty_hint: &str) -> Result<()> {
    if units.is_empty() {
        return Err(Error::invalid("units", empty_hint));
    }
    if units.len() > MAX_UNITS {
        return Err(Error::invalid(
            "units",
            format!(
                "{} units is too many; name at most {MAX_UNITS}",
                units.len()
            ),
        ));
    }
    units
        .iter()
        .try_for_each(|u| check_text("unit", u, MAX_UNIT_CHARS))
}

/// A merge names the other case by its id.
fn check_case_ref(field: &'static str, id: &str) -> Result<()> {
    id.parse::<CaseId>().map(|_| ()).map_err(|_| {
        Error::invalid(
            field,
            "not a case id; name the other case by its id (not its case number)",
        )
    })
}

fn check_role(role: Role, kind: &CaseEventKind) -> Result<()> {
    use CaseEventKind as K;
    let (allowed, hint): (&[Role], &'static str) = match kind {
        K::Registered { .. }
        | K::Rejected { .. }
        | K::Dispatched { .. }
        | K::Closed { .. }
        | K::Escalated { .. }
        | K::Released { .. }
        | K::Withdrawn { .. }
        | K::MergedInto { .. }
        | K::MergedFrom { .. } => (&[Role::Centre], "the management centre does this"),
        K::Verified { .. } | K::Reopened { .. } => (
            &[Role::Centre, Role::Supervisor],
            "the centre or a supervision team does this",
        ),
        K::HandledOnSpot { .. } => (
            &[
                Role::GridOfficer,
                Role::StreetOfficial,
                Role::WorkstationStaff,
            ],
            "the grid team or workstation on site does this",
        ),
        K::Arrived { .. } | K::Feedback { .. } => (
            &[
                Role::HandlingUnit,
                Role::GridOfficer,
                Role::StreetOfficial,
                Role::Centre,
            ],
            "the unit the case was dispatched to does this",
        ),
        K::HandedBack { .. } => (
            &[Role::HandlingUnit, Role::GridOfficer, Role::StreetOfficial],
            "a unit the case was dispatched to hands it back; the centre withdraws a dispatch instead",
        ),
        K::Reported | K::Comment { .. } => return Ok(()),
    };
    if allowed.contains(&role) {
        Ok(())
    } else {
        Err(Error::RoleNotAllowed {
            role: role.as_str(),
            event: kind.name(),
            hint,
        })
    }
}

/// Checks whether `next` may follow `events` as its author sees the case
/// now: the role and input checks, then the workflow rule for the case's
/// current state. Used before anything is written.
pub fn validate_next(
    header: &CaseHeader,
    events: &[CaseEvent],
    next: &CaseEvent,
    catalog: &Catalog,
) -> Result<()> {
    check_event_input(&next.by, &next.kind)?;
    state::check_next(header, events, next, catalog).map_err(|(status, refusal)| {
        Error::EventNotAllowed {
            event: next.kind.name(),
            status,
            hint: refusal.hint,
        }
    })
}
