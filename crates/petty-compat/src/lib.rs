//! The seeds' own contracts, each under its own prefix (DESIGN.md, "Seed compatibility profiles").

pub mod carbon;
pub mod petty;
