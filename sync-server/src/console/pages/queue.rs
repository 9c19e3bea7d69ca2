//! `/console/queues/{queue}`: the case lists people work from — to register, in progress by
//! unit, due within 30 minutes, overdue, escalated, handed back, to verify, a unit's own,
//! and every case (a search). Each is a filter of `GET /v1/cases` (the same query
//! parameters refine it), paged on the server, so a queue stays fast at 100,000 cases.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use wangge_core::{CaseStatus, SourceChannel};

use crate::AppState;
use crate::console::format::{span, when};
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::session::{Staff, encode_component};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::office::queue::{CaseFilter, CaseRow, SortOrder};
use crate::routes::blocking;
use crate::routes::office::ListParams;

/// A queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Reported, not yet registered (15 minutes to clarify).
    ToRegister,
    /// With units now.
    InProgress,
    /// A deadline within 30 minutes.
    DueSoon,
    /// Late.
    Overdue,
    /// With the district platform.
    Escalated,
    /// Handed back by a unit, with the centre again.
    HandedBack,
    /// Handled, waiting for verification.
    ToVerify,
    /// The cases of the person's units that are open.
    MyUnit,
    /// Every case the person may see (a search).
    All,
}

impl Queue {
    /// Every queue, in the order of the tabs.
    pub const ALL: [Queue; 9] = [
        Queue::ToRegister,
        Queue::InProgress,
        Queue::DueSoon,
        Queue::Overdue,
        Queue::Escalated,
        Queue::HandedBack,
        Queue::ToVerify,
        Queue::MyUnit,
        Queue::All,
    ];

    /// Its path segment.
    pub fn slug(self) -> &'static str {
        match self {
            Queue::ToRegister => "to-register",
            Queue::InProgress => "in-progress",
            Queue::DueSoon => "due-soon",
            Queue::Overdue => "overdue",
            Queue::Escalated => "escalated",
            Queue::HandedBack => "handed-back",
            Queue::ToVerify => "to-verify",
            Queue::MyUnit => "my-unit",
            Queue::All => "all",
        }
    }

    /// Its tab label.
    pub fn label(self) -> &'static str {
        match self {
            Queue::ToRegister => L::QUEUE_TO_REGISTER,
            Queue::InProgress => L::QUEUE_IN_PROGRESS,
            Queue::DueSoon => L::QUEUE_DUE_SOON,
            Queue::Overdue => L::QUEUE_OVERDUE,
            Queue::Escalated => L::QUEUE_ESCALATED,
            Queue::HandedBack => L::QUEUE_HANDED_BACK,
            Queue::ToVerify => L::QUEUE_TO_VERIFY,
            Queue::MyUnit => L::QUEUE_MY_UNIT,
            Queue::All => L::QUEUE_ALL,
        }
    }

    fn parse(slug: &str) -> Option<Queue> {
        Queue::ALL.into_iter().find(|q| q.slug() == slug)
    }

    /// Whether `staff` works from this queue. The centre's queues are the centre's; a unit
    /// handler has their unit's, the clocks, and the search; an inspector the ones that
    /// watch the units.
    pub fn offered_to(self, staff: &Staff) -> bool {
        match self {
            Queue::ToRegister | Queue::Escalated | Queue::HandedBack => staff.is_centre(),
            Queue::InProgress | Queue::ToVerify => staff.sees_all(),
            Queue::MyUnit => staff.is_handler(),
            Queue::DueSoon | Queue::Overdue | Queue::All => true,
        }
    }

    /// The queue's own filter, over which the query's filters apply.
    fn narrow(self, f: &mut CaseFilter) {
        match self {
            Queue::ToRegister => {
                f.statuses = vec![CaseStatus::Reported];
                f.sort = SortOrder::Due;
            }
            Queue::InProgress => {
                if f.statuses.is_empty() {
                    f.statuses = vec![CaseStatus::Dispatched, CaseStatus::InProgress];
                }
                f.sort = SortOrder::Due;
            }
            Queue::DueSoon => {
                f.due_within_minutes = Some(30);
                f.sort = SortOrder::Due;
            }
            Queue::Overdue => {
                f.overdue = true;
                f.sort = SortOrder::Due;
            }
            Queue::Escalated => {
                f.escalated = Some(true);
                f.open = Some(true);
            }
            Queue::HandedBack => {
                f.handed_back = true;
                f.sort = SortOrder::Due;
            }
            Queue::ToVerify => {
                f.statuses = vec![CaseStatus::Handled];
                f.sort = SortOrder::Due;
            }
            Queue::MyUnit => {
                f.open = Some(true);
                f.sort = SortOrder::Due;
            }
            Queue::All => {}
        }
    }
}

/// The first queue a person sees.
fn home(staff: &Staff) -> Queue {
    if staff.is_centre() {
        Queue::ToRegister
    } else if staff.is_handler() {
        Queue::MyUnit
    } else {
        Queue::ToVerify
    }
}

/// `GET /console` and `GET /console/queues`: the person's first queue.
pub async fn index(staff: Staff) -> Redirect {
    Redirect::to(&format!("/console/queues/{}", home(&staff).slug()))
}

