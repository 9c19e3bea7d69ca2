//! Derived state: one pure function from a case's events to its status,
//! holders, deadlines and overdue flags.
//!
//! # Why derived, and the rules for concurrent events
//!
//! Status is never stored as a field that devices overwrite (last writer
//! wins would silently drop one officer's action). Every replica folds the
//! same set of events in the same order — by hybrid-logical-clock time, then
//! event id — so every replica computes the same state.
//!
//! The hybrid logical clock orders causally related events correctly, so an
//! event that was valid when its author recorded it stays valid in the fold
//! unless a *concurrent* event (one its author had not seen) came first. For
//! those, the fold applies these rules, the same on every replica:
//!
//! 1. **Superseded, never dropped.** An event whose precondition no longer
//!    holds at its place in the order changes nothing and is marked
//!    superseded (with the reason) in the timeline. It stays in the document.
//! 2. **Two handlers both resolve.** Every feedback is kept; the first one in
//!    the order moves the case to *handled* and fixes the handling time used
//!    for the deadline; later ones are extra feedback on a handled case.
//! 3. **An objection beats a concurrent close.** A failed verification that
//!    meets an already closed case reopens it (its author could not have
//!    seen the close: verification is only allowed on a handled case). A
//!    close that meets a case sent back or reopened is superseded. Either
//!    order gives an open case: a complaint is never closed by accident.
//! 4. **Dispatches add up.** Concurrent dispatches give the union of units
//!    (joint handling, 联动处置).
//! 5. **First registration wins.** Only the centre registers; if two desks
//!    did, the earlier number stands and the other is superseded.
//!
//! # Joint handling, withdrawal, hand-back and merge
//!
//! A dispatch names a *lead* unit (牵头) and assisting units (协办). Each
//! unit's part is an *assignment* ([`UnitAssignment`]); the assignments of
//! the current period (since the last reopening) that have not ended are the
//! units *on the case*. A unit *owes feedback* while it is on the case, has
//! not reported and was not released.
//!
//! 6. **The lead.** A dispatch that meets a case without a lead gives it one:
//!    its `lead`, or — for documents written before joint handling, which
//!    have none — its first unit (the order the centre named them in, which
//!    old screens showed first). A dispatch that meets a case which already
//!    has a lead adds its units as assisting units, even if it names a lead
//!    of its own: the lead of an assignment never changes, so two desks that
//!    dispatched concurrently with different leads get one lead (the first
//!    in the order) and every unit of both still owes feedback. To change
//!    the lead the centre withdraws the dispatch from it.
//! 7. **Each unit answers for itself.** Arrival and feedback count for the
//!    author's unit. The case is *handled* when the lead has reported and
//!    every assisting unit has reported or been released; the event that
//!    completes this fixes the handling time. While dispatched, the holders
//!    are the units that still owe feedback (the lead first). An arrival or
//!    feedback recorded by the centre itself (a unit that phoned in) counts
//!    for every unit that has not yet arrived, or still owes feedback.
//!    Feedback or arrival from a unit that is not on the case (its dispatch
//!    was withdrawn or handed back concurrently) is superseded; feedback from
//!    a released unit still counts as its report.
//! 8. **A case without its lead goes back to the centre.** Withdrawing the
//!    dispatch from the lead, or the lead handing it back, ends every other
//!    assignment of the period too (as withdrawn, at the same time): a joint
//!    handling without its coordinator is a wrong dispatch, and the centre
//!    dispatches again. When no unit remains on the case it is back with
//!    the centre (registered), awaiting a new dispatch; so a dispatched case
//!    always has exactly one lead.
//! 9. **Concurrent actions on one unit: the first in the order decides, and
//!    the outcome does not depend on it where it matters.**
//!    - Release meets a concurrent feedback of that unit: release first, the
//!      feedback still counts as its report; feedback first, the release is
//!      superseded (nothing left to release). Either way the unit no longer
//!      owes feedback.
//!    - Withdrawal or hand-back meets a concurrent feedback of that unit:
//!      withdrawal first, the feedback is superseded (the unit is off the
//!      case); feedback first, a withdrawal still takes the unit off (its
//!      report stays on its assignment) unless the feedback made the case
//!      handled — then the withdrawal is superseded (a failed verification
//!      sends a wrongly handled case back) — and a hand-back by a unit that
//!      has reported is superseded.
//!    - A dispatch meets the concurrent feedback that made the case handled:
//!      either order ends with the new units owing feedback (a dispatch that
//!      adds units to a handled case sends it back to its units).
//!    - A dispatch naming a unit already on the case (released or not)
//!      changes nothing for that unit (rule 4), so it commutes with a
//!      release.
//! 10. **A failed verification sends the case back to every unit on it**
//!     that was not released: each owes feedback again (its `feedback_at` is
//!     cleared; the timeline keeps the earlier report). A case no unit is on
//!     (handled on the spot) goes back to the centre instead.
//! 11. **Merging.** A duplicate's `merged_into` makes it *merged*
//!     ([`CaseStatus::Merged`]): not open, held by nobody, its `merged_into`
//!     names the case that carries the handling. A merge meeting a
//!     concurrent feedback on the duplicate supersedes the feedback (it
//!     stays in the timeline); either order gives a merged case. A second
//!     merge of an already merged case is superseded (the first target
//!     stands). `merged_from` on the absorbing case changes nothing in its
//!     workflow. A wrong merge is undone by reopening the duplicate.
//!
//! Why a status of its own rather than *closed* with a `merged_into`: a
//! closed case claims its matter was handled and verified; a duplicate was
//! not handled itself. Counting it as closed would inflate the closure
//! figures and hide that its handling lives in another case, and a distinct
//! status makes every screen and statistic say so explicitly.
//!
//! # Derived history
//!
//! [`CaseState::assignments`] lists every unit ever dispatched, in order,
//! across reopenings; [`CaseState::holder_spans`] who held the case when
//! (the centre, units, the district platform): a span opens when a holder
//! starts holding and ends when it stops. Both come from the events alone.
//!
//! # Deadlines
//!
//! The clock starts when the case enters the platform (its *reported* event)
//! or when it is reopened. The response is met by the first arrival on site,
//! on-the-spot handling or feedback; the resolution by the first on-the-spot
//! handling or feedback. Limits come from the checklist item (the one
//! corrected at registration, if any). A case whose item is unknown to this
//! device's checklist has no deadlines rather than invented ones.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::case::CaseHeader;
use crate::case::event::{CaseEvent, CaseEventKind};
use crate::catalog::Catalog;
use crate::ids::EventId;
use crate::model::Role;

