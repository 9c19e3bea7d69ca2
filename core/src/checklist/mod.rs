//! The task checklist (任务清单): the street's rule book for every kind of case.
//!
//! Xietu Street's checklist has 224 items in three domains (community environment, community
//! services, community governance) and 17 categories. For each item it says who handles it,
//! whether the grid team may handle it on the spot, the response and resolution time limits
//! (限时办结), and whether it goes up to the district platform. The shipped demo
//! (`core/data/checklist.json`) is modelled on it: the same domains and categories and as many
//! items, written for the demo (plausible matters, units and limits, not the street's own list).
//!
//! Time limits are minutes, hours, calendar days or working days; working days follow the
//! official calendar of holidays and make-up working days (`core/data/calendar.json`).
//!
//! Files: `model.rs` (entries), `limit.rs` (time limits and deadlines), `calendar.rs`
//! (working days), `load.rs` (reading and validating a checklist), `list.rs` (the loaded
//! checklist and its look-ups), `error.rs`.

mod calendar;
mod error;
mod limit;
mod list;
mod load;
mod model;

pub use calendar::{Holiday, WorkCalendar};
pub use error::{ChecklistError, Position, TimeLimitError};
pub use limit::TimeLimit;
pub use list::Checklist;
pub use model::{Category, ChecklistItem, Domain};