/// The filter a person's view of the street adds: a unit handler sees only the cases
/// dispatched (at any time) to their units, whatever they ask for.
pub fn restrict(staff: &Staff, f: &mut CaseFilter) {
    if !staff.sees_all() {
        f.units_any = staff.units().to_vec();
        if f.units_any.is_empty() {
            // A handler with no unit sees nothing rather than everything.
            f.units_any = vec![String::from("\u{0}")];
        }
    }
}

/// The query string of `p` without the cursor (for tabs, the unit picker and paging).
fn query_without_cursor(raw: Option<&str>) -> String {
    raw.unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("cursor="))
        .collect::<Vec<_>>()
        .join("&")
}

/// `GET /console/queues/{queue}`.
pub async fn queue(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(slug): ApiPath<String>,
    uri: axum::http::Uri,
) -> Result<Response, ApiError> {
    // Blank fields of the filter form ("any") are no filter.
    let params: ListParams = crate::console::pages::filters::parse(uri.query())?;
    let Some(q) = Queue::parse(&slug).filter(|q| q.offered_to(&staff)) else {
        return Ok(
            Redirect::to(&format!("/console/queues/{}", home(&staff).slug())).into_response(),
        );
    };
    let now = staff.now_ms;
    let mut filter = params.filter(now)?;
    q.narrow(&mut filter);
    restrict(&staff, &mut filter);
    let storage = state.storage.clone();
    let page_rows = blocking(move || storage.case_page(&filter, now)).await?;
    let kept = query_without_cursor(uri.query());
    let holder_units: Vec<String> = if staff.sees_all() {
        let storage = state.storage.clone();
        blocking(move || storage.units())
            .await?
            .into_iter()
            .map(|u| u.id)
            .collect()
    } else {
        staff.units().to_vec()
    };
    let body = html! {
        nav.tabs #queues {
            @for tab in Queue::ALL.into_iter().filter(|t| t.offered_to(&staff)) {
                a href=(format!("/console/queues/{}", tab.slug()))
                    class=[(tab == q).then_some("active")] data-queue=(tab.slug()) { (tab.label()) }
            }
        }
        form.filters method="get" action=(format!("/console/queues/{}", q.slug())) {
            label { (L::UNIT)
                select name="holder" {
                    option value="" { (L::ANY) }
                    @for u in &holder_units {
                        option value=(u) selected[uri.query().is_some_and(|qs| qs.contains(&format!("holder={}", encode_component(u))))] { (u) }
                    }
                }
            }
            label { (L::COL_CHANNEL)
                select name="channel" {
                    option value="" { (L::ANY) }
                    @for c in SourceChannel::ALL {
                        option value=(c.as_str()) { (c.name_zh()) }
                    }
                }
            }
            label { (L::SEARCH_TEXT) input type="text" name="q" size="12"; }
            button type="submit" { (L::SEARCH) }
        }
        (rows(&state, &page_rows.cases, now))
        @if let Some(next) = &page_rows.next_cursor {
            p.pager {
                a #next-page href=(format!("/console/queues/{}?{}{}cursor={}", q.slug(), kept,
                    if kept.is_empty() { "" } else { "&" }, encode_component(next))) { (L::NEXT_PAGE) }
            }
        }
    };
    Ok(page(&staff, Nav::Queues, q.label(), body).into_response())
}

/// The table of a case list: each row links to its case and counts down its next deadline.
pub fn rows(state: &AppState, cases: &[CaseRow], now: i64) -> Markup {
    let checklist = &state.catalog.checklist;
    html! {
        @if cases.is_empty() {
            p.muted #empty { (L::EMPTY_QUEUE) }
        } @else {
            table #cases {
                thead { tr {
                    th { (L::COL_NUMBER) } th { (L::COL_REPORTED) } th { (L::COL_ITEM) }
                    th { (L::COL_PLACE) } th { (L::COL_STATUS) } th { (L::COL_HOLDER) }
                    th { (L::COL_TIME_LEFT) } th { (L::COL_CHANNEL) }
                } }
                tbody {
                    @for c in cases {
                        @let late = c.overdue;
                        tr data-case-id=(c.id) data-status=(c.status.as_str())
                            class=[late.then_some("late")] {
                            td { a href=(format!("/console/cases/{}", c.id)) {
                                @if let Some(n) = &c.case_number { (n) } @else { (L::NO_NUMBER) " " (c.id.get(..8).unwrap_or(&c.id)) }
                            } }
                            td { (when(c.reported_at)) }
                            td { (checklist.item(&c.checklist_item).map(|i| i.title_zh.as_str()).unwrap_or(&c.checklist_item)) }
                            td { (c.grid.as_deref().or(c.workstation.as_deref()).unwrap_or("—")) }
                            td { (L::status(c.status)) @if c.escalated { " · " (L::QUEUE_ESCALATED) } }
                            td { (c.holders.join("、")) }
                            td.left {
                                @if let Some(due) = c.next_due {
                                    span data-due-ms=(due) { (span(due - now)) }
                                } @else if late { (L::LATE) } @else { "—" }
                            }
                            td { (SourceChannel::parse(&c.channel).map(|ch| ch.name_zh()).unwrap_or(&c.channel)) }
                        }
                    }
                }
            }
        }
    }
}
