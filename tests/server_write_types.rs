//! Every reply type a handler can write, checked byte for byte over a real socket in
//! RESP2 and after `HELLO 3`, and decoded by a real client (redis-rs) in both
//! protocols. RESP2 forms follow what Redis 7 sends a RESP2 client for the same reply.

mod common;

use common::{connect, redis_conn, start, Client};
use redcon::{Command, Conn};
use std::net::TcpStream;

/// One reply type: the command argument that asks for it, how the handler writes it,
/// and the exact bytes in each protocol.
struct Case {
    name: &'static str,
    write: fn(&mut Conn<'_>),
    resp2: &'static [u8],
    resp3: &'static [u8],
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "string",
            write: |c| c.write_string("OK"),
            resp2: b"+OK\r\n",
            resp3: b"+OK\r\n",
        },
        Case {
            name: "string-spaces",
            write: |c| c.write_string("hello world"),
            resp2: b"+hello world\r\n",
            resp3: b"+hello world\r\n",
        },
        Case {
            name: "error",
            write: |c| c.write_error("ERR something bad"),
            resp2: b"-ERR something bad\r\n",
            resp3: b"-ERR something bad\r\n",
        },
        Case {
            name: "int-zero",
            write: |c| c.write_int(0),
            resp2: b":0\r\n",
            resp3: b":0\r\n",
        },
        Case {
            name: "int-negative",
            write: |c| c.write_int(-42),
            resp2: b":-42\r\n",
            resp3: b":-42\r\n",
        },
        Case {
            name: "i64-min",
            write: |c| c.write_i64(i64::MIN),
            resp2: b":-9223372036854775808\r\n",
            resp3: b":-9223372036854775808\r\n",
        },
        Case {
            name: "i64-max",
            write: |c| c.write_int(i64::MAX),
            resp2: b":9223372036854775807\r\n",
            resp3: b":9223372036854775807\r\n",
        },
        Case {
            name: "u64-max",
            write: |c| c.write_u64(u64::MAX),
            resp2: b":18446744073709551615\r\n",
            resp3: b":18446744073709551615\r\n",
        },
        Case {
            name: "bulk",
            write: |c| c.write_bulk("hello"),
            resp2: b"$5\r\nhello\r\n",
            resp3: b"$5\r\nhello\r\n",
        },
        Case {
            name: "bulk-empty",
            write: |c| c.write_bulk(""),
            resp2: b"$0\r\n\r\n",
            resp3: b"$0\r\n\r\n",
        },
        Case {
            name: "null",
            write: |c| c.write_null(),
            resp2: b"$-1\r\n",
            resp3: b"_\r\n",
        },
        Case {
            name: "array",
            write: |c| {
                c.write_array(3);
                c.write_int(1);
                c.write_bulk("two");
                c.write_null();
            },
            resp2: b"*3\r\n:1\r\n$3\r\ntwo\r\n$-1\r\n",
            resp3: b"*3\r\n:1\r\n$3\r\ntwo\r\n_\r\n",
        },
        Case {
            name: "array-empty",
            write: |c| c.write_array(0),
            resp2: b"*0\r\n",
            resp3: b"*0\r\n",
        },
        Case {
            name: "null-array",
            write: |c| c.write_null_array(),
            resp2: b"*-1\r\n",
            resp3: b"_\r\n",
        },
        Case {
            name: "map",
            write: |c| {
                c.write_map(2);
                c.write_bulk("a");
                c.write_int(1);
                c.write_bulk("b");
                c.write_int(2);
            },
            resp2: b"*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n",
            resp3: b"%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n:2\r\n",
        },
        Case {
            name: "set",
            write: |c| {
                c.write_set(2);
                c.write_bulk("x");
                c.write_bulk("y");
            },
            resp2: b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n",
            resp3: b"~2\r\n$1\r\nx\r\n$1\r\ny\r\n",
        },
        Case {
            name: "nested",
            write: |c| {
                c.write_array(2);
                c.write_map(1);
                c.write_bulk("k");
                c.write_set(1);
                c.write_bool(true);
                c.write_null_array();
            },
            resp2: b"*2\r\n*2\r\n$1\r\nk\r\n*1\r\n:1\r\n*-1\r\n",
            resp3: b"*2\r\n%1\r\n$1\r\nk\r\n~1\r\n#t\r\n_\r\n",
        },
        Case {
            name: "double",
            write: |c| c.write_double(1.5),
            resp2: b"$3\r\n1.5\r\n",
            resp3: b",1.5\r\n",
        },
        Case {
            name: "double-integral",
            write: |c| c.write_double(3.0),
            resp2: b"$1\r\n3\r\n",
            resp3: b",3\r\n",
        },
        Case {
            name: "double-negative",
            write: |c| c.write_double(-0.25),
            resp2: b"$5\r\n-0.25\r\n",
            resp3: b",-0.25\r\n",
        },
        Case {
            name: "double-inf",
            write: |c| c.write_double(f64::INFINITY),
            resp2: b"$3\r\ninf\r\n",
            resp3: b",inf\r\n",
        },
        Case {
            name: "double-neg-inf",
            write: |c| c.write_double(f64::NEG_INFINITY),
            resp2: b"$4\r\n-inf\r\n",
            resp3: b",-inf\r\n",
        },
        Case {
            name: "double-shortest",
            write: |c| c.write_double(0.1),
            resp2: b"$3\r\n0.1\r\n",
            resp3: b",0.1\r\n",
        },
        Case {
            name: "double-nan",
            write: |c| c.write_double(f64::NAN),
            resp2: b"$3\r\nnan\r\n",
            resp3: b",nan\r\n",
        },
        Case {
            name: "bool-true",
            write: |c| c.write_bool(true),
            resp2: b":1\r\n",
            resp3: b"#t\r\n",
        },
        Case {
            name: "bool-false",
            write: |c| c.write_bool(false),
            resp2: b":0\r\n",
            resp3: b"#f\r\n",
        },
        Case {
            name: "big-number",
            write: |c| c.write_big_number("3492890328409238509324850943850943825024385"),
            resp2: b"$43\r\n3492890328409238509324850943850943825024385\r\n",
            resp3: b"(3492890328409238509324850943850943825024385\r\n",
        },
        Case {
            name: "verbatim",
            write: |c| c.write_verbatim("txt", "Some string"),
            resp2: b"$11\r\nSome string\r\n",
            resp3: b"=15\r\ntxt:Some string\r\n",
        },
        Case {
            name: "blob-error",
            write: |c| c.write_blob_error("SYNTAX invalid syntax"),
            resp2: b"-SYNTAX invalid syntax\r\n",
            resp3: b"!21\r\nSYNTAX invalid syntax\r\n",
        },
        Case {
            name: "push",
            write: |c| {
                c.write_push(2);
                c.write_bulk("message");
                c.write_bulk("hi");
            },
            resp2: b"*2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n",
            resp3: b">2\r\n$7\r\nmessage\r\n$2\r\nhi\r\n",
        },
        Case {
            name: "attribute",
            write: |c| {
                c.write_attribute(1);
                c.write_bulk("ttl");
                c.write_int(100);
                c.write_bulk("value");
            },
            // RESP2 has no attributes: Redis drops them for RESP2 clients.
            resp2: b"$5\r\nvalue\r\n",
            resp3: b"|1\r\n$3\r\nttl\r\n:100\r\n$5\r\nvalue\r\n",
        },
        Case {
            name: "attribute-nested",
            write: |c| {
                c.write_array(2);
                c.write_attribute(1);
                c.write_bulk("pos");
                c.write_array(2);
                c.write_int(1);
                c.write_map(1);
                c.write_bulk("x");
                c.write_double(0.5);
                c.write_int(7);
                c.write_bulk("after");
            },
            resp2: b"*2\r\n:7\r\n$5\r\nafter\r\n",
            resp3: b"*2\r\n|1\r\n$3\r\npos\r\n*2\r\n:1\r\n%1\r\n$1\r\nx\r\n,0.5\r\n:7\r\n$5\r\nafter\r\n",
        },
    ]
}

