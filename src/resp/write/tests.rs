use super::*;

fn appended(f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::new();
    f(&mut out);
    out
}

fn written(protocol: Protocol, f: impl FnOnce(&mut Writer)) -> Vec<u8> {
    let mut w = Writer::with_protocol(protocol);
    f(&mut w);
    w.take()
}

/// Writes with both protocols; returns (RESP2 bytes, RESP3 bytes).
fn both(f: impl Fn(&mut Writer)) -> (Vec<u8>, Vec<u8>) {
    (written(Protocol::Resp2, &f), written(Protocol::Resp3, &f))
}

#[test]
fn append_functions_are_byte_exact() {
    let cases: Vec<(Vec<u8>, &[u8])> = vec![
        (appended(|o| append_simple_string(o, "OK")), b"+OK\r\n"),
        (appended(|o| append_simple_string(o, "")), b"+\r\n"),
        (appended(|o| append_error(o, "ERR bad")), b"-ERR bad\r\n"),
        (appended(|o| append_integer(o, 0)), b":0\r\n"),
        (appended(|o| append_integer(o, -1)), b":-1\r\n"),
        (
            appended(|o| append_integer(o, i64::MIN)),
            b":-9223372036854775808\r\n",
        ),
        (
            appended(|o| append_integer(o, i64::MAX)),
            b":9223372036854775807\r\n",
        ),
        (appended(|o| append_uint(o, 0)), b":0\r\n"),
        (
            appended(|o| append_uint(o, u64::MAX)),
            b":18446744073709551615\r\n",
        ),
        (appended(|o| append_bulk(o, "hello")), b"$5\r\nhello\r\n"),
        (appended(|o| append_bulk(o, "")), b"$0\r\n\r\n"),
        (appended(|o| append_bulk(o, b"\r\n\0")), b"$3\r\n\r\n\0\r\n"),
        (appended(|o| append_bulk_header(o, 1234)), b"$1234\r\n"),
        (appended(append_null_bulk), b"$-1\r\n"),
        (appended(|o| append_array_len(o, 0)), b"*0\r\n"),
        (appended(|o| append_array_len(o, 10)), b"*10\r\n"),
        (appended(append_null_array), b"*-1\r\n"),
        (appended(append_null), b"_\r\n"),
        (appended(|o| append_bool(o, true)), b"#t\r\n"),
        (appended(|o| append_bool(o, false)), b"#f\r\n"),
        (appended(|o| append_double(o, 1.5)), b",1.5\r\n"),
        (
            appended(|o| append_big_number(o, "-12345678901234567890")),
            b"(-12345678901234567890\r\n",
        ),
        (
            appended(|o| append_verbatim(o, "txt", "Some string")),
            b"=15\r\ntxt:Some string\r\n",
        ),
        (
            appended(|o| append_verbatim(o, "mkd", "")),
            b"=4\r\nmkd:\r\n",
        ),
        (
            appended(|o| append_blob_error(o, "SYNTAX invalid syntax")),
            b"!21\r\nSYNTAX invalid syntax\r\n",
        ),
        (
            appended(|o| append_blob_error(o, "A\r\nB")),
            b"!4\r\nA\r\nB\r\n",
        ),
        (appended(|o| append_map_len(o, 3)), b"%3\r\n"),
        (appended(|o| append_set_len(o, 4)), b"~4\r\n"),
        (appended(|o| append_attribute_len(o, 1)), b"|1\r\n"),
        (appended(|o| append_push_len(o, 2)), b">2\r\n"),
    ];
    for (got, want) in cases {
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(want));
    }
}

#[test]
fn append_keeps_existing_contents() {
    let mut out = b"prefix".to_vec();
    append_integer(&mut out, 7);
    append_bulk(&mut out, "x");
    assert_eq!(out, b"prefix:7\r\n$1\r\nx\r\n");
}

#[test]
fn doubles_byte_exact() {
    let cases: &[(f64, &[u8])] = &[
        (0.1, b",0.1\r\n"),
        (1.5, b",1.5\r\n"),
        (1e300, b",1e+300\r\n"),
        (-0.0, b",-0\r\n"),
        (0.0, b",0\r\n"),
        (3.0, b",3\r\n"),
        (-3.0, b",-3\r\n"),
        (f64::INFINITY, b",inf\r\n"),
        (f64::NEG_INFINITY, b",-inf\r\n"),
        (f64::NAN, b",nan\r\n"),
    ];
    for &(d, want) in cases {
        assert_eq!(appended(|o| append_double(o, d)), want, "{d}");
        // RESP2: the same text as a bulk string.
        let text = &want[1..want.len() - 2];
        let mut bulk = Vec::new();
        append_bulk(&mut bulk, text);
        assert_eq!(written(Protocol::Resp2, |w| w.write_double(d)), bulk, "{d}");
        assert_eq!(written(Protocol::Resp3, |w| w.write_double(d)), want, "{d}");
    }
}