/// Holder name for the street's management centre.
pub const CENTRE: &str = "管理中心";
/// Holder name for the district platform (区级平台).
pub const DISTRICT_PLATFORM: &str = "区级平台";

/// Where a case stands in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Entered the platform, awaiting registration by the centre.
    Reported,
    /// Registered (立案), awaiting dispatch.
    Registered,
    /// Declined by the centre (terminal unless reopened).
    Rejected,
    /// Dispatched to one or more units, nobody on site yet.
    Dispatched,
    /// A unit arrived or accepted it.
    InProgress,
    /// Handled (feedback or on the spot), awaiting verification.
    Handled,
    /// Verified as dealt with, awaiting closure.
    Verified,
    /// Closed (结案).
    Closed,
    /// A duplicate, merged into another case that carries the handling.
    Merged,
}

impl CaseStatus {
    /// Every status, in workflow order.
    pub const ALL: [CaseStatus; 9] = [
        CaseStatus::Reported,
        CaseStatus::Registered,
        CaseStatus::Rejected,
        CaseStatus::Dispatched,
        CaseStatus::InProgress,
        CaseStatus::Handled,
        CaseStatus::Verified,
        CaseStatus::Closed,
        CaseStatus::Merged,
    ];

    /// Stable machine name, as stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Reported => "reported",
            CaseStatus::Registered => "registered",
            CaseStatus::Rejected => "rejected",
            CaseStatus::Dispatched => "dispatched",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Handled => "handled",
            CaseStatus::Verified => "verified",
            CaseStatus::Closed => "closed",
            CaseStatus::Merged => "merged",
        }
    }

    /// Parses the machine name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// True while someone still has to act on the case.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Merged
        )
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event the fold could not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Superseded {
    /// The event concerned.
    pub event: EventId,
    /// Why it changed nothing.
    pub reason: String,
}

