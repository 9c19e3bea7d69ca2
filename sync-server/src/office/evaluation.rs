//! The evaluation of a period (综合评估): what came in by channel and category, how much
//! was closed, which unit answers on time and which delays, and where cases are stuck —
//! the figures of the seed ("which department acts, which delays, where it is stuck: all
//! visible").
//!
//! # The counting rules
//!
//! - **The period's cases** are those *reported* in it (`[from, to)`), wherever they stand
//!   now. A quarter's closure rate is about the quarter's intake.
//! - **Accepted** (受理/立案) cases are those the centre registered (they carry a number)
//!   and that were not merged into another: a duplicate's handling is counted once, in the
//!   case it was merged into. **Closure rate** = closed ÷ accepted.
//! - **On time, per case**: the response is on time if met (arrival, on-the-spot handling
//!   or feedback) by the response deadline, the resolution if handled by the resolution
//!   deadline. A deadline is judged once it is *decidable*: met (on time or late), or
//!   passed unmet (late). A deadline not passed and not met is not judged yet, so a
//!   quarter evaluated before it ends is not flattered by its still-running cases.
//! - **On time, per unit**: each of a unit's assignments is judged against the case's
//!   deadlines in force: its response is its first arrival or its feedback, its
//!   resolution its feedback. A unit still owing feedback is late once a deadline passes.
//!   An assignment that ended (withdrawn, handed back), was released, or belongs to a
//!   duplicate merged away is judged only on what the unit did before: its arrival if it
//!   came, its feedback if it reported. A unit taken off is not blamed for the deadlines it
//!   no longer had to meet.
//! - **Handling time per unit**: from its dispatch to its feedback; the median over its
//!   assignments with feedback.
//! - **Ranking**: resolution on-time rate, then response on-time rate (higher first; a
//!   unit with nothing judged comes last), then median handling time (shorter first),
//!   then the unit's id.
//! - **Stuck**: open cases by how long their current holder has held them (the oldest open
//!   holding span), longest first.
//! - **Time with holders**: per holder, the time the period's cases spent with it (spans
//!   still open count up to now).

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use wangge_core::CaseStatus;

/// A case of the period, as the evaluation reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalCase {
    /// Its id.
    pub id: String,
    /// Official number, if registered.
    pub case_number: Option<String>,
    /// Status now.
    pub status: CaseStatus,
    /// Intake channel.
    pub channel: String,
    /// Category in force.
    pub category: String,
    /// When reported (ms).
    pub reported_at: i64,
    /// Response deadline.
    pub response_due: Option<i64>,
    /// Resolution deadline.
    pub resolution_due: Option<i64>,
    /// When the response was met.
    pub responded_at: Option<i64>,
    /// When handled.
    pub resolved_at: Option<i64>,
}

/// One unit's part in a case of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalAssignment {
    /// The case.
    pub case_id: String,
    /// The unit.
    pub unit: String,
    /// Lead unit.
    pub lead: bool,
    /// Dispatched (ms).
    pub dispatched_at: i64,
    /// First arrival.
    pub arrived_at: Option<i64>,
    /// Feedback.
    pub feedback_at: Option<i64>,
    /// Released.
    pub released_at: Option<i64>,
    /// Taken off: `withdrawn` or `handed_back`.
    pub ended: Option<String>,
}

/// A holding span of a case of the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalSpan {
    /// The case.
    pub case_id: String,
    /// The holder.
    pub holder: String,
    /// From (ms).
    pub from: i64,
    /// Until (ms); `None` while it holds.
    pub until: Option<i64>,
}

/// What the storage reads for an evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvalInput {
    /// The cases reported in the period.
    pub cases: Vec<EvalCase>,
    /// Their assignments.
    pub assignments: Vec<EvalAssignment>,
    /// Their holding spans.
    pub spans: Vec<EvalSpan>,
}

