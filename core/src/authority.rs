//! The authority rules: what a pushed change may contain.
//!
//! Devices write freely offline, and the server stores a pushed change only
//! after checking it against these rules. The same rules run on the device
//! before it writes (see [`check_case_event`]), so an honest app is never
//! refused; a refusal means a bug, a stale enrolment, or an attacker.
//!
//! # The rules, and why
//!
//! Comparing the document the server holds (`before`) with the document
//! after merging the push (`after`), by *content*, not by Automerge
//! operation:
//!
//! 1. **The header is written once.** Every value of `kind`, `schema` and
//!    `header` in `after` is the same as in `before`. Content, not
//!    operations: two workstation staff may create the same zero report
//!    offline and both write the identical header, which merges into a
//!    harmless conflict of equal values; a device that rewrites a case's
//!    header (reporter, block, description) adds a different value and is
//!    refused.
//! 2. **Events are only added.** Every event of `before` is in `after` with
//!    the same text; nothing is deleted or changed.
//! 3. **Each new event's author is the pushing device's person and device**,
//!    in one of the person's roles and units.
//! 4. **The kind is allowed to that role, and to that unit where it
//!    matters**: a unit (or a grid team) arrives and reports back only on a
//!    case dispatched to it; on-the-spot handling only for checklist items
//!    that allow it; only the centre registers, rejects, dispatches, closes
//!    and escalates; the centre or a supervisor verifies and reopens; and a
//!    case number is never accepted from a device — the server assigns it
//!    when the centre registers.
//! 5. **A new case is reported by its pusher**: the header's reporter is the
//!    author, and the document holds exactly one `reported` event. A case the
//!    server created itself (intake at the desk, Open311) is the exception: its
//!    report is sealed together with its header ([`report_seal_text`]), and any
//!    device of its scope may relay it back to a restored server.
//!
//! Scope (which documents a device may change) is the server's part: it
//! knows the device's blocks, workstations and teams. The device only holds
//! documents of its scope anyway.
//!
//! What the rules do not judge: whether an event still fits the case's state
//! when it arrives. Two officers acting offline may both act; the derivation
//! (`case::state`) folds concurrent events and marks the loser superseded.
//! Refusing it would lose a real action.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;

use crate::case::{CaseEvent, CaseEventKind, CaseHeader, check_event_input};
use crate::catalog::Catalog;
use crate::doc::{DOC_SCHEMA, DocKind, EventDoc, RootValue};
use crate::ids::DeviceId;
use crate::model::{Actor, Role};
use crate::zero_report::{ZeroReportEvent, ZeroReportEventKind, ZeroReportHeader};

const EVENT_PREFIX: &str = "ev:";
/// Root keys of the server's seals: `seal:<event id>` holds the seal of the
/// event `ev:<event id>` (see [`SealVerifier`]).
pub const SEAL_PREFIX: &str = "seal:";

/// Checks the server's seal on an event it made itself.
///
/// Why seals: the back office adds events (a registration with its number, a
/// dispatch, a close) on the server. If the server loses them (restored from
/// a backup), the devices that pulled them are the only copies left, and they
/// push them back; but rule 3 refuses any event that is not the pushing
/// device's person's. A seal — a MAC over the event's exact JSON text under a
/// key only the server holds (kept in its database, so a backup keeps it) —
/// lets the server recognise its own events when any device relays them,
/// while a device still cannot forge one.
pub trait SealVerifier {
    /// True if `seal` is the server's seal of the event text `event_json`.
    fn verify(&self, event_json: &str, seal: &str) -> bool;
}

/// The text the server seals for the report event of a case it creates itself (intake at
/// the centre's desk, Open311): the header's JSON text and the event's, one line each.
///
/// Why the header too: a sealed report lets a device relay the case back to a restored
/// server although the device's person did not report it (rule 5). Sealed alone, the report
/// could be copied into a new document with a header of the copier's choosing; bound to the
/// header it vouches for exactly the case the server made. Compact JSON holds no raw line
/// break, so the two texts cannot be shifted across the separator.
pub fn report_seal_text(header_json: &str, event_json: &str) -> String {
    format!("{header_json}\n{event_json}")
}

/// No seal is valid: what a device, which holds no key, checks with.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoSeals;

impl SealVerifier for NoSeals {
    fn verify(&self, _: &str, _: &str) -> bool {
        false
    }
}

/// Who pushes: the person a device is enrolled to, with the roles and units
/// the server's register gives them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// The person's staff id (what events carry as `by.id`).
    pub person: String,
    /// The roles the person may act in.
    pub roles: Vec<Role>,
    /// The units or teams the person acts for (dispatch holder names).
    pub units: Vec<String>,
    /// The device pushing.
    pub device: DeviceId,
}

