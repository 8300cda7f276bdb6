//! STUB
use super::write::Writer;
/// Values that can be written as a reply.
pub trait ToResp {
    /// Writes self.
    fn write_resp(&self, w: &mut Writer);
}