#[test]
fn line_items_replace_cr_and_lf() {
    assert_eq!(
        appended(|o| append_simple_string(o, "a\rb\nc\r\n")),
        b"+a b c  \r\n"
    );
    assert_eq!(appended(|o| append_big_number(o, "1\r\n2")), b"(1  2\r\n");
    assert_eq!(
        appended(|o| append_verbatim(o, "t\nx", "d")),
        b"=5\r\nt x:d\r\n"
    );
    let (r2, r3) = both(|w| w.write_string("x\ny"));
    assert_eq!(r2, b"+x y\r\n");
    assert_eq!(r3, b"+x y\r\n");
}

#[test]
fn errors_follow_redis() {
    // No doubled dash.
    assert_eq!(appended(|o| append_error(o, "-ERR x")), b"-ERR x\r\n");
    // Ends trimmed, inside replaced (addReplyErrorFormat).
    assert_eq!(
        appended(|o| append_error(o, "\r\nERR a\r\nb\n")),
        b"-ERR a  b\r\n"
    );
    assert_eq!(
        appended(|o| append_error(o, "\r\n-ERR a\r\n")),
        b"-ERR a\r\n"
    );
    assert_eq!(appended(|o| append_error(o, "")), b"-\r\n");
    assert_eq!(appended(|o| append_error(o, "\r\n")), b"-\r\n");
}

#[test]
fn verbatim_format_is_three_bytes() {
    assert_eq!(
        appended(|o| append_verbatim(o, "markdown", "x")),
        b"=5\r\nmar:x\r\n"
    );
    assert_eq!(
        appended(|o| append_verbatim(o, "t", "x")),
        b"=5\r\nt  :x\r\n"
    );
    assert_eq!(
        appended(|o| append_verbatim(o, "", "x")),
        b"=5\r\n   :x\r\n"
    );
}

#[test]
fn resp2_fallbacks() {
    type Case = (Box<dyn Fn(&mut Writer)>, &'static [u8], &'static [u8]);
    let cases: Vec<Case> = vec![
        (Box::new(|w| w.write_null()), b"$-1\r\n", b"_\r\n"),
        (Box::new(|w| w.write_null_array()), b"*-1\r\n", b"_\r\n"),
        (Box::new(|w| w.write_bool(true)), b":1\r\n", b"#t\r\n"),
        (Box::new(|w| w.write_bool(false)), b":0\r\n", b"#f\r\n"),
        (
            Box::new(|w| w.write_double(2.5)),
            b"$3\r\n2.5\r\n",
            b",2.5\r\n",
        ),
        (
            Box::new(|w| w.write_big_number("123")),
            b"$3\r\n123\r\n",
            b"(123\r\n",
        ),
        (
            Box::new(|w| w.write_verbatim("txt", "hi")),
            b"$2\r\nhi\r\n",
            b"=6\r\ntxt:hi\r\n",
        ),
        (
            Box::new(|w| w.write_blob_error("SYNTAX a\r\nb")),
            b"-SYNTAX a  b\r\n",
            b"!11\r\nSYNTAX a\r\nb\r\n",
        ),
        (Box::new(|w| w.write_map(2)), b"*4\r\n", b"%2\r\n"),
        (Box::new(|w| w.write_set(2)), b"*2\r\n", b"~2\r\n"),
        (Box::new(|w| w.write_push(3)), b"*3\r\n", b">3\r\n"),
        // The same in both.
        (Box::new(|w| w.write_string("OK")), b"+OK\r\n", b"+OK\r\n"),
        (
            Box::new(|w| w.write_error("ERR x")),
            b"-ERR x\r\n",
            b"-ERR x\r\n",
        ),
        (Box::new(|w| w.write_int(-5)), b":-5\r\n", b":-5\r\n"),
        (
            Box::new(|w| w.write_i64(i64::MIN)),
            b":-9223372036854775808\r\n",
            b":-9223372036854775808\r\n",
        ),
        (
            Box::new(|w| w.write_u64(u64::MAX)),
            b":18446744073709551615\r\n",
            b":18446744073709551615\r\n",
        ),
        (
            Box::new(|w| w.write_bulk("ab")),
            b"$2\r\nab\r\n",
            b"$2\r\nab\r\n",
        ),
        (
            Box::new(|w| w.write_bulk_string("ab")),
            b"$2\r\nab\r\n",
            b"$2\r\nab\r\n",
        ),
        (Box::new(|w| w.write_array(1)), b"*1\r\n", b"*1\r\n"),
        (Box::new(|w| w.write_raw(b"raw")), b"raw", b"raw"),
    ];
    for (f, want2, want3) in cases {
        let (r2, r3) = both(|w| f(w));
        assert_eq!(r2, want2, "{:?}", String::from_utf8_lossy(want3));
        assert_eq!(r3, want3, "{:?}", String::from_utf8_lossy(want3));
    }
}