impl Author {
    /// The author an actor claims to be, as the device itself sees it: one
    /// role, and its unit if any.
    pub fn of_actor(actor: &Actor) -> Author {
        Author {
            person: actor.id.clone(),
            roles: vec![actor.role],
            units: actor.unit.iter().cloned().collect(),
            device: actor.device,
        }
    }

    /// Refuses `actor` unless it is this author (see [`Author::is`]).
    pub fn check(&self, actor: &Actor) -> Result<(), Refusal> {
        if self.is(actor) {
            Ok(())
        } else {
            Err(wrong_author(actor, self))
        }
    }

    /// Whether `actor` is this author: same person and device, one of the
    /// person's roles, and no unit or one of the person's units.
    pub fn is(&self, actor: &Actor) -> bool {
        actor.id == self.person
            && actor.device == self.device
            && self.roles.contains(&actor.role)
            && actor.unit.as_ref().is_none_or(|u| self.units.contains(u))
    }
}

/// The rule a refused document broke: a stable code for machines (sent on
/// the wire, stored on the device) and a message for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// The bytes are not a well-formed document of the declared kind.
    CorruptDocument,
    /// A root key other than kind, schema, header and events.
    UnknownField,
    /// The header, kind or schema differs from what was first written.
    HeaderChanged,
    /// An event that was stored is gone.
    EventRemoved,
    /// An event that was stored has other content now.
    EventChanged,
    /// A new event (or a new case's reporter) is not the pushing device's
    /// person and device, in one of their roles and units.
    WrongAuthor,
    /// The person's role may not add this kind of event.
    RoleNotAllowed,
    /// A unit acted on a case that was not dispatched to it.
    NotDispatchedToUnit,
    /// On-the-spot handling of an item the checklist does not allow it for.
    NotOnSpotItem,
    /// A registration (with a case number) pushed by a device.
    CaseNumberFromDevice,
    /// A new case without exactly one report, or a report added later.
    InvalidReport,
    /// Text too long, too many photos, a malformed photo reference.
    InvalidInput,
    /// The document is not in the device's scope (server only).
    OutOfScope,
    /// The device is not enrolled to a person of the register (server only).
    NoPerson,
}

impl RefusalCode {
    /// Every code, for documentation and tests.
    pub const ALL: [RefusalCode; 14] = [
        RefusalCode::CorruptDocument,
        RefusalCode::UnknownField,
        RefusalCode::HeaderChanged,
        RefusalCode::EventRemoved,
        RefusalCode::EventChanged,
        RefusalCode::WrongAuthor,
        RefusalCode::RoleNotAllowed,
        RefusalCode::NotDispatchedToUnit,
        RefusalCode::NotOnSpotItem,
        RefusalCode::CaseNumberFromDevice,
        RefusalCode::InvalidReport,
        RefusalCode::InvalidInput,
        RefusalCode::OutOfScope,
        RefusalCode::NoPerson,
    ];

    /// The stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::CorruptDocument => "corrupt_document",
            RefusalCode::UnknownField => "unknown_field",
            RefusalCode::HeaderChanged => "header_changed",
            RefusalCode::EventRemoved => "event_removed",
            RefusalCode::EventChanged => "event_changed",
            RefusalCode::WrongAuthor => "wrong_author",
            RefusalCode::RoleNotAllowed => "role_not_allowed",
            RefusalCode::NotDispatchedToUnit => "not_dispatched_to_unit",
            RefusalCode::NotOnSpotItem => "not_on_spot_item",
            RefusalCode::CaseNumberFromDevice => "case_number_from_device",
            RefusalCode::InvalidReport => "invalid_report",
            RefusalCode::InvalidInput => "invalid_input",
            RefusalCode::OutOfScope => "out_of_scope",
            RefusalCode::NoPerson => "no_person",
        }
    }

    /// Parses the machine name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The rule broken.
    pub code: RefusalCode,
    /// What was wrong and what to do.
    pub message: String,
}

impl Refusal {
    /// The refusal of document `doc_id`, as the sync response carries it.
    pub fn for_doc(self, doc_id: &str) -> crate::sync::protocol::Refused {
        crate::sync::protocol::Refused {
            doc_id: doc_id.to_owned(),
            code: self.code.as_str().to_owned(),
            message: self.message,
        }
    }

