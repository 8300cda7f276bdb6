//! redcon (crate docs to be written)
#![warn(missing_docs)]

mod error;
pub mod resp;

pub use error::ProtocolError;