/// A count with its share of the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Share {
    /// What is counted (a channel, a category).
    pub key: String,
    /// How many.
    pub count: u64,
    /// Share of the period's intake (0–1).
    pub share: f64,
}

/// Deadlines judged: on time, late, and the rate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OnTime {
    /// Met by the deadline.
    pub on_time: u64,
    /// Met late, or passed unmet.
    pub late: u64,
    /// on_time ÷ (on_time + late); `None` when nothing was judged.
    pub rate: Option<f64>,
}

impl OnTime {
    fn judge(&mut self, due: Option<i64>, met: Option<i64>, now_ms: i64) {
        match (due, met) {
            (Some(due), Some(met)) if met <= due => self.on_time += 1,
            (Some(_), Some(_)) => self.late += 1,
            (Some(due), None) if now_ms > due => self.late += 1,
            _ => {}
        }
    }

    fn finish(&mut self) {
        let judged = self.on_time + self.late;
        self.rate = (judged > 0).then(|| self.on_time as f64 / judged as f64);
    }
}

/// One unit's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UnitFigures {
    /// Place in the ranking, from 1.
    pub rank: u32,
    /// The unit.
    pub unit: String,
    /// Assignments (lead and assisting).
    pub assignments: u64,
    /// Of which as lead.
    pub lead: u64,
    /// Assignments it reported feedback on.
    pub reported: u64,
    /// Assignments it still owes feedback on.
    pub owing: u64,
    /// Assignments it handed back.
    pub handed_back: u64,
    /// Assignments withdrawn from it.
    pub withdrawn: u64,
    /// Assignments it was released from.
    pub released: u64,
    /// Its responses judged.
    pub response: OnTime,
    /// Its resolutions judged.
    pub resolution: OnTime,
    /// Median time from dispatch to its feedback (ms).
    pub median_handling_ms: Option<i64>,
}

/// An open case and the holder that has had it longest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Stuck {
    /// The case.
    pub case_id: String,
    /// Its number.
    pub case_number: Option<String>,
    /// Its status.
    pub status: CaseStatus,
    /// The holder.
    pub holder: String,
    /// Holding since (ms).
    pub since: i64,
    /// How long (ms) up to now.
    pub held_ms: i64,
}

/// Time the period's cases spent with one holder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HolderTotal {
    /// The holder.
    pub holder: String,
    /// Cases it held.
    pub cases: u64,
    /// Total time (ms).
    pub total_ms: i64,
    /// Median time per case (ms).
    pub median_ms: i64,
}

/// The evaluation of a period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Evaluation {
    /// Start of the period (ms).
    pub from: i64,
    /// End of the period (ms, exclusive).
    pub to: i64,
    /// The time the figures were computed at (ms): what "now" meant.
    pub computed_at: i64,
    /// Cases reported in the period.
    pub intake: u64,
    /// By channel, every channel that had cases, most first.
    pub by_channel: Vec<Share>,
    /// By category, most first.
    pub by_category: Vec<Share>,
    /// Share of the three largest categories.
    pub top3_share: f64,
    /// Registered and not merged (accepted).
    pub accepted: u64,
    /// Rejected by the centre.
    pub rejected: u64,
    /// Merged into another case.
    pub merged: u64,
    /// Closed.
    pub closed: u64,
    /// Still open.
    pub open: u64,
    /// closed ÷ accepted; `None` when nothing was accepted.
    pub closure_rate: Option<f64>,
    /// Responses of the period's cases.
    pub response: OnTime,
    /// Resolutions of the period's cases.
    pub resolution: OnTime,
    /// Units, ranked.
    pub units: Vec<UnitFigures>,
    /// Open cases stuck longest (at most `stuck_limit`).
    pub stuck: Vec<Stuck>,
    /// Time with each holder, longest total first.
    pub holders: Vec<HolderTotal>,
}

fn shares(counts: HashMap<String, u64>, total: u64) -> Vec<Share> {
    let mut v: Vec<Share> = counts
        .into_iter()
        .map(|(key, count)| Share {
            share: if total == 0 {
                0.0
            } else {
                count as f64 / total as f64
            },
            key,
            count,
        })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key.cmp(&b.key)));
    v
}