    /// A refusal with `code`.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// The content of a document that passed the rules, decoded once so that
/// the caller need not parse it again.
#[derive(Debug, Clone)]
pub enum CheckedContent {
    /// A case.
    Case {
        /// Its header.
        header: Box<CaseHeader>,
        /// Its events, unordered.
        events: Vec<CaseEvent>,
    },
    /// A zero report.
    ZeroReport {
        /// Its header.
        header: ZeroReportHeader,
        /// Its entries, unordered.
        events: Vec<ZeroReportEvent>,
    },
}

/// The root of a document read for the rules: its single-valued fields and
/// its events by id, each as JSON text.
struct Root {
    kind: RootValue,
    schema: RootValue,
    header: String,
    events: BTreeMap<String, String>,
    seals: BTreeMap<String, String>,
}

fn corrupt(message: impl Into<String>) -> Refusal {
    Refusal::new(RefusalCode::CorruptDocument, message)
}

/// The one value of a root key; several *equal* values (identical writes
/// merged) count as one.
fn single(doc: &EventDoc, key: &str, code: RefusalCode) -> Result<RootValue, Refusal> {
    let values = doc.root_values(key);
    let Some(first) = values.first() else {
        return Err(corrupt(format!("the document has no {key}")));
    };
    if values.iter().any(|v| v != first) {
        return Err(Refusal::new(
            code,
            format!(
                "'{key}' was written with different values; it is written once, by the document's creator"
            ),
        ));
    }
    Ok(first.clone())
}

fn text(value: RootValue, what: &str) -> Result<String, Refusal> {
    match value {
        RootValue::Text(t) => Ok(t),
        other => Err(corrupt(format!("{what} is not text but {other:?}"))),
    }
}

fn read_root(doc: &EventDoc, code: RefusalCode) -> Result<Root, Refusal> {
    let mut events = BTreeMap::new();
    let mut seals = BTreeMap::new();
    for key in doc.root_keys() {
        match key.as_str() {
            "kind" | "schema" | "header" => {}
            k if k.starts_with(SEAL_PREFIX) => {
                let value = single(doc, k, RefusalCode::EventChanged)?;
                seals.insert(
                    k[SEAL_PREFIX.len()..].to_owned(),
                    text(value, &format!("seal {k}"))?,
                );
            }
            k if k.starts_with(EVENT_PREFIX) => {
                let value = single(doc, k, RefusalCode::EventChanged)?;
                events.insert(
                    k[EVENT_PREFIX.len()..].to_owned(),
                    text(value, &format!("event {k}"))?,
                );
            }
            other => {
                return Err(Refusal::new(
                    RefusalCode::UnknownField,
                    format!(
                        "the document holds a field '{}' that this platform does not know",
                        other.chars().take(64).collect::<String>()
                    ),
                ));
            }
        }
    }
    Ok(Root {
        kind: single(doc, "kind", code)?,
        schema: single(doc, "schema", code)?,
        header: text(single(doc, "header", code)?, "the header")?,
        events,
        seals,
    })
}

fn parse<T: DeserializeOwned>(json: &str, what: &str) -> Result<T, Refusal> {
    serde_json::from_str(json).map_err(|e| corrupt(format!("{what} does not parse: {e}")))
}

/// Checks a pushed document: `before` is what the checker holds (none for a
/// new document), `after` the result of merging the push into it. Returns
/// the decoded content on success. No seal is accepted (see
/// [`check_push_sealed`]).
pub fn check_push(
    before: Option<&EventDoc>,
    after: &EventDoc,
    kind: DocKind,
    author: &Author,
    catalog: &Catalog,
) -> Result<CheckedContent, Refusal> {
    check_push_sealed(before, after, kind, author, catalog, &NoSeals)
}

/// [`check_push`], where a new event that is not the author's is accepted if
/// it carries a seal `seals` verifies: an event the server made itself and a
/// device relays back (after the server lost it).
pub fn check_push_sealed(
    before: Option<&EventDoc>,
    after: &EventDoc,
    kind: DocKind,
    author: &Author,
    catalog: &Catalog,
    seals: &dyn SealVerifier,
) -> Result<CheckedContent, Refusal> {
    let now = read_root(after, RefusalCode::HeaderChanged)?;
    for id in now.seals.keys() {
        if !now.events.contains_key(id) {
            return Err(corrupt(format!(
                "a seal names event {id}, which the document does not hold"
            )));
        }
    }
    if now.kind != RootValue::Text(kind.as_str().to_owned()) {
        return Err(corrupt(format!(
            "pushed as a {} but the document says {:?}",
            kind.as_str(),
            now.kind
        )));
    }
    if now.schema != RootValue::Uint(DOC_SCHEMA) {
        return Err(corrupt(format!(
            "document layout {:?} is not {DOC_SCHEMA}; update the app",
            now.schema
        )));
    }
    let old = match before {
        Some(b) => Some(read_root(b, RefusalCode::HeaderChanged)?),
        None => None,
    };
    if let Some(old) = &old {
        if old.header != now.header || old.kind != now.kind || old.schema != now.schema {
            return Err(Refusal::new(
                RefusalCode::HeaderChanged,
                "the case's intake facts (header) were changed; they are written once, by the device that created the document",
            ));
        }
        for (id, seal) in &old.seals {
            if now.seals.get(id) != Some(seal) {
                return Err(Refusal::new(
                    RefusalCode::EventChanged,
                    format!("the seal of event {id} was changed or removed"),
                ));
            }
        }
        for (id, json) in &old.events {
            match now.events.get(id) {
                None => {
                    return Err(Refusal::new(
                        RefusalCode::EventRemoved,
                        format!("event {id} was deleted; events are only ever added"),
                    ));
                }
                Some(j) if j != json => {
                    return Err(Refusal::new(
                        RefusalCode::EventChanged,
                        format!("event {id} was changed; events are never edited"),
                    ));
                }
                Some(_) => {}
            }
        }
    }
    let is_new = |id: &String| old.as_ref().is_none_or(|o| !o.events.contains_key(id));
    // An event the server made and sealed: relayed by a device, not authored by it.
    let sealed = |id: &String| {
        now.seals
            .get(id)
            .zip(now.events.get(id))
            .is_some_and(|(seal, json)| seals.verify(json, seal))
    };
    match kind {
        DocKind::Case => {
            let header: CaseHeader = parse(&now.header, "the header")?;
            if header.id.to_string() != after.id() {
                return Err(corrupt(format!(
                    "the header names case {} but the document is {}",
                    header.id,
                    after.id()
                )));
            }
            let (events, new_ids) = parse_events::<CaseEvent>(&now.events, "event", is_new)?;
            // A report the server made (and sealed with its header) is relayed, not authored.
            let header_text = now.header.as_str();
            let sealed_report =
                |e: &CaseEvent| {
                    let id = e.id.to_string();
                    matches!(e.kind, CaseEventKind::Reported)
                        && now.seals.get(&id).zip(now.events.get(&id)).is_some_and(
                            |(seal, json)| seals.verify(&report_seal_text(header_text, json), seal),
                        )
                };
            if old.is_none() {
                let by_server = events.iter().any(sealed_report);
                check_new_case(&header, &events, author, by_server)?;
            }
            for e in new_ids.into_iter().map(|i| &events[i]) {
                let relayed = if matches!(e.kind, CaseEventKind::Reported) {
                    sealed_report(e)
                } else {
                    sealed(&e.id.to_string())
                };
                if !relayed {
                    author.check(&e.by)?;
                    check_case_event(&header, &events, e, catalog, old.is_none())?;
                }
            }
            Ok(CheckedContent::Case {
                header: Box::new(header),
                events,
            })
        }
        DocKind::ZeroReport => {
            let header: ZeroReportHeader = parse(&now.header, "the header")?;
            if header.doc_id() != after.id() {
                return Err(corrupt(format!(
                    "the header names {} but the document is {}",
                    header.doc_id(),
                    after.id()
                )));
            }
            let (events, new_ids) = parse_events::<ZeroReportEvent>(&now.events, "entry", is_new)?;
            for e in new_ids.into_iter().map(|i| &events[i]) {
                if !sealed(&e.id.to_string()) {
                    author.check(&e.by)?;
                    check_zero_report_entry(e, &events)?;
                }
            }
            Ok(CheckedContent::ZeroReport { header, events })
        }
    }
}

/// What the rules need of an event of either document kind.
trait Entry: DeserializeOwned {
    fn entry_id(&self) -> crate::ids::EventId;
}

impl Entry for CaseEvent {
    fn entry_id(&self) -> crate::ids::EventId {
        self.id
    }
}

impl Entry for ZeroReportEvent {
    fn entry_id(&self) -> crate::ids::EventId {
        self.id
    }
}

/// Parses every event of a document, checking that each is stored under its
/// own id; returns them with the indices of those `is_new` says were added.
fn parse_events<E: Entry>(
    texts: &BTreeMap<String, String>,
    what: &str,
    is_new: impl Fn(&String) -> bool,
) -> Result<(Vec<E>, Vec<usize>), Refusal> {
    let mut events = Vec::with_capacity(texts.len());
    let mut new_ids = Vec::new();
    for (id, json) in texts {
        let e: E = parse(json, &format!("{what} {id}"))?;
        if e.entry_id().to_string() != *id {
            return Err(corrupt(format!(
                "{what} {id} carries the id {}",
                e.entry_id()
            )));
        }
        if is_new(id) {
            new_ids.push(events.len());
        }
        events.push(e);
    }
    Ok((events, new_ids))
}

fn wrong_author(by: &Actor, author: &Author) -> Refusal {
    let person = if by.id == author.person {
        "its role or unit is not one this person holds".to_owned()
    } else {
        format!(
            "it names staff '{}', but this device is enrolled to '{}'",
            by.id.chars().take(64).collect::<String>(),
            author.person
        )
    };
    let device = if by.device == author.device {
        String::new()
    } else {
        format!(" and device {} instead of {}", by.device, author.device)
    };
    Refusal::new(
        RefusalCode::WrongAuthor,
        format!(
            "an event's author is not this device's person: {person}{device}; record actions as the person the device is enrolled to"
        ),
    )
}

/// Rule 5 for a new case document. `by_server`: its report carries the server's seal (a case
/// the server created, relayed back by a device), so its reporter need not be the pusher.
fn check_new_case(
    header: &CaseHeader,
    events: &[CaseEvent],
    author: &Author,
    by_server: bool,
) -> Result<(), Refusal> {
    if !by_server && !author.is(&header.reporter) {
        return Err(wrong_author(&header.reporter, author));
    }
    header
        .validate()
        .map_err(|e| Refusal::new(RefusalCode::InvalidInput, e.to_string()))?;
    let reports: Vec<&CaseEvent> = events
        .iter()
        .filter(|e| matches!(e.kind, CaseEventKind::Reported))
        .collect();
    match reports.as_slice() {
        [one] if one.by == header.reporter => Ok(()),
        [_] => Err(Refusal::new(
            RefusalCode::InvalidReport,
            "the case's report event is not by its reporter",
        )),
        _ => Err(Refusal::new(
            RefusalCode::InvalidReport,
            format!(
                "a new case holds exactly one report event, not {}",
                reports.len()
            ),
        )),
    }
}

/// Checks one new event of a case against the role, unit and checklist rules.
/// `events` holds every event of the case including `event` (so a dispatch
/// the author has seen counts). The device runs this before recording an
/// event; the server runs it on every event a push adds. `new_case` is true
/// when the document itself is new (the only time a report may be added).
pub fn check_case_event(
    header: &CaseHeader,
    events: &[CaseEvent],
    event: &CaseEvent,
    catalog: &Catalog,
    new_case: bool,
) -> Result<(), Refusal> {
    use CaseEventKind as K;
    let by = &event.by;
    match &event.kind {
        K::Reported if new_case => return Ok(()),
        K::Reported => {
            return Err(Refusal::new(
                RefusalCode::InvalidReport,
                "a report event was added to a case that already exists",
            ));
        }
        K::Registered { .. } => {
            return Err(Refusal::new(
                RefusalCode::CaseNumberFromDevice,
                "a registration with a case number came from a device; the centre registers on the server, which assigns the number",
            ));
        }
        _ => {}
    }
    check_event_input(by, &event.kind).map_err(|e| match e {
        crate::Error::RoleNotAllowed { .. } => {
            Refusal::new(RefusalCode::RoleNotAllowed, e.to_string())
        }
        other => Refusal::new(RefusalCode::InvalidInput, other.to_string()),
    })?;
    match &event.kind {
        K::Arrived { .. } | K::Feedback { .. } | K::HandedBack { .. }
            if by.role != Role::Centre =>
        {
            let dispatched = by.unit.as_ref().is_some_and(|unit| {
                events
                    .iter()
                    .any(|e| matches!(&e.kind, K::Dispatched { units, .. } if units.contains(unit)))
            });
            if !dispatched {
                return Err(Refusal::new(
                    RefusalCode::NotDispatchedToUnit,
                    format!(
                        "{} by {} on a case not dispatched to that unit; a unit acts only on what the centre dispatched to it",
                        event.kind.name(),
                        by.unit.as_deref().unwrap_or("a person without a unit")
                    ),
                ));
            }
        }
        K::HandledOnSpot { .. } => {
            // Judged against every item the case has had (the reporter's and
            // each correction at registration), not only the one in force
            // after the merge: an officer who handled the case offline, before
            // his phone learnt of the centre's correction, saw an item that
            // allowed it, and refusing his document would lose his work. The
            // fold still decides whether the handling takes effect (it is
            // superseded if the item in force does not allow it).
            let mut items = vec![header.checklist_item.as_str()];
            items.extend(events.iter().filter_map(|e| match &e.kind {
                K::Registered {
                    checklist_item: Some(item),
                    ..
                } => Some(item.as_str()),
                _ => None,
            }));
            let allowed = items
                .iter()
                .any(|id| catalog.checklist.item(id).is_some_and(|i| i.on_spot));
            if !allowed {
                return Err(Refusal::new(
                    RefusalCode::NotOnSpotItem,
                    format!(
                        "checklist item '{}' may not be handled on the spot; report it for dispatch",
                        items.last().copied().unwrap_or_default()
                    ),
                ));
            }
        }
        _ => {}
    }
    Ok(())
}

/// Checks one new zero-report entry: its role and input.
pub fn check_zero_report_entry(
    entry: &ZeroReportEvent,
    entries: &[ZeroReportEvent],
) -> Result<(), Refusal> {
    if !matches!(entry.by.role, Role::WorkstationStaff | Role::Centre) {
        return Err(Refusal::new(
            RefusalCode::RoleNotAllowed,
            format!(
                "a {} may not file a zero report; workstation staff file it",
                entry.by.role.as_str()
            ),
        ));
    }
    entry
        .by
        .validate()
        .and_then(|()| crate::zero_report::check_entry(&entry.kind, entries))
        .map_err(|e| Refusal::new(RefusalCode::InvalidInput, e.to_string()))?;
    if let ZeroReportEventKind::MatterRecorded { photos, .. } = &entry.kind {
        crate::case::check_photos(photos)
            .map_err(|e| Refusal::new(RefusalCode::InvalidInput, e.to_string()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::case::{CaseHeader, GridRef};
    use crate::hlc::Hlc;
    use crate::ids::{CaseId, EventId};
    use crate::model::SourceChannel;
    use automerge::ActorId;
    use automerge::transaction::Transactable;

    fn catalog() -> Catalog {
        Catalog::demo().unwrap()
    }

    fn actor(id: &str, role: Role, unit: Option<&str>, device: DeviceId) -> Actor {
        Actor {
            id: id.into(),
            role,
            unit: unit.map(str::to_owned),
            device,
        }
    }

    fn author(a: &Actor) -> Author {
        Author::of_actor(a)
    }

    fn header(id: CaseId, reporter: &Actor, item: &str) -> CaseHeader {
        CaseHeader {
            id,
            channel: SourceChannel::GridOfficerHandheld,
            checklist_item: item.into(),
            category: "A01".into(),
            domain: "A".into(),
            description: "暴露垃圾".into(),
            gps: None,
            address: None,
            grid: Some(GridRef {
                cell: "XT-W01".into(),
                workstation: Some("XT-W01".into()),
                block: Some("XT-B1".into()),
            }),
            grid_candidates: vec![],
            reporter: reporter.clone(),
            photos: vec![],
            external_ref: None,
        }
    }

    fn event(by: &Actor, ms: i64, kind: CaseEventKind) -> CaseEvent {
        CaseEvent {
            id: EventId::generate(),
            at: Hlc {
                wall_ms: ms,
                counter: 0,
            },
            by: by.clone(),
            kind,
        }
    }

    /// A new case document by `reporter`, with its report.
    fn new_case(reporter: &Actor, item: &str) -> (EventDoc, CaseHeader) {
        let id = CaseId::generate();
        let h = header(id, reporter, item);
        let report = event(reporter, 1_000, CaseEventKind::Reported);
        let doc = EventDoc::create(
            &id.to_string(),
            &ActorId::random(),
            DocKind::Case,
            &h,
            &[(report.id.to_string(), &report)],
        )
        .unwrap();
        (doc, h)
    }

    fn with_event(doc: &EventDoc, e: &CaseEvent) -> EventDoc {
        let mut d = doc.clone();
        d.add_event(&e.id.to_string(), e).unwrap();
        d
    }

    fn code(r: Result<CheckedContent, Refusal>) -> RefusalCode {
        r.expect_err("refused").code
    }

    #[test]
    fn an_honest_report_and_its_events_pass() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, Some("网格一组"), dev);
        let (doc, _) = new_case(&officer, "A01-001");
        check_push(None, &doc, DocKind::Case, &author(&officer), &catalog()).unwrap();
        let on_spot = event(
            &officer,
            2_000,
            CaseEventKind::HandledOnSpot {
                note: "已清理".into(),
                photos: vec![],
            },
        );
        let after = with_event(&doc, &on_spot);
        check_push(
            Some(&doc),
            &after,
            DocKind::Case,
            &author(&officer),
            &catalog(),
        )
        .unwrap();
    }

    #[test]
    fn another_persons_report_or_event_is_refused() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, None, dev);
        let other = actor("XT-GO-002", Role::GridOfficer, None, DeviceId::generate());
        let (doc, _) = new_case(&other, "A01-001");
        assert_eq!(
            code(check_push(
                None,
                &doc,
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::WrongAuthor
        );
        let (doc, _) = new_case(&officer, "A01-001");
        let forged = event(
            &other,
            2_000,
            CaseEventKind::Comment {
                text: "x".into(),
                photos: vec![],
            },
        );
        let after = with_event(&doc, &forged);
        assert_eq!(
            code(check_push(
                Some(&doc),
                &after,
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::WrongAuthor
        );
        // The right person in a role they do not hold.
        let as_centre = actor("XT-GO-001", Role::Centre, None, dev);
        let close = event(
            &as_centre,
            2_000,
            CaseEventKind::Rejected {
                reason: "重复".into(),
            },
        );
        let after = with_event(&doc, &close);
        assert_eq!(
            code(check_push(
                Some(&doc),
                &after,
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::WrongAuthor
        );
    }

    #[test]
    fn centre_only_kinds_and_case_numbers_are_refused_from_the_field() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, None, dev);
        let (doc, _) = new_case(&officer, "A02-001");
        let reject = event(
            &officer,
            2_000,
            CaseEventKind::Rejected { reason: "x".into() },
        );
        assert_eq!(
            code(check_push(
                Some(&doc),
                &with_event(&doc, &reject),
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::RoleNotAllowed
        );
        let centre = actor("XT-CC-001", Role::Centre, None, dev);
        let register = event(
            &centre,
            2_000,
            CaseEventKind::Registered {
                case_number: "XT-2026-900000".into(),
                checklist_item: None,
                grid: None,
            },
        );
        assert_eq!(
            code(check_push(
                Some(&doc),
                &with_event(&doc, &register),
                DocKind::Case,
                &author(&centre),
                &catalog()
            )),
            RefusalCode::CaseNumberFromDevice
        );
    }

    #[test]
    fn a_unit_acts_only_on_what_was_dispatched_to_it() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, None, DeviceId::generate());
        let centre = actor("XT-CC-001", Role::Centre, None, DeviceId::generate());
        let handler = actor("XT-CG-001", Role::HandlingUnit, Some("城管中队"), dev);
        let (doc, _) = new_case(&officer, "A02-001");
        let dispatch_other = event(
            &centre,
            2_000,
            CaseEventKind::Dispatched {
                units: vec!["物业".into()],
                lead: None,
                note: None,
            },
        );
        let doc = with_event(&doc, &dispatch_other);
        let feedback = event(
            &handler,
            3_000,
            CaseEventKind::Feedback {
                note: "已处理".into(),
                photos: vec![],
            },
        );
        assert_eq!(
            code(check_push(
                Some(&doc),
                &with_event(&doc, &feedback),
                DocKind::Case,
                &author(&handler),
                &catalog()
            )),
            RefusalCode::NotDispatchedToUnit
        );
        let dispatch_mine = event(
            &centre,
            2_500,
            CaseEventKind::Dispatched {
                units: vec!["城管中队".into()],
                lead: None,
                note: None,
            },
        );
        let doc = with_event(&doc, &dispatch_mine);
        check_push(
            Some(&doc),
            &with_event(&doc, &feedback),
            DocKind::Case,
            &author(&handler),
            &catalog(),
        )
        .unwrap();
    }

    #[test]
    fn on_the_spot_handling_needs_an_item_that_allows_it() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, None, dev);
        let item = catalog()
            .checklist
            .items()
            .iter()
            .find(|i| !i.on_spot)
            .unwrap()
            .id
            .clone();
        let (doc, _) = new_case(&officer, &item);
        let on_spot = event(
            &officer,
            2_000,
            CaseEventKind::HandledOnSpot {
                note: "x".into(),
                photos: vec![],
            },
        );
        assert_eq!(
            code(check_push(
                Some(&doc),
                &with_event(&doc, &on_spot),
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::NotOnSpotItem
        );
    }

    #[test]
    fn the_header_is_written_once_and_events_are_only_added() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, None, dev);
        let (doc, h) = new_case(&officer, "A01-001");
        let mut rewritten = doc.clone();
        let mut h2 = h.clone();
        h2.description = "改写".into();
        let mut am = rewritten.automerge().clone();
        am.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(
                automerge::ROOT,
                "header",
                serde_json::to_string(&h2).unwrap(),
            )?;
            Ok(())
        })
        .unwrap();
        rewritten = EventDoc::load_strict(doc.id(), &am.save(), &ActorId::random()).unwrap();
        assert_eq!(
            code(check_push(
                Some(&doc),
                &rewritten,
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::HeaderChanged
        );
        // Deleting an event.
        let key = doc
            .root_keys()
            .into_iter()
            .find(|k| k.starts_with("ev:"))
            .unwrap();
        let mut am = doc.automerge().clone();
        am.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.delete(automerge::ROOT, key.as_str())?;
            Ok(())
        })
        .unwrap();
        let deleted = EventDoc::load_strict(doc.id(), &am.save(), &ActorId::random()).unwrap();
        assert_eq!(
            code(check_push(
                Some(&doc),
                &deleted,
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::EventRemoved
        );
        // An unknown root field.
        let mut am = doc.automerge().clone();
        am.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(automerge::ROOT, "status", "closed")?;
            Ok(())
        })
        .unwrap();
        let extra = EventDoc::load_strict(doc.id(), &am.save(), &ActorId::random()).unwrap();
        assert_eq!(
            code(check_push(
                Some(&doc),
                &extra,
                DocKind::Case,
                &author(&officer),
                &catalog()
            )),
            RefusalCode::UnknownField
        );
    }

