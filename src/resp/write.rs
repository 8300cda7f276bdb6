//! Reply encoding. STUB: signatures to be implemented.
#![allow(unused_variables, missing_docs)]
use super::to_resp::ToResp;

/// Protocol version of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Protocol {
    /// RESP2 (default).
    #[default]
    Resp2,
    /// RESP3 (after HELLO 3).
    Resp3,
}

pub fn append_simple_string(out: &mut Vec<u8>, s: impl AsRef<[u8]>) {
    todo!()
}
pub fn append_error(out: &mut Vec<u8>, msg: impl AsRef<[u8]>) {
    todo!()
}
pub fn append_integer(out: &mut Vec<u8>, n: i64) {
    todo!()
}
pub fn append_uint(out: &mut Vec<u8>, n: u64) {
    todo!()
}
pub fn append_bulk(out: &mut Vec<u8>, data: impl AsRef<[u8]>) {
    todo!()
}
pub fn append_bulk_header(out: &mut Vec<u8>, len: usize) {
    todo!()
}
pub fn append_null_bulk(out: &mut Vec<u8>) {
    todo!()
}
pub fn append_array_len(out: &mut Vec<u8>, n: usize) {
    todo!()
}
pub fn append_null_array(out: &mut Vec<u8>) {
    todo!()
}
pub fn append_null(out: &mut Vec<u8>) {
    todo!()
}
pub fn append_bool(out: &mut Vec<u8>, b: bool) {
    todo!()
}
pub fn append_double(out: &mut Vec<u8>, d: f64) {
    todo!()
}
pub fn append_big_number(out: &mut Vec<u8>, digits: impl AsRef<[u8]>) {
    todo!()
}
pub fn append_verbatim(out: &mut Vec<u8>, format: &str, data: impl AsRef<[u8]>) {
    todo!()
}
pub fn append_blob_error(out: &mut Vec<u8>, data: impl AsRef<[u8]>) {
    todo!()
}
pub fn append_map_len(out: &mut Vec<u8>, n: usize) {
    todo!()
}
pub fn append_set_len(out: &mut Vec<u8>, n: usize) {
    todo!()
}
pub fn append_attribute_len(out: &mut Vec<u8>, n: usize) {
    todo!()
}
pub fn append_push_len(out: &mut Vec<u8>, n: usize) {
    todo!()
}

/// Protocol-aware reply buffer.
#[derive(Debug, Default, Clone)]
pub struct Writer {
    buf: Vec<u8>,
    protocol: Protocol,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_protocol(protocol: Protocol) -> Self {
        Writer {
            buf: Vec::new(),
            protocol,
        }
    }
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }
    pub fn set_protocol(&mut self, p: Protocol) {
        self.protocol = p
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub fn clear(&mut self) {
        self.buf.clear()
    }
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
    pub fn write_string(&mut self, s: impl AsRef<[u8]>) {
        todo!()
    }
    pub fn write_error(&mut self, msg: impl AsRef<[u8]>) {
        todo!()
    }
    pub fn write_int(&mut self, n: i64) {
        todo!()
    }
    pub fn write_i64(&mut self, n: i64) {
        todo!()
    }
    pub fn write_u64(&mut self, n: u64) {
        todo!()
    }
    pub fn write_bulk(&mut self, data: impl AsRef<[u8]>) {
        todo!()
    }
    pub fn write_bulk_string(&mut self, s: &str) {
        todo!()
    }
    pub fn write_array(&mut self, n: usize) {
        todo!()
    }
    pub fn write_null(&mut self) {
        todo!()
    }
    pub fn write_null_array(&mut self) {
        todo!()
    }
    pub fn write_raw(&mut self, data: &[u8]) {
        todo!()
    }
    pub fn write_bool(&mut self, b: bool) {
        todo!()
    }
    pub fn write_double(&mut self, d: f64) {
        todo!()
    }
    pub fn write_big_number(&mut self, digits: impl AsRef<[u8]>) {
        todo!()
    }
    pub fn write_verbatim(&mut self, format: &str, data: impl AsRef<[u8]>) {
        todo!()
    }
    pub fn write_blob_error(&mut self, data: impl AsRef<[u8]>) {
        todo!()
    }
    pub fn write_map(&mut self, n: usize) {
        todo!()
    }
    pub fn write_set(&mut self, n: usize) {
        todo!()
    }
    pub fn write_attribute(&mut self, n: usize) {
        todo!()
    }
    pub fn write_push(&mut self, n: usize) {
        todo!()
    }
    pub fn write_any<T: ToResp + ?Sized>(&mut self, value: &T) {
        value.write_resp(self)
    }
}
impl Writer {
    /// Whether the writer is dropping values (an attribute in RESP2).
    pub fn is_discarding(&self) -> bool {
        false
    }
}