fn handler(conn: &mut Conn<'_>, cmd: Command<'_>) {
    let case = cmd
        .get(1)
        .and_then(|name| cases().into_iter().find(|c| c.name.as_bytes() == name));
    match case {
        Some(case) if cmd.is("t") => (case.write)(conn),
        _ => {
            if !common::basic(conn, &cmd) {
                conn.write_error("ERR no such case");
            }
        }
    }
}

fn ask(client: &mut Client<TcpStream>, name: &str) {
    client.send(format!("T {name}\r\n").as_bytes());
}

#[test]
fn resp2_bytes_for_every_type() {
    let server = start(handler);
    let mut c = connect(&server);
    for case in cases() {
        ask(&mut c, case.name);
        let got = c.read_n(case.resp2.len());
        assert_eq!(
            got.escape_ascii().to_string(),
            case.resp2.escape_ascii().to_string(),
            "RESP2 {}",
            case.name
        );
    }
    // Nothing extra was sent.
    c.send(b"PING\r\n");
    c.expect(b"+PONG\r\n");
    server.shutdown();
}

#[test]
fn resp3_bytes_for_every_type_after_hello_3() {
    let server = start(handler);
    let mut c = connect(&server);
    c.send(b"HELLO 3\r\n");
    let hello = c.reply();
    assert!(hello.starts_with(b"%7\r\n"), "{}", common::show(&hello));
    for case in cases() {
        ask(&mut c, case.name);
        let got = c.read_n(case.resp3.len());
        assert_eq!(
            got.escape_ascii().to_string(),
            case.resp3.escape_ascii().to_string(),
            "RESP3 {}",
            case.name
        );
    }
    // HELLO 2 switches back.
    c.send(b"HELLO 2\r\n");
    assert!(c.reply().starts_with(b"*14\r\n"));
    ask(&mut c, "null");
    c.expect(b"$-1\r\n");
    server.shutdown();
}

