//! Joint handling, withdrawal, hand-back and merge (rules 6–11 of
//! `case::state`), each rule on a hand-built event log, concurrent pairs in
//! both orders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use support::*;
use wangge_core::case::{CaseHeader, derive};
use wangge_core::hlc::Hlc;
use wangge_core::{
    AssignmentEnd, CaseEvent, CaseEventKind as K, CaseId, CaseState, CaseStatus, DeviceId, EventId,
    Role,
};

/// A case log under construction: events at increasing minutes after 9:00.
struct Log {
    header: CaseHeader,
    device: DeviceId,
    events: Vec<CaseEvent>,
}

impl Log {
    fn new() -> Log {
        let device = DeviceId::generate();
        let header = vendor_header(CaseId::generate(), device);
        let mut log = Log {
            header,
            device,
            events: Vec::new(),
        };
        log.officer(0, K::Reported);
        log.centre(
            1,
            K::Registered {
                case_number: "XT-1".into(),
                checklist_item: None,
                grid: None,
            },
        );
        log
    }

    fn at(&mut self, minute: i64, by: wangge_core::Actor, kind: K) -> EventId {
        let id = EventId::generate();
        self.events.push(CaseEvent {
            id,
            at: Hlc {
                wall_ms: MONDAY_9AM + minute * MINUTE,
                counter: 0,
            },
            by,
            kind,
        });
        id
    }

    fn officer(&mut self, minute: i64, kind: K) -> EventId {
        let by = actor("officer", Role::GridOfficer, Some("网格一组"), self.device);
        self.at(minute, by, kind)
    }

    fn centre(&mut self, minute: i64, kind: K) -> EventId {
        let by = actor("centre", Role::Centre, None, self.device);
        self.at(minute, by, kind)
    }

    fn unit(&mut self, minute: i64, unit: &str, kind: K) -> EventId {
        let by = actor("handler", Role::HandlingUnit, Some(unit), self.device);
        self.at(minute, by, kind)
    }

    fn state(&self) -> CaseState {
        derive(&self.header, &self.events, &catalog())
    }

    fn superseded(&self, id: EventId) -> bool {
        self.state().superseded.iter().any(|s| s.event == id)
    }
}

fn dispatch(units: &[&str], lead: Option<&str>) -> K {
    K::Dispatched {
        units: units.iter().map(|u| u.to_string()).collect(),
        lead: lead.map(str::to_owned),
        note: None,
    }
}

fn feedback() -> K {
    K::Feedback {
        note: "已处置".into(),
        photos: vec![],
    }
}

fn holders(s: &CaseState) -> Vec<&str> {
    s.holders.iter().map(String::as_str).collect()
}

#[test]
fn the_case_is_handled_when_the_lead_and_every_assisting_unit_have_reported() {
    let mut log = Log::new();
    log.centre(
        2,
        dispatch(&["物业", "城管中队", "市政科"], Some("城管中队")),
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Dispatched);
    // The lead is listed first, whatever the order the centre typed them in.
    assert_eq!(holders(&s), ["城管中队", "物业", "市政科"]);
    assert!(s.assignments.iter().any(|a| a.unit == "城管中队" && a.lead));

    // An assisting unit's report does not handle the case.
    log.unit(10, "物业", feedback());
    let s = log.state();
    assert_eq!(s.status, CaseStatus::InProgress);
    assert_eq!(holders(&s), ["城管中队", "市政科"]);
    assert_eq!(s.responded_at, Some(MONDAY_9AM + 10 * MINUTE));
    assert_eq!(s.resolved_at, None);

    // Nor does the lead's while another assisting unit still owes.
    log.unit(20, "城管中队", feedback());
    let s = log.state();
    assert_eq!(s.status, CaseStatus::InProgress);
    assert_eq!(holders(&s), ["市政科"]);

    // Releasing the last one completes it, at the release's time.
    log.centre(
        30,
        K::Released {
            unit: "市政科".into(),
            reason: Some("无需市政配合".into()),
        },
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Handled);
    assert_eq!(s.resolved_at, Some(MONDAY_9AM + 30 * MINUTE));
    assert_eq!(holders(&s), ["管理中心"]);
}

