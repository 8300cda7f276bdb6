//! STUB
#![allow(missing_docs)]
pub const DEFAULT_MAX_DEPTH: usize = 128;
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Bulk(&'a [u8]),
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    Invalid,
}
pub fn parse_value(input: &[u8]) -> Result<Option<(Value<'_>, usize)>, ValueError> {
    let _ = input;
    todo!()
}
