//! The console's pages, one module per page.

pub mod board;
pub mod case;
pub mod devices;
pub mod evaluation;
pub mod exports;
pub mod filters;
pub mod intake;
pub mod login;
pub mod map;
pub mod queue;

#[cfg(test)]
pub(crate) mod fixture;