/// Why an assignment ended before its unit was done with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AssignmentEnd {
    /// The centre withdrew the dispatch (or the lead's withdrawal or
    /// hand-back took the whole joint handling back, rule 8).
    Withdrawn,
    /// The unit handed the case back.
    HandedBack,
}

/// One unit's part in a case: from its dispatch to its report, release or end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct UnitAssignment {
    /// The unit (dispatch holder name).
    pub unit: String,
    /// True for the lead unit (牵头), false for an assisting unit (协办).
    pub lead: bool,
    /// When the dispatch that assigned it was made (ms).
    pub dispatched_at: i64,
    /// Its first arrival on site.
    pub arrived_at: Option<i64>,
    /// The feedback that discharges it; cleared when a failed verification
    /// sends the case back (rule 10).
    pub feedback_at: Option<i64>,
    /// When the centre released it (assisting units only).
    pub released_at: Option<i64>,
    /// When it was taken off the case (withdrawn, handed back).
    pub ended_at: Option<i64>,
    /// Why it was taken off the case; `None` while it is on it.
    pub ended: Option<AssignmentEnd>,
}

impl UnitAssignment {
    /// Still on the case and owing its feedback.
    pub fn owes_feedback(&self) -> bool {
        self.ended.is_none() && self.released_at.is_none() && self.feedback_at.is_none()
    }
}

/// A period during which one holder held the case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct HolderSpan {
    /// The holder: a unit, [`CENTRE`] or [`DISTRICT_PLATFORM`].
    pub holder: String,
    /// When it started holding (ms).
    pub from: i64,
    /// When it stopped; `None` while it still holds the case.
    pub until: Option<i64>,
}

/// Everything the screens need to know about a case, derived from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CaseState {
    /// Workflow status.
    pub status: CaseStatus,
    /// Official number, once registered.
    pub case_number: Option<String>,
    /// The checklist item in force (the reporter's, or the centre's correction).
    pub checklist_item: String,
    /// The grid cell in force (from the GPS fix, or chosen at registration).
    pub grid: Option<String>,
    /// Who must act now: units, the centre, the district platform.
    pub holders: Vec<String>,
    /// When the case entered the platform (ms).
    pub reported_at: i64,
    /// When the current period started: the report, or the last reopening.
    pub clock_started_at: i64,
    /// Deadline to respond (arrive, clarify), if the checklist item is known.
    pub response_due: Option<i64>,
    /// Deadline to resolve (handle), if the checklist item is known.
    pub resolution_due: Option<i64>,
    /// When the response was met in the current period.
    pub responded_at: Option<i64>,
    /// When the matter was handled in the current period.
    pub resolved_at: Option<i64>,
    /// When the case was closed (if it is).
    pub closed_at: Option<i64>,
    /// Submitted to the district platform.
    pub escalated: bool,
    /// The checklist says it must go to the district platform and it has not yet.
    pub escalation_required: bool,
    /// How many times it was reopened (including failed verifications after close).
    pub reopen_count: u32,
    /// How many times verification sent it back.
    pub sent_back_count: u32,
    /// Time of the latest event.
    pub last_event_at: i64,
    /// Events that changed nothing because a concurrent event came first.
    pub superseded: Vec<Superseded>,
    /// Every unit ever dispatched, in order, across reopenings.
    #[serde(default)]
    pub assignments: Vec<UnitAssignment>,
    /// Who held the case when: one span per holding, in the order they began.
    #[serde(default)]
    pub holder_spans: Vec<HolderSpan>,
    /// The case this duplicate was merged into, while it is merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<String>,
}

