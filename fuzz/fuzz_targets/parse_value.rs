//! Fuzz target: [`parse_value`] must never panic, and whatever it accepts must survive a
//! round trip: written back as RESP3 with `Writer::write_any` and parsed again, it is
//! the same value and the encoding is consumed exactly.
#![no_main]

#[allow(unused_imports)] // one of the two is used, depending on the library
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
            // `==` is false for a NaN double however it is written; the Debug texts of
            // the two values still have to agree then, which is equality up to NaN.
            if again != value {
                assert_eq!(
                    format!("{again:?}"),
                    format!("{value:?}"),
                    "round trip through {encoded:?}"
                );
            }
        }
        other => panic!("re-encoded {value:?} as {encoded:?}, which parses as {other:?}"),
    }
});
