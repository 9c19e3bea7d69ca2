//! The browser console (placeholder until the console foundation lands on main).

pub mod svg;