#[test]
fn every_type_in_one_pipeline() {
    let server = start(handler);
    for resp3 in [false, true] {
        let mut c = connect(&server);
        let mut request = Vec::new();
        let mut expected = Vec::new();
        if resp3 {
            c.send(b"HELLO 3\r\n");
            c.reply();
        }
        for case in cases() {
            request.extend_from_slice(format!("T {}\r\n", case.name).as_bytes());
            expected.extend_from_slice(if resp3 { case.resp3 } else { case.resp2 });
        }
        c.send(&request);
        c.expect(&expected);
    }
    server.shutdown();
}

fn query(con: &mut redis::Connection, name: &str) -> redis::Value {
    redis::cmd("T")
        .arg(name)
        .query(con)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn redis_rs_decodes_every_type_in_resp2() {
    use redis::Value as V;
    let server = start(handler);
    let mut con = redis_conn(&server, false);
    assert_eq!(query(&mut con, "string"), V::Okay);
    assert_eq!(query(&mut con, "i64-min"), V::Int(i64::MIN));
    assert_eq!(query(&mut con, "bulk"), V::BulkString(b"hello".to_vec()));
    assert_eq!(query(&mut con, "null"), V::Nil);
    assert_eq!(query(&mut con, "null-array"), V::Nil);
    assert_eq!(
        query(&mut con, "map"),
        V::Array(vec![
            V::BulkString(b"a".to_vec()),
            V::Int(1),
            V::BulkString(b"b".to_vec()),
            V::Int(2)
        ])
    );
    assert_eq!(query(&mut con, "double"), V::BulkString(b"1.5".to_vec()));
    assert_eq!(query(&mut con, "bool-true"), V::Int(1));
    assert_eq!(
        query(&mut con, "attribute"),
        V::BulkString(b"value".to_vec())
    );
    let err = redis::cmd("T")
        .arg("error")
        .query::<redis::Value>(&mut con)
        .expect_err("error reply");
    assert_eq!(err.code(), Some("ERR"));
    assert_eq!(err.detail(), Some("something bad"));
    server.shutdown();
}

#[test]
fn redis_rs_decodes_every_type_in_resp3() {
    use redis::Value as V;
    let server = start(handler);
    // redis-rs opens a RESP3 connection with HELLO 3, answered by the built-in HELLO.
    let mut con = redis_conn(&server, true);
    assert_eq!(query(&mut con, "null"), V::Nil);
    assert_eq!(
        query(&mut con, "map"),
        V::Map(vec![
            (V::BulkString(b"a".to_vec()), V::Int(1)),
            (V::BulkString(b"b".to_vec()), V::Int(2)),
        ])
    );
    assert_eq!(
        query(&mut con, "set"),
        V::Set(vec![
            V::BulkString(b"x".to_vec()),
            V::BulkString(b"y".to_vec())
        ])
    );
    assert_eq!(query(&mut con, "double"), V::Double(1.5));
    assert_eq!(query(&mut con, "double-inf"), V::Double(f64::INFINITY));
    assert_eq!(query(&mut con, "bool-false"), V::Boolean(false));
    match query(&mut con, "big-number") {
        // redis-rs without its num-bigint feature hands over the digits as sent.
        V::BigNumber(n) => assert_eq!(n, b"3492890328409238509324850943850943825024385"),
        other => panic!("big number: {other:?}"),
    }
    assert_eq!(
        query(&mut con, "verbatim"),
        V::VerbatimString {
            format: redis::VerbatimFormat::Text,
            text: "Some string".into()
        }
    );
    match query(&mut con, "attribute") {
        V::Attribute { data, attributes } => {
            assert_eq!(*data, V::BulkString(b"value".to_vec()));
            assert_eq!(
                attributes,
                vec![(V::BulkString(b"ttl".to_vec()), V::Int(100))]
            );
        }
        other => panic!("attribute: {other:?}"),
    }
    server.shutdown();
}