impl CaseState {
    /// The response deadline has passed without a response, or the response
    /// came late.
    pub fn response_overdue(&self, now_ms: i64) -> bool {
        late(self.response_due, self.responded_at, now_ms)
    }

    /// The resolution deadline has passed without handling, or the handling
    /// came late.
    pub fn resolution_overdue(&self, now_ms: i64) -> bool {
        late(self.resolution_due, self.resolved_at, now_ms)
    }

    /// Overdue in any respect while still open: what the "who is late"
    /// screens show.
    pub fn is_overdue(&self, now_ms: i64) -> bool {
        self.status.is_open() && (self.response_overdue(now_ms) || self.resolution_overdue(now_ms))
    }
}

fn late(due: Option<i64>, met: Option<i64>, now_ms: i64) -> bool {
    match (due, met) {
        (Some(due), Some(met)) => met > due,
        (Some(due), None) => now_ms > due,
        (None, _) => false,
    }
}

/// Why an event cannot be applied in a state: used both to refuse a local
/// event (strict) and to mark a merged one superseded (fold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub hint: &'static str,
}

/// The fold's working state.
struct Fold<'a> {
    state: CaseState,
    /// Index into `state.assignments` where the current period (since the
    /// last reopening) starts.
    period_start: usize,
    catalog: &'a Catalog,
}

impl<'a> Fold<'a> {
    fn new(header: &CaseHeader, catalog: &'a Catalog) -> Self {
        Fold {
            state: CaseState {
                status: CaseStatus::Reported,
                case_number: None,
                checklist_item: header.checklist_item.clone(),
                grid: header.grid.as_ref().map(|g| g.cell.clone()),
                holders: Vec::new(),
                reported_at: 0,
                clock_started_at: 0,
                response_due: None,
                resolution_due: None,
                responded_at: None,
                resolved_at: None,
                closed_at: None,
                escalated: false,
                escalation_required: false,
                reopen_count: 0,
                sent_back_count: 0,
                last_event_at: 0,
                superseded: Vec::new(),
                assignments: Vec::new(),
                holder_spans: Vec::new(),
                merged_into: None,
            },
            period_start: 0,
            catalog,
        }
    }

    fn start_clock(&mut self, at: i64) {
        let s = &mut self.state;
        s.clock_started_at = at;
        s.responded_at = None;
        s.resolved_at = None;
        s.closed_at = None;
        self.compute_deadlines();
    }

    fn compute_deadlines(&mut self) {
        let s = &mut self.state;
        match self.catalog.checklist.item(&s.checklist_item) {
            Some(item) => {
                s.response_due = Some(
                    item.response_limit
                        .deadline(s.clock_started_at, &self.catalog.calendar),
                );
                s.resolution_due = Some(
                    item.resolution_limit
                        .deadline(s.clock_started_at, &self.catalog.calendar),
                );
            }
            None => {
                s.response_due = None;
                s.resolution_due = None;
            }
        }
    }

    fn on_spot_allowed(&self) -> bool {
        self.catalog
            .checklist
            .item(&self.state.checklist_item)
            .is_some_and(|i| i.on_spot)
    }

    /// Indices of the assignments on the case: this period's, not ended.
    fn on_case(&self) -> Vec<usize> {
        (self.period_start..self.state.assignments.len())
            .filter(|&i| self.state.assignments[i].ended.is_none())
            .collect()
    }

    /// The assignment of `unit` on the case, if it is on it.
    fn assignment_of(&self, unit: Option<&str>) -> Option<usize> {
        let unit = unit?;
        self.on_case()
            .into_iter()
            .find(|&i| self.state.assignments[i].unit == unit)
    }

    fn end(&mut self, i: usize, how: AssignmentEnd, at: i64) {
        let a = &mut self.state.assignments[i];
        a.ended = Some(how);
        a.ended_at = Some(at);
    }

