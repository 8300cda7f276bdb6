//! The `ACL` command, answered by the core for a server with the built-in [`Acl`]:
//! `WHOAMI`, `USERS`, `LIST`, `GETUSER`, `SETUSER`, `DELUSER`, `CAT`, `LOG`, `DRYRUN`,
//! `GENPASS`, `LOAD`, `SAVE` and `HELP`, as Redis 7.0.15 answers them. Arity and unknown
//! subcommands are checked before, from the command table.

use super::acl::Acl;
use super::{Authenticator, Denial};
use crate::commands::{AclCategories, CommandTable};
use crate::resp::{Command, Writer};
use std::io::Read;
use std::sync::OnceLock;

/// What `ACL` needs from the connection.
pub(crate) struct Ctx<'a> {
    pub(crate) acl: &'a Acl,
    pub(crate) out: &'a mut Writer,
    pub(crate) whoami: &'a str,
    pub(crate) table: Option<&'a CommandTable>,
}

/// `ACL HELP`, line for line as Redis 7.0.15 answers it.
const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

/// `ACL` and its subcommands as Redis describes them, for the arity checks of a server
/// whose handler has no command table.
fn own_table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| super::command_specs(true).into_iter().collect())
}

/// Answers one `ACL` request.
pub(crate) fn serve(ctx: Ctx<'_>, cmd: &Command<'_>) {
    let Ctx {
        acl,
        out,
        whoami,
        table,
    } = ctx;
    if let Err(msg) = own_table().resolve(cmd) {
        return out.write_error(msg);
    }
    let sub = cmd.get(1).unwrap_or_default().to_ascii_lowercase();
    match &sub[..] {
        b"whoami" => out.write_bulk(whoami),
        b"users" => {
            let users = acl.users();
            out.write_array(users.len());
            for u in users {
                out.write_bulk(u);
            }
        }
        b"list" => {
            let lines = acl.list_bytes();
            out.write_array(lines.len());
            for l in lines {
                out.write_bulk(l);
            }
        }
        b"getuser" => getuser(acl, out, &cmd[2]),
        b"setuser" => {
            let name = String::from_utf8_lossy(&cmd[2]).into_owned();
            let ops: Vec<&[u8]> = cmd.args().skip(3).collect();
            match acl.set_user_ops(&name, &ops) {
                Ok(()) => out.write_string("OK"),
                Err(e) => out.write_error(format!("ERR {e}")),
            }
        }
        b"deluser" => {
            let names: Vec<String> = cmd
                .args()
                .skip(2)
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect();
            if names.iter().any(|n| n == "default") {
                return out.write_error("ERR The 'default' user cannot be removed");
            }
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            out.write_int(acl.delete_users(&names) as i64);
        }
        b"cat" => cat(out, cmd.get(2), table),
        b"log" => log(acl, out, cmd.get(2)),
        b"dryrun" => dryrun(acl, out, cmd, table),
        b"genpass" => genpass(out, cmd.get(2)),
        b"help" => {
            out.write_array(HELP.len());
            for line in HELP {
                out.write_string(line);
            }
        }
        b"load" => match acl.reload() {
            Ok(()) => out.write_string("OK"),
            Err(e @ super::AclError::File { .. }) => out.write_error(format!(
                "ERR {e}. WARNING: ACL errors detected, no change to the previously active \
                 ACL rules was performed"
            )),
            Err(e) => out.write_error(format!("ERR {e}")),
        },
        b"save" => match acl.save() {
            Ok(()) => out.write_string("OK"),
            Err(super::AclError::NoFile) => out.write_error(format!("ERR {}", super::AclError::NoFile)),
            Err(e) => out.write_error(format!("ERR There was an error trying to save the ACLs. Please check the server logs for more information ({e})")),
        },
        _ => {
            let mut msg = b"ERR unknown subcommand '".to_vec();
            msg.extend_from_slice(cmd.get(1).unwrap_or_default());
            msg.extend_from_slice(b"'. Try ACL HELP.");
            out.write_error(msg);
        }
    }
}

fn getuser(acl: &Acl, out: &mut Writer, name: &[u8]) {
    let Some(user) = acl.user(&String::from_utf8_lossy(name)) else {
        return out.write_null();
    };
    out.write_map(6);
    out.write_bulk("flags");
    let flags = user.flags();
    out.write_set(flags.len());
    for f in flags {
        out.write_bulk(f);
    }
    out.write_bulk("passwords");
    out.write_array(user.passwords.len());
    for p in &user.passwords {
        out.write_bulk(super::user::hex(p));
    }
    selector(out, &user.root);
    out.write_bulk("selectors");
    out.write_array(user.selectors.len());
    for s in &user.selectors {
        out.write_map(3);
        selector(out, s);
    }
}

