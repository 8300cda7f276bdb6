//! redcon (crate docs to be written)
#![warn(missing_docs)]

mod error;
pub mod glob;
pub mod resp;

pub use error::ProtocolError;
pub use glob::glob_match;