    /// Takes assignment `i` off the case; if it led, the rest of the joint
    /// handling goes with it (rule 8).
    fn take_off(&mut self, i: usize, how: AssignmentEnd, at: i64) {
        let led = self.state.assignments[i].lead;
        self.end(i, how, at);
        if led {
            for j in self.on_case() {
                self.end(j, AssignmentEnd::Withdrawn, at);
            }
        }
    }

    /// The status where nobody is on the case: back with the centre.
    fn centre_status(&self) -> CaseStatus {
        if self.state.case_number.is_some() {
            CaseStatus::Registered
        } else {
            CaseStatus::Reported
        }
    }

    /// After the units of a dispatched case changed: back to the centre when
    /// none is left, handled when nobody owes feedback any more (rule 7),
    /// back to *dispatched* when nobody left on the case has acted.
    fn settle(&mut self, at: i64) {
        use CaseStatus as S;
        if !matches!(self.state.status, S::Dispatched | S::InProgress) {
            return;
        }
        let on_case = self.on_case();
        let a = &self.state.assignments;
        if on_case.is_empty() {
            self.state.status = self.centre_status();
        } else if on_case.iter().all(|&i| !a[i].owes_feedback())
            && on_case
                .iter()
                .any(|&i| a[i].lead && a[i].feedback_at.is_some())
        {
            self.state.resolved_at.get_or_insert(at);
            self.state.status = S::Handled;
        } else if self.state.status == S::InProgress
            && !on_case
                .iter()
                .any(|&i| a[i].arrived_at.is_some() || a[i].feedback_at.is_some())
        {
            self.state.status = S::Dispatched;
        }
    }

    /// A failed verification: every unit on the case that was not released
    /// owes feedback again; with no unit on it, the centre has it (rule 10).
    fn send_back(&mut self) {
        self.state.sent_back_count += 1;
        let on_case = self.on_case();
        for &i in &on_case {
            let a = &mut self.state.assignments[i];
            if a.released_at.is_none() {
                a.feedback_at = None;
            }
        }
        self.state.status = if on_case.is_empty() {
            self.centre_status()
        } else {
            CaseStatus::Dispatched
        };
    }

    /// Adds the units of a dispatch (rules 4 and 6). Returns how many were new.
    fn dispatch(&mut self, units: &[String], lead: Option<&String>, at: i64) -> usize {
        let on_case = self.on_case();
        let has_lead = on_case.iter().any(|&i| self.state.assignments[i].lead);
        let new_lead = if has_lead {
            None
        } else {
            lead.filter(|l| units.contains(l))
                .or(units.first())
                .cloned()
        };
        let mut added = 0;
        for unit in units {
            match self.assignment_of(Some(unit)) {
                Some(i) => {
                    // Only reachable for a case without a lead, which rule 8
                    // rules out; kept so that a case always gets one.
                    if new_lead.as_ref() == Some(unit) {
                        self.state.assignments[i].lead = true;
                    }
                }
                None => {
                    added += 1;
                    self.state.assignments.push(UnitAssignment {
                        unit: unit.clone(),
                        lead: new_lead.as_ref() == Some(unit),
                        dispatched_at: at,
                        arrived_at: None,
                        feedback_at: None,
                        released_at: None,
                        ended_at: None,
                        ended: None,
                    });
                }
            }
        }
        added
    }

