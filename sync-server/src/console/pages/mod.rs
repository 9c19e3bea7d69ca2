//! The console's pages, one module per page.

pub mod login;
pub mod queue;
