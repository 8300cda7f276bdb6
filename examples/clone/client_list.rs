//! CLIENT LIST [TYPE type] [ID id ...] and CLIENT INFO, answered from the library's
//! per-connection details in Redis 7.0's line format and with its errors; the client
//! types their `TYPE` filter and CLIENT KILL's share.

use redcon::resp::parse_int;
use redcon::{reply, ClientInfo, ClientType, Command, Conn};

/// CLIENT LIST, with Redis 7.0's argument checks in its order: `TYPE` takes exactly one
/// name, `ID` one or more ids (each must be an integer; unknown ones are skipped,
/// repeated ones repeat), anything else is a syntax error.
pub fn list(conn: &mut Conn, cmd: Command) {
    // Brings this connection's own line up to date (cmd=client|list) before listing.
    conn.client_info();
    let all = conn.clients().list();
    let mut shown: Vec<&ClientInfo> = Vec::new();
    if cmd.len() == 4 && cmd[2].eq_ignore_ascii_case(b"type") {
        let Some(kind) = client_type(conn, &cmd[3]) else {
            return;
        };
        shown.extend(all.iter().filter(|c| c.client_type() == kind));
    } else if cmd.len() > 3 && cmd[2].eq_ignore_ascii_case(b"id") {
        for arg in cmd.args().skip(3) {
            let Some(id) = parse_int(arg) else {
                return conn.write_error("ERR Invalid client ID");
            };
            shown.extend(all.iter().filter(|c| i64::try_from(c.id()) == Ok(id)));
        }
    } else if cmd.len() == 2 {
        shown.extend(all.iter());
    } else {
        return conn.write_error(reply::SYNTAX_ERROR);
    }
    let mut text = String::new();
    for c in shown {
        text.push_str(&c.to_string());
        text.push('\n');
    }
    conn.write_verbatim("txt", text);
}

/// A `TYPE` filter's client type (CLIENT LIST, CLIENT KILL); `None` after answering
/// Redis's error for an unknown one.
pub fn client_type(conn: &mut Conn, name: &[u8]) -> Option<ClientType> {
    let kind = ClientType::parse(name);
    if kind.is_none() {
        let mut msg = b"ERR Unknown client type '".to_vec();
        msg.extend_from_slice(name);
        msg.push(b'\'');
        conn.write_error(msg);
    }
    kind
}

/// CLIENT INFO: this connection's line.
pub fn info(conn: &mut Conn, _: Command) {
    let mut text = conn.client_info().to_string();
    text.push('\n');
    conn.write_verbatim("txt", text);
}
