//! `COMMAND` answered from a `Mux`'s table over a real socket: the reply shapes of
//! redis-server 7.0.15 (GET's entry below is Redis's own bytes), movable keys (a key
//! count, a keyword, a key function), subcommands, unknown names, `GETKEYS` errors in
//! Redis's order, RESP3, and the pub/sub commands a `PubSubHandler` adds to the table.

mod common;

use common::{connect, request, start};
use redcon::commands::{
    AclCategories, BeginSearch, CommandSpec, FindKeys, Flags, KeyFlags, KeyRef, KeySpec,
};
use redcon::mux::{Arity, Mux};
use redcon::pubsub::PubSub;

fn mux() -> Mux {
    let mut mux = Mux::new();
    // As Redis 7.0.15 describes GET.
    mux.command(
        CommandSpec::new("get", 2)
            .flags(Flags::READONLY | Flags::FAST)
            .acl(AclCategories::STRING)
            .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RO | KeyFlags::ACCESS))
            .summary("Get the value of a key")
            .since("1.0.0")
            .group("string")
            .complexity("O(1)"),
        |conn, _| conn.write_null(),
    );
    // Keys after a count: ZUNION-like.
    mux.command(
        CommandSpec::new("kunion", -3)
            .flags(Flags::READONLY)
            .key_spec(KeySpec::keynum(1, 0, 1, 1).flags(KeyFlags::RO)),
        |conn, _| conn.write_string("OK"),
    );
    // Keys after a keyword: XREAD-like (half of what follows STREAMS).
    mux.command(
        CommandSpec::new("kread", -4)
            .flags(Flags::READONLY)
            .key_spec(
                KeySpec::new(
                    BeginSearch::Keyword {
                        keyword: "STREAMS".into(),
                        startfrom: 1,
                    },
                    FindKeys::Range {
                        lastkey: -1,
                        keystep: 1,
                        limit: 2,
                    },
                )
                .flags(KeyFlags::RO | KeyFlags::ACCESS),
            ),
        |conn, _| conn.write_string("OK"),
    );
    // Keys found by a function: every argument before SEP.
    mux.command(
        CommandSpec::new("ksep", -2).keys_fn(|cmd| {
            Some(
                cmd.args()
                    .enumerate()
                    .skip(1)
                    .take_while(|(_, a)| !a.eq_ignore_ascii_case(b"SEP"))
                    .map(|(pos, _)| KeyRef {
                        pos,
                        flags: KeyFlags::RW,
                    })
                    .collect(),
            )
        }),
        |conn, _| conn.write_string("OK"),
    );
    mux.command(
        CommandSpec::new("mset", -3)
            .flags(Flags::WRITE)
            .keys(1, -1, 2),
        |conn, _| conn.write_string("OK"),
    );
    mux.handle_subcommand("client", "id", Arity::Exactly(2), |conn, _| {
        let id = conn.id();
        conn.write_u64(id)
    });
    mux.handle("ping", Arity::AtLeast(1), |conn, _| {
        conn.write_string("PONG")
    });
    mux
}

fn ask(args: &[&str]) -> Vec<u8> {
    let handle = start(mux());
    let mut c = connect(&handle);
    c.send(&request(args));
    let reply = c.reply();
    handle.shutdown();
    reply
}

const GET_INFO: &[u8] = b"*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n\
*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n\
$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n\
$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n\
$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";

#[test]
fn info_is_redis_byte_for_byte() {
    let mut want = b"*2\r\n".to_vec();
    want.extend_from_slice(GET_INFO);
    want.extend_from_slice(b"$-1\r\n");
    assert_eq!(ask(&["COMMAND", "INFO", "GET", "nosuch"]), want);
}

#[test]
fn docs_like_redis() {
    assert_eq!(
        ask(&["COMMAND", "DOCS", "get", "nosuch"]),
        b"*2\r\n$3\r\nget\r\n*8\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n\
$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"
            .to_vec()
    );
}

