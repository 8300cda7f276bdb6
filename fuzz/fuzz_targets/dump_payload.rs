//! Fuzz target: `dump::decode` must never panic or allocate more than the payload
//! justifies, whatever the bytes; a string or list it decodes, encoded again with
//! `dump::encode_string` / `encode_list`, decodes to the same value.
//!
//! Input layout: byte 0 chooses the form. Odd: the rest is decoded as it is (the
//! footer checks). Even: the rest is a payload body, given a valid footer (version 10
//! and the right CRC-64) first, so the value decoder itself is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redcon::dump::{decode, encode_list, encode_string, Value};

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

fuzz_target!(|input: &[u8]| {
    let Some((&form, rest)) = input.split_first() else {
        return;
    };
    let payload = if form % 2 == 1 {
        rest.to_vec()
    } else {
        let mut p = rest.to_vec();
        p.extend_from_slice(&10u16.to_le_bytes());
        let crc = CRC64.checksum(&p);
        p.extend_from_slice(&crc.to_le_bytes());
        p
    };
    // An LZF string expands at most 132 times its compressed length.
    let bound = payload.len().saturating_mul(132);
    match decode(&payload) {
        Ok(Value::String(s)) => {
            assert!(s.len() <= bound);
            assert_eq!(decode(&encode_string(&s)), Ok(Value::String(s)));
        }
        Ok(Value::List(items)) => {
            assert!(items.iter().map(Vec::len).sum::<usize>() <= bound);
            assert_eq!(decode(&encode_list(&items)), Ok(Value::List(items)));
        }
        _ => {}
    }
});