    /// Applies one event. `Err` leaves the state untouched.
    fn apply(&mut self, ev: &CaseEvent, first: bool) -> Result<(), Refusal> {
        use CaseEventKind as K;
        use CaseStatus as S;
        let at = ev.at.wall_ms;
        let status = self.state.status;
        let refuse = |hint| Err(Refusal { hint });
        let author_unit = ev.by.unit.as_deref();
        let by_centre = ev.by.role == Role::Centre;
        match (&ev.kind, status) {
            (K::Reported, _) if first => {
                self.state.reported_at = at;
                self.start_clock(at);
            }
            (K::Reported, _) => return refuse("a case is reported only once"),
            (_, _) if first => return refuse("the first event of a case must be its report"),
            (
                K::Registered {
                    case_number,
                    checklist_item,
                    grid,
                },
                S::Reported,
            ) => {
                if let Some(item) = checklist_item {
                    self.state.checklist_item = item.clone();
                    self.compute_deadlines();
                }
                if let Some(grid) = grid {
                    self.state.grid = Some(grid.clone());
                }
                self.state.case_number = Some(case_number.clone());
                self.state.status = S::Registered;
            }
            (K::Registered { .. }, _) => {
                return refuse(
                    "only a reported case can be registered; it already was, or was rejected",
                );
            }
            (K::Rejected { .. }, S::Reported) => {
                self.state.status = S::Rejected;
                self.state.closed_at = Some(at);
            }
            (K::Rejected { .. }, _) => {
                return refuse("only a case awaiting registration can be rejected");
            }
            (K::Dispatched { units, lead, .. }, S::Registered | S::Dispatched | S::InProgress) => {
                self.dispatch(units, lead.as_ref(), at);
                if status == S::Registered {
                    self.state.status = S::Dispatched;
                }
            }
            // A dispatch adding units to a handled case sends it back to its
            // units, so it commutes with the feedback that completed it (rule 9).
            (K::Dispatched { units, lead, .. }, S::Handled) => {
                // Adding nothing changes nothing: with every unit named
                // already on the case, `dispatch` touched no assignment.
                if self.dispatch(units, lead.as_ref(), at) == 0 {
                    return refuse("every unit named is already on this handled case");
                }
                self.state.resolved_at = None;
                self.state.status = S::Dispatched;
            }
            (K::Dispatched { .. }, _) => return refuse("register the case before dispatching it"),
            (K::Arrived { .. }, S::Dispatched | S::InProgress) => {
                match self.assignment_of(author_unit) {
                    Some(i) => {
                        self.state.assignments[i].arrived_at.get_or_insert(at);
                    }
                    None if by_centre => {
                        for i in self.on_case() {
                            self.state.assignments[i].arrived_at.get_or_insert(at);
                        }
                    }
                    None => {
                        return refuse(
                            "the unit is not on this case (its dispatch was withdrawn or handed back)",
                        );
                    }
                }
                self.state.responded_at.get_or_insert(at);
                self.state.status = S::InProgress;
            }
            (K::Arrived { .. }, _) => return refuse("a unit arrives only on a dispatched case"),
            (K::HandledOnSpot { .. }, S::Reported | S::Registered) => {
                if !self.on_spot_allowed() {
                    return refuse(
                        "this checklist item may not be handled on the spot; report it for dispatch",
                    );
                }
                self.state.responded_at.get_or_insert(at);
                self.state.resolved_at.get_or_insert(at);
                self.state.status = S::Handled;
            }
            (K::HandledOnSpot { .. }, _) => {
                return refuse("on-the-spot handling is for a case not yet dispatched");
            }
            // Rules 2 and 7: every feedback is kept; each counts for its unit.
            (K::Feedback { .. }, S::Dispatched | S::InProgress | S::Handled) => {
                match self.assignment_of(author_unit) {
                    Some(i) => {
                        self.state.assignments[i].feedback_at.get_or_insert(at);
                    }
                    None if by_centre => {
                        for i in self.on_case() {
                            let a = &mut self.state.assignments[i];
                            if a.released_at.is_none() {
                                a.feedback_at.get_or_insert(at);
                            }
                        }
                    }
                    None => {
                        return refuse(
                            "feedback comes from a unit the case is dispatched to; this unit's dispatch was withdrawn or handed back",
                        );
                    }
                }
                self.state.responded_at.get_or_insert(at);
                if status != S::Handled {
                    self.state.status = S::InProgress;
                    self.settle(at);
                }
            }
            (K::Feedback { .. }, _) => {
                return refuse("feedback comes from a unit the case was dispatched to");
            }
            (K::Verified { passed: true, .. }, S::Handled) => self.state.status = S::Verified,
            (K::Verified { passed: false, .. }, S::Handled) => {
                self.state.resolved_at = None;
                self.send_back();
            }
            // Rule 3: a failed verification that meets a close reopens the case.
            (K::Verified { passed: false, .. }, S::Closed | S::Verified) => {
                if status == S::Closed {
                    self.state.reopen_count += 1;
                    self.start_clock(at);
                } else {
                    self.state.resolved_at = None;
                }
                self.send_back();
            }
            (K::Verified { .. }, _) => return refuse("verify a case once a unit has handled it"),
            (K::Closed { .. }, S::Handled | S::Verified) => {
                self.state.status = S::Closed;
                self.state.closed_at = Some(at);
            }
            (K::Closed { .. }, _) => {
                return refuse("close a case once it is handled (and verified)");
            }
            (K::Reopened { .. }, S::Closed | S::Rejected | S::Merged) => {
                self.state.reopen_count += 1;
                self.state.status = self.centre_status();
                self.state.merged_into = None;
                self.period_start = self.state.assignments.len();
                self.start_clock(at);
            }
            (K::Reopened { .. }, _) => {
                return refuse("only a closed, rejected or merged case can be reopened");
            }
            (K::Escalated { .. }, s) if s.is_open() => {
                if self.state.escalated {
                    return refuse("the case is already with the district platform");
                }
                self.state.escalated = true;
            }
            (K::Escalated { .. }, _) => return refuse("reopen the case before escalating it"),
            (K::Released { unit, .. }, S::Dispatched | S::InProgress) => {
                let Some(i) = self.assignment_of(Some(unit)) else {
                    return refuse(
                        "the unit is not on this case (its dispatch was withdrawn or handed back)",
                    );
                };
                let a = &self.state.assignments[i];
                if a.lead {
                    return refuse(
                        "the lead unit cannot be released; withdraw the dispatch from it instead",
                    );
                }
                if a.released_at.is_some() {
                    return refuse("the unit was already released");
                }
                if a.feedback_at.is_some() {
                    return refuse("the unit has already reported; there is nothing to release");
                }
                self.state.assignments[i].released_at = Some(at);
                self.settle(at);
            }
            (K::Released { .. }, _) => {
                return refuse("release an assisting unit while the case is with its units");
            }
            (K::Withdrawn { units, .. }, S::Dispatched | S::InProgress) => {
                let named: Vec<usize> = self
                    .on_case()
                    .into_iter()
                    .filter(|&i| units.contains(&self.state.assignments[i].unit))
                    .collect();
                if named.is_empty() {
                    return refuse(
                        "none of these units is on the case; its dispatch was already withdrawn or handed back",
                    );
                }
                for i in named {
                    if self.state.assignments[i].ended.is_none() {
                        self.take_off(i, AssignmentEnd::Withdrawn, at);
                    }
                }
                self.settle(at);
            }
            (K::Withdrawn { .. }, _) => {
                return refuse("withdraw a dispatch while the case is with its units");
            }
            (K::HandedBack { .. }, S::Dispatched | S::InProgress) => {
                let Some(i) = self.assignment_of(author_unit) else {
                    return refuse(
                        "only a unit the case is dispatched to hands it back; this unit is not on it",
                    );
                };
                let a = &self.state.assignments[i];
                if a.feedback_at.is_some() {
                    return refuse("this unit has already reported its handling");
                }
                if a.released_at.is_some() {
                    return refuse("this unit was released from the case already");
                }
                self.take_off(i, AssignmentEnd::HandedBack, at);
                self.settle(at);
            }
            (K::HandedBack { .. }, _) => {
                return refuse("a unit hands back only a case that is with it");
            }
            (K::MergedInto { target, .. }, s) if s.is_open() => {
                self.state.status = S::Merged;
                self.state.merged_into = Some(target.clone());
                self.state.closed_at = Some(at);
            }
            (K::MergedInto { .. }, _) => {
                return refuse(
                    "only an open case can be merged into another; it was closed, rejected or merged already",
                );
            }
            (K::MergedFrom { .. } | K::Comment { .. }, _) => {}
        }
        self.state.last_event_at = self.state.last_event_at.max(at);
        let holders = self.holders();
        self.track_holders(&holders, at);
        Ok(())
    }