#[test]
fn resp3_uses_sets_and_maps() {
    let handle = start(mux());
    let mut c = connect(&handle);
    c.send(&request(&["HELLO", "3"]));
    let _ = c.reply();
    c.send(&request(&["COMMAND", "INFO", "client|id", "x"]));
    assert_eq!(
        c.reply(),
        b"*2\r\n*10\r\n$9\r\nclient|id\r\n:2\r\n~0\r\n:0\r\n:0\r\n:0\r\n~1\r\n+@slow\r\n~0\r\n~0\r\n~0\r\n_\r\n"
            .to_vec()
    );
    handle.shutdown();
}

#[test]
fn movable_keys_are_flagged_and_found() {
    // A key count: no legacy triple, movablekeys.
    let info = ask(&["COMMAND", "INFO", "kunion"]);
    let text = String::from_utf8_lossy(&info);
    assert!(
        text.contains("+readonly\r\n+movablekeys\r\n:0\r\n:0\r\n:0\r\n"),
        "{text}"
    );
    assert!(text.contains("$6\r\nkeynum\r\n"), "{text}");
    assert_eq!(
        ask(&["COMMAND", "GETKEYS", "kunion", "2", "a", "b"]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "GETKEYS", "kunion", "x", "a"]),
        b"-ERR Invalid arguments specified for command\r\n".to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "GETKEYS", "kunion", "9", "a"]),
        b"-ERR Invalid arguments specified for command\r\n".to_vec()
    );
    // A keyword, half of what follows it.
    assert_eq!(
        ask(&["COMMAND", "GETKEYS", "kread", "COUNT", "1", "streams", "s1", "s2", "0", "0"]),
        b"*2\r\n$2\r\ns1\r\n$2\r\ns2\r\n".to_vec()
    );
    // A key function, with its flags.
    assert_eq!(
        ask(&["COMMAND", "GETKEYSANDFLAGS", "ksep", "a", "b", "SEP", "v"]),
        b"*2\r\n*2\r\n$1\r\na\r\n*1\r\n+RW\r\n*2\r\n$1\r\nb\r\n*1\r\n+RW\r\n".to_vec()
    );
    let info = ask(&["COMMAND", "INFO", "ksep"]);
    assert!(String::from_utf8_lossy(&info).contains("+movablekeys"));
    // A step of 2 is not movable.
    assert_eq!(
        ask(&["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]),
        b"*2\r\n$1\r\na\r\n$1\r\nb\r\n".to_vec()
    );
}

#[test]
fn getkeys_errors_in_redis_order() {
    let cases: &[(&[&str], &[u8])] = &[
        (
            &["COMMAND", "GETKEYS"],
            b"-ERR wrong number of arguments for 'command|getkeys' command\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "get"],
            b"-ERR wrong number of arguments for 'command|getkeys' command\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "nosuch", "a"],
            b"-ERR Invalid command specified\r\n",
        ),
        // No keys is checked before the arity.
        (
            &["COMMAND", "GETKEYS", "ping", "a", "b", "c"],
            b"-ERR The command has no key arguments\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "client", "id"],
            b"-ERR The command has no key arguments\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "client", "nosuch"],
            b"-ERR Invalid command specified\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "get", "a", "b"],
            b"-ERR Invalid number of arguments specified for command\r\n",
        ),
        (
            &["COMMAND", "GETKEYS", "mset", "a"],
            b"-ERR Invalid number of arguments specified for command\r\n",
        ),
        (
            // As Redis: the range runs to the last argument, whatever the pairing.
            &["COMMAND", "GETKEYS", "mset", "a", "1", "b"],
            b"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
        ),
    ];
    for (args, want) in cases {
        assert_eq!(ask(args), want.to_vec(), "{args:?}");
    }
}

#[test]
fn subcommands_and_unknown_names() {
    // The container lists its subcommands; each one alone by its full name.
    let info = ask(&["COMMAND", "INFO", "client"]);
    assert!(info.starts_with(b"*1\r\n*10\r\n$6\r\nclient\r\n:-2\r\n*0\r\n"));
    assert!(String::from_utf8_lossy(&info).contains("$9\r\nclient|id\r\n:2\r\n"));
    assert_eq!(
        ask(&["COMMAND", "INFO", "CLIENT|ID"]),
        b"*1\r\n*10\r\n$9\r\nclient|id\r\n:2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*0\r\n"
            .to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "INFO", "client|nosuch", "|", "get|x"]),
        b"*3\r\n$-1\r\n$-1\r\n$-1\r\n".to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "NOSUCH"]),
        b"-ERR unknown subcommand 'NOSUCH'. Try COMMAND HELP.\r\n".to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "COUNT", "x"]),
        b"-ERR wrong number of arguments for 'command|count' command\r\n".to_vec()
    );
}

