//! The console's pages, one module per page.

pub mod case;
pub mod intake;
pub mod login;
pub mod queue;