#[test]
fn a_dispatch_without_a_lead_is_led_by_its_first_unit() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队", "物业"], None));
    let s = log.state();
    let lead: Vec<&str> = s
        .assignments
        .iter()
        .filter(|a| a.lead)
        .map(|a| a.unit.as_str())
        .collect();
    assert_eq!(lead, ["城管中队"]);
    // A later dispatch naming its own lead adds assisting units only.
    log.centre(3, dispatch(&["市政科"], Some("市政科")));
    let s = log.state();
    assert_eq!(
        s.assignments.iter().filter(|a| a.lead).count(),
        1,
        "one lead: {s:?}"
    );
    assert_eq!(holders(&s), ["城管中队", "物业", "市政科"]);
}

#[test]
fn the_lead_cannot_be_released_and_a_released_unit_s_report_still_counts() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队", "物业"], Some("城管中队")));
    let refused = log.centre(
        3,
        K::Released {
            unit: "城管中队".into(),
            reason: None,
        },
    );
    assert!(log.superseded(refused));
    log.centre(
        4,
        K::Released {
            unit: "物业".into(),
            reason: None,
        },
    );
    // The released unit reports anyway (it had not heard): kept, not superseded.
    let late = log.unit(5, "物业", feedback());
    assert!(!log.superseded(late));
    assert_eq!(log.state().status, CaseStatus::InProgress);
    log.unit(6, "城管中队", feedback());
    assert_eq!(log.state().status, CaseStatus::Handled);
}

#[test]
fn withdrawing_an_assisting_unit_leaves_the_lead_and_withdrawing_the_lead_returns_the_case() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队", "物业"], Some("城管中队")));
    log.centre(
        3,
        K::Withdrawn {
            units: vec!["物业".into()],
            reason: "派错单位".into(),
        },
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Dispatched);
    assert_eq!(holders(&s), ["城管中队"]);
    let wy = s.assignments.iter().find(|a| a.unit == "物业").unwrap();
    assert_eq!(wy.ended, Some(AssignmentEnd::Withdrawn));
    // A withdrawn unit's later feedback is superseded (it is off the case).
    let stale = log.unit(4, "物业", feedback());
    assert!(log.superseded(stale));

    // Withdraw the lead: back to the centre, to be dispatched again.
    log.centre(
        5,
        K::Withdrawn {
            units: vec!["城管中队".into()],
            reason: "应由市政处理".into(),
        },
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Registered);
    assert_eq!(holders(&s), ["管理中心"]);
    log.centre(6, dispatch(&["市政科"], None));
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Dispatched);
    assert_eq!(holders(&s), ["市政科"]);
    assert!(s.assignments.iter().any(|a| a.unit == "市政科" && a.lead));
}

#[test]
fn a_lead_handing_back_takes_the_joint_handling_back_to_the_centre() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队", "物业"], Some("城管中队")));
    log.unit(3, "物业", K::Arrived { note: None });
    log.unit(
        4,
        "城管中队",
        K::HandedBack {
            reason: "非本单位职责".into(),
        },
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Registered);
    assert_eq!(holders(&s), ["管理中心"]);
    let ends: Vec<(&str, Option<AssignmentEnd>)> = s
        .assignments
        .iter()
        .map(|a| (a.unit.as_str(), a.ended))
        .collect();
    assert_eq!(
        ends,
        [
            ("城管中队", Some(AssignmentEnd::HandedBack)),
            ("物业", Some(AssignmentEnd::Withdrawn))
        ]
    );
}

#[test]
fn an_assisting_unit_handing_back_leaves_the_rest_of_the_dispatch() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队", "物业"], Some("城管中队")));
    log.unit(3, "城管中队", feedback());
    log.unit(
        4,
        "物业",
        K::HandedBack {
            reason: "不在物业管辖范围".into(),
        },
    );
    // The lead had reported and nobody else owes: handled.
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Handled);
    assert_eq!(s.resolved_at, Some(MONDAY_9AM + 4 * MINUTE));
}