#[test]
fn count_and_list_cover_the_table() {
    // get kunion kread ksep mset client ping + the built-in command and hello.
    assert_eq!(ask(&["COMMAND", "COUNT"]), b":9\r\n".to_vec());
    let list = ask(&["COMMAND", "LIST"]);
    let text = String::from_utf8_lossy(&list);
    assert!(text.starts_with("*17\r\n"), "{text}"); // 9 + client|id + command's 7
    for name in ["get", "client|id", "command|getkeys", "hello", "ksep"] {
        assert!(
            text.contains(&format!("\r\n{name}\r\n")),
            "{name} in {text}"
        );
    }
    assert_eq!(
        ask(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "STRING"]),
        b"*1\r\n$3\r\nget\r\n".to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "K*"]),
        b"*3\r\n$5\r\nkread\r\n$4\r\nksep\r\n$6\r\nkunion\r\n".to_vec()
    );
    assert_eq!(
        ask(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        b"*0\r\n".to_vec()
    );
}

#[test]
fn pubsub_commands_join_the_table() {
    let pubsub = PubSub::new();
    let handle = start(pubsub.handler(mux()));
    let mut c = connect(&handle);
    c.send(&request(&["COMMAND", "INFO", "publish"]));
    assert_eq!(
        c.reply(),
        b"*1\r\n*10\r\n$7\r\npublish\r\n:3\r\n*4\r\n+pubsub\r\n+loading\r\n+stale\r\n+fast\r\n\
:0\r\n:0\r\n:0\r\n*2\r\n+@pubsub\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n"
            .to_vec()
    );
    c.send(&request(&["COMMAND", "COUNT"]));
    // The mux's 9, and publish, (p|s)subscribe, (p|s)unsubscribe, spublish, pubsub.
    assert_eq!(c.reply(), b":18\r\n".to_vec());
    // A subscribed RESP2 client: the table gives Redis's errors and names.
    c.send(&request(&["SUBSCRIBE", "ch"]));
    let _ = c.reply();
    c.send(&request(&["GET", "k"]));
    assert_eq!(
        c.reply(),
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n".to_vec()
    );
    c.send(&request(&["GET"]));
    assert_eq!(
        c.reply(),
        b"-ERR wrong number of arguments for 'get' command\r\n".to_vec()
    );
    c.send(&request(&["CLIENT", "ID"]));
    assert!(c.reply().starts_with(b"-ERR Can't execute 'client|id'"));
    handle.shutdown();
}

#[test]
fn keys_borrow_the_request() {
    let m = mux();
    let table = m.command_table();
    let mut p = redcon::resp::Parser::new();
    let redcon::resp::Parsed::Command { command, .. } = p.parse(b"MSET a 1 b 2\r\n").unwrap()
    else {
        panic!("parses")
    };
    assert_eq!(table.keys(&command).collect::<Vec<_>>(), [b"a", b"b"]);
    let redcon::resp::Parsed::Command { command, .. } = p.parse(b"NOSUCH a\r\n").unwrap() else {
        panic!("parses")
    };
    assert_eq!(table.keys(&command).count(), 0);
}
