//! The console's pages, one module per page.

pub mod board;
pub mod filters;
pub mod login;
pub mod map;
pub mod queue;

#[cfg(test)]
pub(crate) mod fixture;