#[test]
fn a_failed_verification_sends_the_case_back_to_every_unit_that_was_not_released() {
    let mut log = Log::new();
    log.centre(
        2,
        dispatch(&["城管中队", "物业", "市政科"], Some("城管中队")),
    );
    log.centre(
        3,
        K::Released {
            unit: "市政科".into(),
            reason: None,
        },
    );
    log.unit(4, "物业", feedback());
    log.unit(5, "城管中队", feedback());
    assert_eq!(log.state().status, CaseStatus::Handled);
    log.at(
        6,
        actor("inspector", Role::Supervisor, None, log.device),
        K::Verified {
            passed: false,
            note: Some("仍有摊贩".into()),
            photos: vec![],
        },
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Dispatched);
    assert_eq!(holders(&s), ["城管中队", "物业"]);
    assert_eq!(s.sent_back_count, 1);
}

#[test]
fn release_and_a_concurrent_feedback_of_that_unit_agree_in_either_order() {
    for release_first in [true, false] {
        let mut log = Log::new();
        log.centre(2, dispatch(&["城管中队", "物业"], Some("城管中队")));
        let (r, f) = if release_first { (3, 4) } else { (4, 3) };
        log.centre(
            r,
            K::Released {
                unit: "物业".into(),
                reason: None,
            },
        );
        log.unit(f, "物业", feedback());
        let s = log.state();
        assert_eq!(holders(&s), ["城管中队"], "release first: {release_first}");
        assert!(
            !s.assignments
                .iter()
                .any(|a| a.owes_feedback() && a.unit == "物业")
        );
    }
}

#[test]
fn a_withdrawal_that_meets_the_feedback_completing_the_case_is_superseded() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队"], None));
    log.unit(3, "城管中队", feedback());
    let w = log.centre(
        4,
        K::Withdrawn {
            units: vec!["城管中队".into()],
            reason: "派错单位".into(),
        },
    );
    assert!(log.superseded(w));
    assert_eq!(log.state().status, CaseStatus::Handled);
}

#[test]
fn a_merged_duplicate_is_not_open_not_closed_and_can_be_reopened() {
    let target = CaseId::generate().to_string();
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队"], None));
    log.centre(
        3,
        K::MergedInto {
            target: target.clone(),
            note: Some("同一摊贩".into()),
        },
    );
    // A concurrent feedback on the duplicate is superseded; it stays in the timeline.
    let fb = log.unit(4, "城管中队", feedback());
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Merged);
    assert!(!s.status.is_open());
    assert_eq!(s.merged_into.as_deref(), Some(target.as_str()));
    assert!(s.holders.is_empty());
    assert!(log.superseded(fb));
    // A second merge does not move it.
    let again = log.centre(
        5,
        K::MergedInto {
            target: CaseId::generate().to_string(),
            note: None,
        },
    );
    assert!(log.superseded(again));
    // A wrong merge is undone by reopening: back with the centre, a new period.
    log.centre(
        6,
        K::Reopened {
            reason: "并非重复".into(),
        },
    );
    let s = log.state();
    assert_eq!(s.status, CaseStatus::Registered);
    assert_eq!(s.merged_into, None);
    assert_eq!(holders(&s), ["管理中心"]);
}

#[test]
fn holder_spans_say_who_held_the_case_and_for_how_long() {
    let mut log = Log::new();
    log.centre(2, dispatch(&["城管中队", "物业"], Some("城管中队")));
    log.unit(10, "物业", feedback());
    log.unit(30, "城管中队", feedback());
    log.centre(
        40,
        K::Verified {
            passed: true,
            note: None,
            photos: vec![],
        },
    );
    log.centre(45, K::Closed { note: None });
    let s = log.state();
    let spans: Vec<(&str, i64, Option<i64>)> = s
        .holder_spans
        .iter()
        .map(|h| {
            (
                h.holder.as_str(),
                (h.from - MONDAY_9AM) / MINUTE,
                h.until.map(|u| (u - MONDAY_9AM) / MINUTE),
            )
        })
        .collect();
    assert_eq!(
        spans,
        [
            ("管理中心", 0, Some(2)),
            ("城管中队", 2, Some(30)),
            ("物业", 2, Some(10)),
            ("管理中心", 30, Some(45)),
        ]
    );
}
