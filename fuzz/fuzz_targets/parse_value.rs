//! Fuzz target: [`parse_value`] must never panic, and whatever it accepts must survive a
//! round trip: written back as RESP3 with `Writer::write_any` and parsed again, the
//! encoding is consumed exactly and encodes to the very same bytes. (Bytes, not values:
//! RESP3 has one null, so a RESP2 `*-1` comes back as `_`, and NaN never equals itself.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use redcon::resp::{parse_value, Protocol, Writer};

fuzz_target!(|data: &[u8]| {
    let Ok(Some((value, used))) = parse_value(data) else {
        return;
    };
    assert!(
        used > 0 && used <= data.len(),
        "consumed {used} of {}",
        data.len()
    );

    let mut writer = Writer::with_protocol(Protocol::Resp3);
    writer.write_any(&value);
    let encoded = writer.as_bytes();
    match parse_value(encoded) {
        Ok(Some((again, n))) => {
            assert_eq!(n, encoded.len(), "re-encoding not consumed exactly");
            let mut again_writer = Writer::with_protocol(Protocol::Resp3);
            again_writer.write_any(&again);
            assert_eq!(
                again_writer.as_bytes(),
                encoded,
                "{value:?} re-encoded as {encoded:?} parses as {again:?}, which encodes differently"
            );
        }
        other => panic!("re-encoded {value:?} as {encoded:?}, which parses as {other:?}"),
    }
});