#[test]
fn attribute_in_resp3_is_written() {
    let got = written(Protocol::Resp3, |w| {
        w.write_attribute(1);
        w.write_bulk("key-popularity");
        w.write_array(2);
        w.write_bulk("a");
        w.write_double(0.5);
        w.write_int(7);
    });
    assert_eq!(
        got,
        b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$1\r\na\r\n,0.5\r\n:7\r\n".to_vec()
    );
}

#[test]
fn attribute_in_resp2_is_dropped_with_nested_aggregates() {
    let got = written(Protocol::Resp2, |w| {
        w.write_array(2);
        w.write_attribute(2);
        // key 1, value 1: a map holding an array and a set
        w.write_string("k1");
        w.write_map(2);
        w.write_bulk("a");
        w.write_array(2);
        w.write_int(1);
        w.write_null();
        w.write_bulk("b");
        w.write_set(1);
        w.write_bool(true);
        // key 2, value 2: an empty array, then a nested attribute on a push
        w.write_string("k2");
        w.write_attribute(1);
        w.write_string("inner");
        w.write_verbatim("txt", "dropped");
        w.write_push(1);
        w.write_double(1.0);
        // the annotated value, then the array's second element
        w.write_int(42);
        w.write_bulk("after");
    });
    assert_eq!(got, b"*2\r\n:42\r\n$5\r\nafter\r\n".to_vec());
}

#[test]
fn attribute_in_resp2_with_no_pairs_drops_nothing() {
    let got = written(Protocol::Resp2, |w| {
        w.write_attribute(0);
        w.write_int(1);
    });
    assert_eq!(got, b":1\r\n".to_vec());
}

#[test]
fn raw_is_not_counted_while_discarding() {
    let got = written(Protocol::Resp2, |w| {
        w.write_attribute(1);
        w.write_string("k");
        w.write_raw(b"!");
        w.write_string("v");
        w.write_int(1);
    });
    assert_eq!(got, b"!:1\r\n".to_vec());
}

#[test]
fn clear_and_set_protocol_forget_pending_discards() {
    let mut w = Writer::new();
    w.write_attribute(5);
    w.clear();
    w.write_int(1);
    assert_eq!(w.as_bytes(), b":1\r\n");

    let mut w = Writer::new();
    w.write_attribute(5);
    w.set_protocol(Protocol::Resp3);
    w.set_protocol(Protocol::Resp2);
    w.write_int(1);
    assert_eq!(w.as_bytes(), b":1\r\n");
}

#[test]
fn huge_counts_do_not_overflow() {
    let mut w = Writer::new();
    w.write_attribute(usize::MAX);
    w.write_map(usize::MAX);
    w.write_array(usize::MAX);
    assert!(w.is_empty());

    let mut w = Writer::with_protocol(Protocol::Resp2);
    w.write_map(usize::MAX);
    // 2n saturates; the header is still a valid count.
    assert_eq!(w.as_bytes(), b"*18446744073709551615\r\n");
}

#[test]
fn writer_buffer_accessors() {
    let mut w = Writer::from_vec(Vec::with_capacity(64), Protocol::Resp3);
    assert!(w.is_empty());
    w.write_int(1);
    assert_eq!(w.len(), 4);
    append_null(w.buffer_mut());
    assert_eq!(w.as_bytes(), b":1\r\n_\r\n");
    let bytes = w.take();
    assert_eq!(bytes, b":1\r\n_\r\n");
    assert!(w.is_empty());
    assert_eq!(w.protocol(), Protocol::Resp3);
    w.write_null();
    assert_eq!(w.into_inner(), b"_\r\n");
}