/// A selector's `commands`, `keys` and `channels` entries.
fn selector(out: &mut Writer, s: &super::selector::Selector) {
    out.write_bulk("commands");
    out.write_bulk(s.commands_text());
    out.write_bulk("keys");
    out.write_bulk(s.keys_text());
    out.write_bulk("channels");
    out.write_bulk(s.channels_text());
}

fn cat(out: &mut Writer, category: Option<&[u8]>, table: Option<&CommandTable>) {
    let Some(category) = category else {
        let names: Vec<&str> = AclCategories::all().map(|(_, n)| n).collect();
        out.write_array(names.len());
        for n in names {
            out.write_bulk(n);
        }
        return;
    };
    let found = std::str::from_utf8(category)
        .ok()
        .and_then(AclCategories::from_name);
    let Some(set) = found else {
        let mut msg = b"ERR Unknown category '".to_vec();
        msg.extend_from_slice(category);
        msg.push(b'\'');
        return out.write_error(msg);
    };
    let mut names = Vec::new();
    if let Some(t) = table {
        for spec in t.iter() {
            if spec.acl_categories().contains(set) {
                names.push(spec.name().to_string());
            }
            for sub in t.subcommands(spec.name()) {
                if sub.acl_categories().contains(set) {
                    names.push(sub.name().to_string());
                }
            }
        }
    }
    out.write_array(names.len());
    for n in names {
        out.write_bulk(n);
    }
}

fn log(acl: &Acl, out: &mut Writer, arg: Option<&[u8]>) {
    let mut count = usize::MAX;
    if let Some(arg) = arg {
        if arg.eq_ignore_ascii_case(b"reset") {
            acl.log().clear();
            return out.write_string("OK");
        }
        match crate::resp::parse_int(arg) {
            Some(n) if n >= 0 => count = n as usize,
            _ => return out.write_error("ERR value is not an integer or out of range"),
        }
    }
    let log = acl.log();
    let n = count.min(log.len());
    out.write_array(n);
    for e in log.iter().take(n) {
        out.write_map(7);
        out.write_bulk("count");
        out.write_int(e.count as i64);
        out.write_bulk("reason");
        out.write_bulk(e.refusal.reason);
        out.write_bulk("context");
        out.write_bulk("toplevel");
        out.write_bulk("object");
        out.write_bulk(&e.refusal.object);
        out.write_bulk("username");
        out.write_bulk(&e.refusal.username);
        out.write_bulk("age-seconds");
        out.write_double(e.updated.elapsed().as_secs_f64());
        out.write_bulk("client-info");
        out.write_bulk(&e.refusal.client_info);
    }
}

fn dryrun(acl: &Acl, out: &mut Writer, cmd: &Command<'_>, table: Option<&CommandTable>) {
    let user = String::from_utf8_lossy(&cmd[2]).into_owned();
    if acl.user(&user).is_none() {
        return out.write_error(format!("ERR User '{user}' not found"));
    }
    let run = cmd.skip_args(3);
    let spec = match table {
        Some(t) => match t.lookup(&run) {
            Some(spec) if !spec.arity().accepts(run.len()) => {
                return out.write_error(crate::reply::wrong_arity(spec.name()));
            }
            Some(spec) => Some(spec),
            None => {
                let mut msg = b"ERR Command '".to_vec();
                msg.extend_from_slice(run.name());
                msg.extend_from_slice(b"' not found");
                return out.write_error(msg);
            }
        },
        None => None,
    };
    let name = match spec {
        Some(s) => s.name().to_string(),
        None => String::from_utf8_lossy(run.name()).to_ascii_lowercase(),
    };
    match acl.authorize(&user, &run, spec) {
        Ok(()) => out.write_string("OK"),
        Err(Denial::Key(i)) => out.write_bulk(format!(
            "This user has no permissions to access the '{}' key",
            String::from_utf8_lossy(&run[i])
        )),
        Err(Denial::Channel(i)) => out.write_bulk(format!(
            "This user has no permissions to access the '{}' channel",
            String::from_utf8_lossy(&run[i])
        )),
        Err(_) => out.write_bulk(format!(
            "This user has no permissions to run the '{name}' command"
        )),
    }
}

/// `ACL GENPASS [bits]`: random bytes from the system, as hex (256 bits by default).
fn genpass(out: &mut Writer, bits: Option<&[u8]>) {
    let bits = match bits {
        None => 256,
        Some(b) => match crate::resp::parse_int(b) {
            Some(n) if (1..=4096).contains(&n) => n as usize,
            _ => {
                return out.write_error(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                )
            }
        },
    };
    let chars = bits.div_ceil(4);
    let mut bytes = vec![0u8; chars.div_ceil(2)];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .is_ok();
    if !ok {
        return out.write_error("ERR no random source available");
    }
    let mut hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(chars);
    out.write_bulk(hex);
}
