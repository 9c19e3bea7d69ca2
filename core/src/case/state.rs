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
//! # Deadlines
//!
//! The clock starts when the case enters the platform (its *reported* event)
//! or when it is reopened. The response is met by the first arrival on site,
//! on-the-spot handling or feedback; the resolution by the first on-the-spot
//! handling or feedback. Limits come from the checklist item (the one
//! corrected at registration, if any). A case whose item is unknown to this
//! device's checklist has no deadlines rather than invented ones.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

use crate::case::CaseHeader;
use crate::case::event::{CaseEvent, CaseEventKind};
use crate::catalog::Catalog;
use crate::ids::EventId;

/// Holder name for the street's management centre.
pub const CENTRE: &str = "管理中心";
/// Holder name for the district platform (区级平台).
pub const DISTRICT_PLATFORM: &str = "区级平台";

/// Where a case stands in the workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

impl CaseStatus {
    /// Every status, in workflow order.
    pub const ALL: [CaseStatus; 8] = [
        CaseStatus::Reported,
        CaseStatus::Registered,
        CaseStatus::Rejected,
        CaseStatus::Dispatched,
        CaseStatus::InProgress,
        CaseStatus::Handled,
        CaseStatus::Verified,
        CaseStatus::Closed,
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
        }
    }

    /// Parses the machine name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// True while someone still has to act on the case.
    pub fn is_open(self) -> bool {
        !matches!(self, CaseStatus::Closed | CaseStatus::Rejected)
    }
}

impl fmt::Display for CaseStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event the fold could not apply, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Superseded {
    /// The event concerned.
    pub event: EventId,
    /// Why it changed nothing.
    pub reason: String,
}

/// Everything the screens need to know about a case, derived from its events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    units: BTreeSet<String>,
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
            },
            units: BTreeSet::new(),
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

    /// Applies one event. `Err` leaves the state untouched.
    fn apply(&mut self, ev: &CaseEvent, first: bool) -> Result<(), Refusal> {
        use CaseEventKind as K;
        use CaseStatus as S;
        let at = ev.at.wall_ms;
        let status = self.state.status;
        let refuse = |hint| Err(Refusal { hint });
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
            (K::Dispatched { units, .. }, S::Registered | S::Dispatched | S::InProgress) => {
                self.units.extend(units.iter().cloned());
                if status == S::Registered {
                    self.state.status = S::Dispatched;
                }
            }
            (K::Dispatched { .. }, _) => return refuse("register the case before dispatching it"),
            (K::Arrived { .. }, S::Dispatched | S::InProgress) => {
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
            // Rule 2: every feedback is kept; the first fixes the handling time.
            (K::Feedback { .. }, S::Dispatched | S::InProgress | S::Handled) => {
                self.state.responded_at.get_or_insert(at);
                self.state.resolved_at.get_or_insert(at);
                self.state.status = S::Handled;
            }
            (K::Feedback { .. }, _) => {
                return refuse("feedback comes from a unit the case was dispatched to");
            }
            (K::Verified { passed: true, .. }, S::Handled) => self.state.status = S::Verified,
            (K::Verified { passed: false, .. }, S::Handled) => {
                self.state.sent_back_count += 1;
                self.state.resolved_at = None;
                self.state.status = S::Dispatched;
            }
            // Rule 3: a failed verification that meets a close reopens the case.
            (K::Verified { passed: false, .. }, S::Closed | S::Verified) => {
                self.state.sent_back_count += 1;
                if status == S::Closed {
                    self.state.reopen_count += 1;
                    self.start_clock(at);
                } else {
                    self.state.resolved_at = None;
                }
                self.state.status = S::Dispatched;
            }
            (K::Verified { .. }, _) => return refuse("verify a case once a unit has handled it"),
            (K::Closed { .. }, S::Handled | S::Verified) => {
                self.state.status = S::Closed;
                self.state.closed_at = Some(at);
            }
            (K::Closed { .. }, _) => {
                return refuse("close a case once it is handled (and verified)");
            }
            (K::Reopened { .. }, S::Closed | S::Rejected) => {
                self.state.reopen_count += 1;
                self.state.status = if self.state.case_number.is_some() {
                    S::Registered
                } else {
                    S::Reported
                };
                self.units.clear();
                self.start_clock(at);
            }
            (K::Reopened { .. }, _) => {
                return refuse("only a closed or rejected case can be reopened");
            }
            (K::Escalated { .. }, s) if s.is_open() => {
                if self.state.escalated {
                    return refuse("the case is already with the district platform");
                }
                self.state.escalated = true;
            }
            (K::Escalated { .. }, _) => return refuse("reopen the case before escalating it"),
            (K::Comment { .. }, _) => {}
        }
        self.state.last_event_at = self.state.last_event_at.max(at);
        Ok(())
    }

    fn finish(mut self) -> CaseState {
        let s = &mut self.state;
        let mut holders: Vec<String> = match s.status {
            CaseStatus::Reported
            | CaseStatus::Registered
            | CaseStatus::Handled
            | CaseStatus::Verified => {
                vec![CENTRE.to_owned()]
            }
            CaseStatus::Dispatched | CaseStatus::InProgress => self.units.iter().cloned().collect(),
            CaseStatus::Closed | CaseStatus::Rejected => Vec::new(),
        };
        if s.escalated && s.status.is_open() {
            holders.push(DISTRICT_PLATFORM.to_owned());
        }
        s.holders = holders;
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