/// The median of some durations (the lower middle of an even count); `None` if empty.
pub fn median(mut values: Vec<i64>) -> Option<i64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[(values.len() - 1) / 2])
}

/// Computes the evaluation of `input` (the period `[from, to)`) at `now_ms`.
pub fn evaluate(
    input: &EvalInput,
    from: i64,
    to: i64,
    now_ms: i64,
    stuck_limit: usize,
) -> Evaluation {
    let intake = input.cases.len() as u64;
    let mut by_channel = HashMap::new();
    let mut by_category = HashMap::new();
    let (mut accepted, mut rejected, mut merged, mut closed, mut open) = (0, 0, 0, 0, 0);
    let (mut response, mut resolution) = (OnTime::default(), OnTime::default());
    let cases: HashMap<&str, &EvalCase> = input.cases.iter().map(|c| (c.id.as_str(), c)).collect();
    for c in &input.cases {
        *by_channel.entry(c.channel.clone()).or_insert(0u64) += 1;
        *by_category.entry(c.category.clone()).or_insert(0u64) += 1;
        match c.status {
            CaseStatus::Rejected => rejected += 1,
            CaseStatus::Merged => merged += 1,
            _ => {}
        }
        if c.case_number.is_some() && c.status != CaseStatus::Merged {
            accepted += 1;
            if c.status == CaseStatus::Closed {
                closed += 1;
            }
        }
        if c.status.is_open() {
            open += 1;
        }
        if c.status != CaseStatus::Merged && c.status != CaseStatus::Rejected {
            response.judge(c.response_due, c.responded_at, now_ms);
            resolution.judge(c.resolution_due, c.resolved_at, now_ms);
        }
    }
    response.finish();
    resolution.finish();
    let by_category = shares(by_category, intake);
    let top3: u64 = by_category.iter().take(3).map(|s| s.count).sum();

    let mut units: BTreeMap<&str, (UnitFigures, Vec<i64>)> = BTreeMap::new();
    for a in &input.assignments {
        let (u, handling) = units.entry(a.unit.as_str()).or_insert_with(|| {
            (
                UnitFigures {
                    rank: 0,
                    unit: a.unit.clone(),
                    assignments: 0,
                    lead: 0,
                    reported: 0,
                    owing: 0,
                    handed_back: 0,
                    withdrawn: 0,
                    released: 0,
                    response: OnTime::default(),
                    resolution: OnTime::default(),
                    median_handling_ms: None,
                },
                Vec::new(),
            )
        });
        u.assignments += 1;
        u.lead += u64::from(a.lead);
        match a.ended.as_deref() {
            Some("handed_back") => u.handed_back += 1,
            Some(_) => u.withdrawn += 1,
            None => {}
        }
        u.released += u64::from(a.released_at.is_some());
        if let Some(f) = a.feedback_at {
            u.reported += 1;
            handling.push(f - a.dispatched_at);
        }
        let owes = a.ended.is_none() && a.released_at.is_none() && a.feedback_at.is_none();
        u.owing += u64::from(owes);
        let Some(case) = cases.get(a.case_id.as_str()) else {
            continue;
        };
        // A unit still owing is judged on both deadlines (late once they pass). One taken off
        // (withdrawn, handed back), released, or on a duplicate merged away is judged only on
        // what it did before: its arrival if it came, its feedback if it reported.
        let owing = owes && case.status != CaseStatus::Merged;
        let responded = match (a.arrived_at, a.feedback_at) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        };
        if owing || responded.is_some() {
            u.response.judge(case.response_due, responded, now_ms);
        }
        if owing || a.feedback_at.is_some() {
            u.resolution
                .judge(case.resolution_due, a.feedback_at, now_ms);
        }
    }
    let mut units: Vec<UnitFigures> = units
        .into_values()
        .map(|(mut u, handling)| {
            u.response.finish();
            u.resolution.finish();
            u.median_handling_ms = median(handling);
            u
        })
        .collect();
    let rate = |r: &OnTime| r.rate.unwrap_or(-1.0);
    units.sort_by(|a, b| {
        rate(&b.resolution)
            .total_cmp(&rate(&a.resolution))
            .then_with(|| rate(&b.response).total_cmp(&rate(&a.response)))
            .then_with(|| {
                a.median_handling_ms
                    .unwrap_or(i64::MAX)
                    .cmp(&b.median_handling_ms.unwrap_or(i64::MAX))
            })
            .then_with(|| a.unit.cmp(&b.unit))
    });
    for (i, u) in units.iter_mut().enumerate() {
        u.rank = i as u32 + 1;
    }

    let mut stuck: HashMap<&str, Stuck> = HashMap::new();
    let mut per_holder: BTreeMap<&str, HashMap<&str, i64>> = BTreeMap::new();
    for s in &input.spans {
        let held = s.until.unwrap_or(now_ms) - s.from;
        *per_holder
            .entry(s.holder.as_str())
            .or_default()
            .entry(s.case_id.as_str())
            .or_insert(0) += held;
        let Some(case) = cases.get(s.case_id.as_str()) else {
            continue;
        };
        if s.until.is_none() && case.status.is_open() {
            let candidate = Stuck {
                case_id: case.id.clone(),
                case_number: case.case_number.clone(),
                status: case.status,
                holder: s.holder.clone(),
                since: s.from,
                held_ms: held,
            };
            let keep = stuck
                .get(case.id.as_str())
                .is_none_or(|old| (candidate.since, &candidate.holder) < (old.since, &old.holder));
            if keep {
                stuck.insert(case.id.as_str(), candidate);
            }
        }
    }
    let mut stuck: Vec<Stuck> = stuck.into_values().collect();
    stuck.sort_by(|a, b| {
        b.held_ms
            .cmp(&a.held_ms)
            .then_with(|| a.case_id.cmp(&b.case_id))
    });
    stuck.truncate(stuck_limit);
    let mut holders: Vec<HolderTotal> = per_holder
        .into_iter()
        .map(|(holder, per_case)| {
            let times: Vec<i64> = per_case.into_values().collect();
            HolderTotal {
                holder: holder.to_owned(),
                cases: times.len() as u64,
                total_ms: times.iter().sum(),
                median_ms: median(times).unwrap_or(0),
            }
        })
        .collect();
    holders.sort_by(|a, b| {
        b.total_ms
            .cmp(&a.total_ms)
            .then_with(|| a.holder.cmp(&b.holder))
    });

    Evaluation {
        from,
        to,
        computed_at: now_ms,
        intake,
        by_channel: shares(by_channel, intake),
        top3_share: if intake == 0 {
            0.0
        } else {
            top3 as f64 / intake as f64
        },
        by_category,
        accepted,
        rejected,
        merged,
        closed,
        open,
        closure_rate: (accepted > 0).then(|| closed as f64 / accepted as f64),
        response,
        resolution,
        units,
        stuck,
        holders,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const MIN: i64 = 60_000;

    fn case(id: &str, status: CaseStatus, numbered: bool) -> EvalCase {
        EvalCase {
            id: id.into(),
            case_number: numbered.then(|| format!("N-{id}")),
            status,
            channel: "grid_officer_handheld".into(),
            category: "A01".into(),
            reported_at: 0,
            response_due: Some(15 * MIN),
            resolution_due: Some(45 * MIN),
            responded_at: None,
            resolved_at: None,
        }
    }

    fn part(case_id: &str, unit: &str) -> EvalAssignment {
        EvalAssignment {
            case_id: case_id.into(),
            unit: unit.into(),
            lead: true,
            dispatched_at: 5 * MIN,
            arrived_at: None,
            feedback_at: None,
            released_at: None,
            ended: None,
        }
    }

    #[test]
    fn a_deadline_is_judged_once_decidable_and_not_before() {
        let input = EvalInput {
            cases: vec![case("a", CaseStatus::Dispatched, true)],
            assignments: vec![part("a", "城管中队")],
            spans: vec![],
        };
        // At 10 minutes nothing is due yet: nothing judged, no rate.
        let e = evaluate(&input, 0, 1, 10 * MIN, 10);
        assert_eq!((e.response.on_time, e.response.late), (0, 0));
        assert_eq!(e.response.rate, None);
        assert_eq!(e.units[0].response.rate, None);
        // At 20 minutes the response is late, the resolution not yet due.
        let e = evaluate(&input, 0, 1, 20 * MIN, 10);
        assert_eq!((e.response.late, e.resolution.late), (1, 0));
        assert_eq!(e.units[0].response.late, 1);
        assert_eq!(e.units[0].owing, 1);
    }

    #[test]
    fn units_taken_off_before_acting_are_not_judged_and_duplicates_are_not_accepted() {
        let mut withdrawn = part("a", "物业");
        withdrawn.ended = Some("withdrawn".into());
        let mut released = part("a", "市政科");
        released.lead = false;
        released.released_at = Some(6 * MIN);
        let mut handed_back = part("a", "绿化所");
        handed_back.arrived_at = Some(10 * MIN);
        handed_back.ended = Some("handed_back".into());
        let input = EvalInput {
            cases: vec![
                case("a", CaseStatus::Registered, true),
                case("b", CaseStatus::Merged, true),
                case("c", CaseStatus::Closed, true),
                case("d", CaseStatus::Rejected, false),
            ],
            assignments: vec![withdrawn, released, handed_back],
            spans: vec![],
        };
        let e = evaluate(&input, 0, 1, 100 * MIN, 10);
        assert_eq!(
            e.accepted, 2,
            "a merged duplicate is counted in its target only"
        );
        assert_eq!((e.closed, e.merged, e.rejected), (1, 1, 1));
        assert_eq!(e.closure_rate, Some(0.5));
        let unit = |name: &str| e.units.iter().find(|u| u.unit == name).unwrap();
        assert_eq!(
            unit("物业").response.on_time + unit("物业").response.late,
            0
        );
        assert_eq!(unit("市政科").resolution.late, 0);
        assert_eq!(unit("市政科").released, 1);
        // It arrived before handing back: its arrival is judged (on time, 10 ≤ 15).
        assert_eq!(unit("绿化所").response.on_time, 1);
        assert_eq!(
            unit("绿化所").resolution.on_time + unit("绿化所").resolution.late,
            0
        );
        assert_eq!(unit("绿化所").handed_back, 1);
    }

    #[test]
    fn the_oldest_holding_that_goes_on_is_where_a_case_is_stuck() {
        let span = |holder: &str, from: i64, until: Option<i64>| EvalSpan {
            case_id: "a".into(),
            holder: holder.into(),
            from,
            until,
        };
        let input = EvalInput {
            cases: vec![case("a", CaseStatus::InProgress, true)],
            assignments: vec![],
            spans: vec![
                span("管理中心", 0, Some(5 * MIN)),
                span("物业", 5 * MIN, None),
                span("城管中队", 20 * MIN, None),
            ],
        };
        let e = evaluate(&input, 0, 1, 65 * MIN, 10);
        assert_eq!(e.stuck.len(), 1);
        assert_eq!(
            (e.stuck[0].holder.as_str(), e.stuck[0].held_ms),
            ("物业", 60 * MIN)
        );
        let total = |h: &str| e.holders.iter().find(|x| x.holder == h).unwrap().total_ms;
        assert_eq!(total("管理中心"), 5 * MIN);
        assert_eq!(total("城管中队"), 45 * MIN);
        assert_eq!(
            median(vec![3, 1, 2, 4]),
            Some(2),
            "the lower middle of an even count"
        );
    }
}
