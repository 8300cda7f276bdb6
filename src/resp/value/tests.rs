use super::*;
use crate::resp::{append_array_len, Protocol};
use proptest::prelude::*;

fn parse_all(input: &[u8]) -> Value<'_> {
    match parse_value(input) {
        Ok(Some((v, used))) => {
            assert_eq!(used, input.len(), "{:?}", String::from_utf8_lossy(input));
            v
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn encode<T: ToResp + ?Sized>(protocol: Protocol, v: &T) -> Vec<u8> {
    let mut w = Writer::with_protocol(protocol);
    w.write_any(v);
    w.take()
}

/// One value of every kind, as RESP3 bytes, with what it parses to.
fn every_type() -> Vec<(&'static [u8], Value<'static>)> {
    vec![
        (b"+OK\r\n", Value::SimpleString(b"OK")),
        (b"+\r\n", Value::SimpleString(b"")),
        (b"-ERR bad thing\r\n", Value::Error(b"ERR bad thing")),
        (b":0\r\n", Value::Integer(0)),
        (b":-9223372036854775808\r\n", Value::Integer(i64::MIN)),
        (b":9223372036854775807\r\n", Value::Integer(i64::MAX)),
        (b"$5\r\nhe\r\no\r\n", Value::Bulk(b"he\r\no")),
        (b"$0\r\n\r\n", Value::Bulk(b"")),
        (b"$-1\r\n", Value::NullBulk),
        (b"*-1\r\n", Value::NullArray),
        (b"*0\r\n", Value::Array(vec![])),
        (
            b"*2\r\n:1\r\n$1\r\nx\r\n",
            Value::Array(vec![Value::Integer(1), Value::Bulk(b"x")]),
        ),
        (b"_\r\n", Value::Null),
        (b"#t\r\n", Value::Boolean(true)),
        (b"#f\r\n", Value::Boolean(false)),
        (b",1.5\r\n", Value::Double(1.5)),
        (b",-0\r\n", Value::Double(-0.0)),
        (b",inf\r\n", Value::Double(f64::INFINITY)),
        (b",-inf\r\n", Value::Double(f64::NEG_INFINITY)),
        (b",1e+300\r\n", Value::Double(1e300)),
        (
            b"(3492890328409238509324850943850943825024385\r\n",
            Value::BigNumber(b"3492890328409238509324850943850943825024385"),
        ),
        (b"(-12\r\n", Value::BigNumber(b"-12")),
        (
            b"=15\r\ntxt:Some string\r\n",
            Value::Verbatim {
                format: *b"txt",
                data: b"Some string",
            },
        ),
        (
            b"!21\r\nSYNTAX invalid syntax\r\n",
            Value::BlobError(b"SYNTAX invalid syntax"),
        ),
        (
            b"%2\r\n+a\r\n:1\r\n+b\r\n#f\r\n",
            Value::Map(vec![
                (Value::SimpleString(b"a"), Value::Integer(1)),
                (Value::SimpleString(b"b"), Value::Boolean(false)),
            ]),
        ),
        (b"%0\r\n", Value::Map(vec![])),
        (
            b"~2\r\n:1\r\n:2\r\n",
            Value::Set(vec![Value::Integer(1), Value::Integer(2)]),
        ),
        (
            b"|1\r\n+ttl\r\n:3600\r\n$1\r\nv\r\n",
            Value::Attribute {
                attributes: vec![(Value::SimpleString(b"ttl"), Value::Integer(3600))],
                value: Box::new(Value::Bulk(b"v")),
            },
        ),
        (
            b"|0\r\n:1\r\n",
            Value::Attribute {
                attributes: vec![],
                value: Box::new(Value::Integer(1)),
            },
        ),
        (
            b">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
            Value::Push(vec![
                Value::Bulk(b"message"),
                Value::Bulk(b"ch"),
                Value::Bulk(b"hi"),
            ]),
        ),
        (
            b"*2\r\n%1\r\n~1\r\n_\r\n|1\r\n+k\r\n+v\r\n>0\r\n*1\r\n*0\r\n",
            Value::Array(vec![
                Value::Map(vec![(
                    Value::Set(vec![Value::Null]),
                    Value::Attribute {
                        attributes: vec![(Value::SimpleString(b"k"), Value::SimpleString(b"v"))],
                        value: Box::new(Value::Push(vec![])),
                    },
                )]),
                Value::Array(vec![Value::Array(vec![])]),
            ]),
        ),
    ]
}

#[test]
fn parses_every_type() {
    for (input, want) in every_type() {
        assert_eq!(
            parse_all(input),
            want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn every_type_round_trips_through_the_resp3_writer() {
    for (input, value) in every_type() {
        let bytes = encode(Protocol::Resp3, &value);
        let want = match value {
            // RESP3 has a single null.
            Value::NullBulk | Value::NullArray => Value::Null,
            other => other,
        };
        assert_eq!(
            parse_all(&bytes),
            want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn resp2_reencoding_downgrades() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"$-1\r\n", b"$-1\r\n"),
        (b"*-1\r\n", b"*-1\r\n"),
        (b"_\r\n", b"$-1\r\n"),
        (b"#t\r\n", b":1\r\n"),
        (b",1.50\r\n", b"$3\r\n1.5\r\n"),
        (b"(12\r\n", b"$2\r\n12\r\n"),
        (b"=6\r\ntxt:hi\r\n", b"$2\r\nhi\r\n"),
        (b"!5\r\nERR x\r\n", b"-ERR x\r\n"),
        (b"%1\r\n+a\r\n:1\r\n", b"*2\r\n+a\r\n:1\r\n"),
        (b"~1\r\n:1\r\n", b"*1\r\n:1\r\n"),
        (b">1\r\n:1\r\n", b"*1\r\n:1\r\n"),
        (b"|1\r\n+a\r\n*2\r\n:1\r\n:2\r\n:3\r\n", b":3\r\n"),
        (
            b"*2\r\n|1\r\n+a\r\n%1\r\n+b\r\n|1\r\n+c\r\n+d\r\n+e\r\n:3\r\n:4\r\n",
            b"*2\r\n:3\r\n:4\r\n",
        ),
    ];
    for &(input, want) in cases {
        let got = encode(Protocol::Resp2, &parse_all(input));
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn every_prefix_is_incomplete() {
    let mut all = Vec::new();
    for (input, _) in every_type() {
        all.extend_from_slice(input);
    }
    let mut wrapped = Vec::new();
    append_array_len(&mut wrapped, every_type().len());
    wrapped.extend_from_slice(&all);
    for input in [&all[..], &wrapped[..]] {
        let (_, full) = parse_value(input).unwrap().unwrap();
        for len in 0..full {
            assert_eq!(
                parse_value(&input[..len]),
                Ok(None),
                "prefix of {len} bytes"
            );
        }
    }
    // The wrapped one is a single value using everything.
    assert_eq!(parse_value(&wrapped).unwrap().unwrap().1, wrapped.len());
}

#[test]
fn consumed_stops_at_the_value_end() {
    let input = b":1\r\n+next\r\n";
    assert_eq!(parse_value(input), Ok(Some((Value::Integer(1), 4))));
}

#[test]
fn malformed_inputs_are_errors() {
    let cases: &[(&[u8], ValueError)] = &[
        (b"?\r\n", ValueError::UnknownType(b'?')),
        (b"\r\n", ValueError::UnknownType(b'\r')),
        (b"+OK\rX", ValueError::MissingCrlf),
        (b"$3\r\nabcX\r\n", ValueError::MissingCrlf),
        (b"$3\r\nabc\rX", ValueError::MissingCrlf),
        (b":\r\n", ValueError::InvalidInteger),
        (b":1a\r\n", ValueError::InvalidInteger),
        (b":-\r\n", ValueError::InvalidInteger),
        (b":9223372036854775808\r\n", ValueError::InvalidInteger),
        (b":-9223372036854775809\r\n", ValueError::InvalidInteger),
        (b":99999999999999999999\r\n", ValueError::InvalidInteger),
        (b"$-2\r\n", ValueError::InvalidLength),
        (b"$x\r\n", ValueError::InvalidLength),
        (b"$\r\n", ValueError::InvalidLength),
        (b"*-2\r\n", ValueError::InvalidLength),
        (b"%-1\r\n", ValueError::InvalidLength),
        (b"~-1\r\n", ValueError::InvalidLength),
        (b"=-1\r\n", ValueError::InvalidLength),
        (b"!-1\r\n", ValueError::InvalidLength),
        (b"$9223372036854775807\r\n", ValueError::InvalidLength),
        (b"$?\r\n", ValueError::Streamed),
        (b"*?\r\n", ValueError::Streamed),
        (b"_x\r\n", ValueError::InvalidNull),
        (b"#x\r\n", ValueError::InvalidBoolean),
        (b"#\r\n", ValueError::InvalidBoolean),
        (b"#tt\r\n", ValueError::InvalidBoolean),
        (b",\r\n", ValueError::InvalidDouble),
        (b",1.5x\r\n", ValueError::InvalidDouble),
        (b", 1\r\n", ValueError::InvalidDouble),
        (b",\xff\r\n", ValueError::InvalidDouble),
        (b"(\r\n", ValueError::InvalidBigNumber),
        (b"(-\r\n", ValueError::InvalidBigNumber),
        (b"(12a\r\n", ValueError::InvalidBigNumber),
        (b"=3\r\ntxt\r\n", ValueError::InvalidVerbatim),
        (b"=4\r\ntxtx\r\n", ValueError::InvalidVerbatim),
        // Errors inside aggregates surface too.
        (b"*2\r\n:1\r\n#?\r\n", ValueError::InvalidBoolean),
        (b"%1\r\n+k\r\n?\r\n", ValueError::UnknownType(b'?')),
    ];
    for &(input, want) in cases {
        assert_eq!(
            parse_value(input),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
}

#[test]
fn number_lines_without_cr_fail_early() {
    let mut input = b"*".to_vec();
    input.extend(std::iter::repeat_n(b'1', 100));
    assert_eq!(parse_value(&input), Err(ValueError::InvalidLength));
    // Within the limit it is merely incomplete.
    assert_eq!(parse_value(b"*1234567890123456789"), Ok(None));
    // Text lines have no limit.
    let mut long = b"+".to_vec();
    long.extend(std::iter::repeat_n(b'a', 100_000));
    assert_eq!(parse_value(&long), Ok(None));
}

#[test]
fn lenient_numbers() {
    assert_eq!(parse_all(b":+5\r\n"), Value::Integer(5));
    assert_eq!(parse_all(b":007\r\n"), Value::Integer(7));
    assert_eq!(parse_all(b"(+5\r\n"), Value::BigNumber(b"+5"));
    assert_eq!(parse_all(b",nan\r\n").as_integer(), None);
    assert!(matches!(parse_all(b",nan\r\n"), Value::Double(d) if d.is_nan()));
    assert_eq!(parse_all(b",.5\r\n"), Value::Double(0.5));
}

#[test]
fn huge_declared_counts_allocate_nothing() {
    // Preallocating from any of these counts would need tens of gigabytes.
    for header in [
        &b"*2000000000\r\n"[..],
        b"%2000000000\r\n",
        b"~2000000000\r\n",
        b">2000000000\r\n",
        b"|2000000000\r\n",
        b"*9223372036854775807\r\n",
        b"$2000000000\r\n",
    ] {
        assert_eq!(parse_value(header), Ok(None));
        let mut input = header.to_vec();
        input.extend_from_slice(b":1\r\n:2\r\n");
        assert_eq!(parse_value(&input), Ok(None));
    }
}

fn nested(depth: usize, leaf: bool) -> Vec<u8> {
    let mut input = b"*1\r\n".repeat(depth);
    if leaf {
        input.extend_from_slice(b":1\r\n");
    }
    input
}

#[test]
fn depth_limit() {
    let ok = nested(DEFAULT_MAX_DEPTH, true);
    assert!(parse_value(&ok).unwrap().is_some());
    let deep = nested(DEFAULT_MAX_DEPTH + 1, true);
    assert_eq!(
        parse_value(&deep),
        Err(ValueError::TooDeep {
            max_depth: DEFAULT_MAX_DEPTH
        })
    );
    assert_eq!(
        parse_value_with_depth(b":1\r\n", 0),
        Ok(Some((Value::Integer(1), 4)))
    );
    assert_eq!(
        parse_value_with_depth(b"*0\r\n", 0),
        Err(ValueError::TooDeep { max_depth: 0 })
    );
    // Attributes count as a level, for the value they annotate too.
    assert!(parse_value_with_depth(b"|1\r\n+a\r\n+b\r\n:1\r\n", 1).is_ok());
    assert_eq!(
        parse_value_with_depth(b"|1\r\n+a\r\n+b\r\n*0\r\n", 1),
        Err(ValueError::TooDeep { max_depth: 1 })
    );
}

#[test]
fn a_million_nested_arrays() {
    let input = nested(1_000_000, true);
    assert_eq!(
        parse_value(&input),
        Err(ValueError::TooDeep {
            max_depth: DEFAULT_MAX_DEPTH
        })
    );
    // Without a useful limit the parser still uses no recursion: it reaches the end of
    // the (leafless) input and reports it incomplete instead of overflowing the stack.
    let input = nested(1_000_000, false);
    assert_eq!(parse_value_with_depth(&input, usize::MAX), Ok(None));
}

#[test]
fn owned_round_trip_and_accessors() {
    for (input, value) in every_type() {
        let owned = value.to_owned_value();
        assert_eq!(owned.as_value(), value);
        assert_eq!(OwnedValue::from(&value), owned);
        assert_eq!(
            encode(Protocol::Resp3, &owned),
            encode(Protocol::Resp3, &value)
        );
        assert_eq!(
            encode(Protocol::Resp2, &owned),
            encode(Protocol::Resp2, &value)
        );
        let _ = input;
    }
    assert!(parse_all(b"_\r\n").is_null());
    assert!(parse_all(b"$-1\r\n").is_null());
    assert!(!parse_all(b"$0\r\n\r\n").is_null());
    assert!(parse_all(b"-ERR x\r\n").is_error());
    assert!(parse_all(b"!1\r\nx\r\n").is_error());
    assert_eq!(parse_all(b"+a\r\n").as_bytes(), Some(&b"a"[..]));
    assert_eq!(parse_all(b"(1\r\n").as_bytes(), Some(&b"1"[..]));
    assert_eq!(parse_all(b":1\r\n").as_bytes(), None);
    assert_eq!(parse_all(b":1\r\n").as_integer(), Some(1));
}

#[test]
fn errors_display() {
    assert_eq!(
        ValueError::UnknownType(b'?').to_string(),
        "unknown RESP type byte '?'"
    );
    assert_eq!(
        ValueError::TooDeep { max_depth: 3 }.to_string(),
        "aggregates nested deeper than 3 levels"
    );
    let boxed: Box<dyn std::error::Error> = Box::new(ValueError::MissingCrlf);
    assert_eq!(boxed.to_string(), "expected CRLF");
}

// ----- property tests --------------------------------------------------------------------

fn line_text() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        any::<u8>().prop_filter("no CR/LF", |b| *b != b'\r' && *b != b'\n'),
        0..16,
    )
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..24)
}

fn resp2_value() -> impl Strategy<Value = OwnedValue> {
    let leaf = prop_oneof![
        line_text().prop_map(OwnedValue::SimpleString),
        "[A-Z]{2,8}( [ -~]{0,16})?".prop_map(|s| OwnedValue::Error(s.into_bytes())),
        any::<i64>().prop_map(OwnedValue::Integer),
        bytes().prop_map(OwnedValue::Bulk),
        Just(OwnedValue::NullBulk),
        Just(OwnedValue::NullArray),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        proptest::collection::vec(inner, 0..6).prop_map(OwnedValue::Array)
    })
}

fn resp3_value() -> impl Strategy<Value = OwnedValue> {
    let leaf = prop_oneof![
        line_text().prop_map(OwnedValue::SimpleString),
        "[A-Z]{2,8}( [ -~]{0,16})?".prop_map(|s| OwnedValue::Error(s.into_bytes())),
        any::<i64>().prop_map(OwnedValue::Integer),
        bytes().prop_map(OwnedValue::Bulk),
        Just(OwnedValue::Null),
        any::<bool>().prop_map(OwnedValue::Boolean),
        any::<f64>()
            .prop_filter("NaN is not equal to itself", |d| !d.is_nan())
            .prop_map(OwnedValue::Double),
        "-?[1-9][0-9]{0,40}".prop_map(|s| OwnedValue::BigNumber(s.into_bytes())),
        ("[a-z]{3}", bytes()).prop_map(|(f, data)| OwnedValue::Verbatim {
            format: f.as_bytes().try_into().unwrap(),
            data,
        }),
        bytes().prop_map(OwnedValue::BlobError),
    ];
    leaf.prop_recursive(4, 64, 6, |inner| {
        let pairs = proptest::collection::vec((inner.clone(), inner.clone()), 0..4);
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(OwnedValue::Array),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(OwnedValue::Set),
            proptest::collection::vec(inner.clone(), 0..6).prop_map(OwnedValue::Push),
            pairs.clone().prop_map(OwnedValue::Map),
            (pairs, inner).prop_map(|(attributes, value)| OwnedValue::Attribute {
                attributes,
                value: Box::new(value),
            }),
        ]
    })
}

fn assert_round_trip(protocol: Protocol, value: &OwnedValue) -> Result<(), TestCaseError> {
    let mut bytes = encode(protocol, value);
    let len = bytes.len();
    // Trailing bytes belong to the next value and must be left alone.
    bytes.extend_from_slice(b"+next\r\n");
    let parsed = parse_value(&bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(parsed, Some((value.as_value(), len)));
    for cut in 0..len {
        prop_assert_eq!(parse_value(&bytes[..cut]), Ok(None));
    }
    Ok(())
}

proptest! {
    #[test]
    fn resp3_values_round_trip(value in resp3_value()) {
        assert_round_trip(Protocol::Resp3, &value)?;
    }

    #[test]
    fn resp2_values_round_trip(value in resp2_value()) {
        assert_round_trip(Protocol::Resp2, &value)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse_value(&input);
    }

    #[test]
    fn mangled_encodings_never_panic(value in resp3_value(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = encode(Protocol::Resp3, &value);
        let i = at.index(bytes.len());
        bytes[i] = byte;
        let _ = parse_value(&bytes);
    }
}

/// Found by the `parse_value` fuzz target: an error whose own text starts with `-`
/// lost that dash when re-encoded, because `write_error` treats a leading `-` as the
/// type marker.
#[test]
fn error_text_starting_with_a_dash_survives_reencoding() {
    let wire: &[u8] = b"--,\n*0M-\r\n";
    let (v, _) = parse_value(wire).unwrap().unwrap();
    assert_eq!(v, Value::Error(b"-,\n*0M-"));
    let once = encode(Protocol::Resp3, &v);
    assert_eq!(once, b"--, *0M-\r\n");
    let (again, _) = parse_value(&once).unwrap().unwrap();
    assert_eq!(encode(Protocol::Resp3, &again), once);
}