    /// Who must act now (see the module's rules).
    fn holders(&self) -> Vec<String> {
        let s = &self.state;
        let mut holders: Vec<String> = match s.status {
            CaseStatus::Reported
            | CaseStatus::Registered
            | CaseStatus::Handled
            | CaseStatus::Verified => {
                vec![CENTRE.to_owned()]
            }
            CaseStatus::Dispatched | CaseStatus::InProgress => {
                let owing: Vec<&UnitAssignment> = self
                    .on_case()
                    .into_iter()
                    .map(|i| &s.assignments[i])
                    .filter(|a| a.owes_feedback())
                    .collect();
                let leads = owing.iter().filter(|a| a.lead);
                let assisting = owing.iter().filter(|a| !a.lead);
                leads.chain(assisting).map(|a| a.unit.clone()).collect()
            }
            CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Merged => Vec::new(),
        };
        if s.escalated && s.status.is_open() {
            holders.push(DISTRICT_PLATFORM.to_owned());
        }
        holders
    }

    /// Ends the spans of holders that stopped holding at `at`, opens spans
    /// for those that started.
    fn track_holders(&mut self, holders: &[String], at: i64) {
        let spans = &mut self.state.holder_spans;
        for span in spans.iter_mut().filter(|s| s.until.is_none()) {
            if !holders.contains(&span.holder) {
                span.until = Some(at);
            }
        }
        for h in holders {
            if !spans.iter().any(|s| s.until.is_none() && &s.holder == h) {
                spans.push(HolderSpan {
                    holder: h.clone(),
                    from: at,
                    until: None,
                });
            }
        }
    }