    #[test]
    fn refusal_codes_round_trip_by_name() {
        for c in RefusalCode::ALL {
            assert_eq!(RefusalCode::parse(c.as_str()), Some(c));
        }
    }

    #[test]
    fn strict_merge_refuses_garbage_and_trailing_bytes() {
        let dev = DeviceId::generate();
        let officer = actor("XT-GO-001", Role::GridOfficer, None, dev);
        let (doc, _) = new_case(&officer, "A01-001");
        let stored = doc.save();
        let actor_id = ActorId::random();
        for bad in [
            b"garbage".to_vec(),
            [doc.save_after(&[]), b"tail".to_vec()].concat(),
        ] {
            assert!(EventDoc::merge_strict(doc.id(), Some(&stored), &bad, &actor_id).is_err());
        }
        assert!(EventDoc::merge_strict(doc.id(), None, &[], &actor_id).is_err());
        let comment = event(
            &officer,
            2_000,
            CaseEventKind::Comment {
                text: "ok".into(),
                photos: vec![],
            },
        );
        let after = with_event(&doc, &comment);
        let push = after.save_after(&doc.heads());
        match EventDoc::merge_strict(doc.id(), Some(&stored), &push, &actor_id).unwrap() {
            crate::doc::StrictMerge::Loaded(m) => assert_eq!(m.heads(), after.heads()),
            crate::doc::StrictMerge::MissingDeps => panic!("deps are there"),
        }
        // Changes whose dependencies the receiver lacks.
        match EventDoc::merge_strict(doc.id(), None, &push, &actor_id).unwrap() {
            crate::doc::StrictMerge::MissingDeps => {}
            crate::doc::StrictMerge::Loaded(_) => panic!("dependencies are missing"),
        }
        after.save_verified().unwrap();
    }