    fn finish(mut self) -> CaseState {
        self.state.holders = self.holders();
        let s = &mut self.state;
        s.escalation_required = !s.escalated
            && s.status.is_open()
            && self
                .catalog
                .checklist
                .item(&s.checklist_item)
                .is_some_and(|i| i.escalate_to_district);
        self.state
    }
}

/// Sorts events into the order every replica folds them in.
pub fn sort_events(events: &mut [CaseEvent]) {
    events.sort_by_key(CaseEvent::order_key);
}

fn fold<'a>(header: &CaseHeader, events: &[CaseEvent], catalog: &'a Catalog) -> Fold<'a> {
    let mut sorted: Vec<&CaseEvent> = events.iter().collect();
    sorted.sort_by_key(|e| e.order_key());
    let mut fold = Fold::new(header, catalog);
    for (i, ev) in sorted.into_iter().enumerate() {
        if let Err(refusal) = fold.apply(ev, i == 0) {
            fold.state.superseded.push(Superseded {
                event: ev.id,
                reason: refusal.hint.to_owned(),
            });
        }
    }
    fold
}

/// Derives a case's state from its header and events (any order: they are
/// sorted first). Pure: the same inputs give the same state on every device.
pub fn derive(header: &CaseHeader, events: &[CaseEvent], catalog: &Catalog) -> CaseState {
    fold(header, events, catalog).finish()
}

/// Checks whether `next` may be added to a case with these events, as its
/// author sees it now. Stricter than the fold: the concurrency rules (such as
/// a failed verification reopening a closed case) never apply to a local
/// action, whose author sees the whole state.
pub(crate) fn check_next(
    header: &CaseHeader,
    events: &[CaseEvent],
    next: &CaseEvent,
    catalog: &Catalog,
) -> Result<(), (CaseStatus, Refusal)> {
    let mut current = fold(header, events, catalog);
    let status = current.state.status;
    if matches!(next.kind, CaseEventKind::Verified { .. }) && status != CaseStatus::Handled {
        return Err((
            status,
            Refusal {
                hint: "verify a case once a unit has handled it",
            },
        ));
    }
    current
        .apply(next, events.is_empty())
        .map_err(|r| (status, r))
}