    /// A test server key: the seal of a text is the text, marked.
    struct MarkedSeals;

    impl SealVerifier for MarkedSeals {
        fn verify(&self, text: &str, seal: &str) -> bool {
            seal == format!("sealed:{text}")
        }
    }

    fn mark(text: &str) -> String {
        format!("sealed:{text}")
    }

    #[test]
    fn a_case_the_server_made_is_relayed_only_with_its_own_header() {
        let centre = actor("XT-CC-001", Role::Centre, None, DeviceId::generate());
        let officer = actor("XT-GO-001", Role::GridOfficer, None, DeviceId::generate());
        let relay = author(&officer);
        let catalog = catalog();
        let id = CaseId::generate();
        let mut h = header(id, &centre, "A01-001");
        h.channel = SourceChannel::Hotline12345;
        let report = event(&centre, 1_000, CaseEventKind::Reported);
        let doc = crate::case::sealed_case_document(&h, &report, &ActorId::random(), mark).unwrap();
        let check = |d: &EventDoc| {
            check_push_sealed(None, d, DocKind::Case, &relay, &catalog, &MarkedSeals)
        };
        // Any device relays the server's case; without the key nobody does.
        assert!(check(&doc).is_ok());
        assert_eq!(
            code(check_push(None, &doc, DocKind::Case, &relay, &catalog)),
            RefusalCode::WrongAuthor
        );
        // The sealed report and its seal copied under another header vouch for nothing.
        let mut forged = h.clone();
        forged.description = "伪造的案件".into();
        let unsealed = EventDoc::create(
            &id.to_string(),
            &ActorId::random(),
            DocKind::Case,
            &forged,
            &[(report.id.to_string(), &report)],
        )
        .unwrap();
        let seal = match doc
            .root_values(&format!("{SEAL_PREFIX}{}", report.id))
            .as_slice()
        {
            [RootValue::Text(seal)] => seal.clone(),
            other => panic!("no seal: {other:?}"),
        };
        let mut am = unsealed.automerge().clone();
        am.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(
                automerge::ROOT,
                format!("{SEAL_PREFIX}{}", report.id),
                seal.as_str(),
            )?;
            Ok(())
        })
        .unwrap();
        let copy = EventDoc::load_strict(&id.to_string(), &am.save(), &ActorId::random()).unwrap();
        assert_eq!(code(check(&copy)), RefusalCode::WrongAuthor);
        // A report sealed alone (as other server events are) is no server-made case either.
        let mut alone = EventDoc::create(
            &id.to_string(),
            &ActorId::random(),
            DocKind::Case,
            &h,
            &[] as &[(String, &CaseEvent)],
        )
        .unwrap();
        alone
            .add_sealed_event(&report.id.to_string(), &report, mark)
            .unwrap();
        assert_eq!(code(check(&alone)), RefusalCode::WrongAuthor);
    }
}
