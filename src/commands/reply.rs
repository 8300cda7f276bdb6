//! `COMMAND` and its subcommands (`COUNT`, `LIST`, `INFO`, `DOCS`, `GETKEYS`,
//! `GETKEYSANDFLAGS`, `HELP`), answered from a [`CommandTable`] byte for byte as
//! redis-server 7.0.15 answers them, in RESP2 and RESP3.

use super::flags::{AclCategories, KeyFlags};
use super::keys::{BeginSearch, FindKeys, KeySpec};
use super::spec::CommandSpec;
use super::table::CommandTable;
use crate::conn::Conn;
use crate::glob::glob_match_nocase;
use crate::resp::{Command, Writer};
use std::sync::OnceLock;

/// The descriptions of `COMMAND` and its subcommands, as Redis 7.0.15 gives them. The
/// [`Mux`](crate::mux::Mux) puts them in its table, so `COMMAND` describes itself.
///
/// ```
/// let specs = redcon::commands::command_specs();
/// assert_eq!(specs[0].name(), "command");
/// assert!(specs.iter().any(|s| s.name() == "command|getkeys"));
/// ```
pub fn command_specs() -> Vec<CommandSpec> {
    use super::flags::Flags;
    let base = |name: &str, arity: i32| {
        CommandSpec::new(name, arity)
            .flags(Flags::LOADING | Flags::STALE)
            .acl(AclCategories::CONNECTION)
            .group("server")
    };
    vec![
        base("command", -1)
            .tip("nondeterministic_output_order")
            .summary("Get array of Redis command details")
            .since("2.8.13")
            .complexity("O(N) where N is the total number of Redis commands"),
        base("command|count", 2)
            .summary("Get total number of Redis commands")
            .since("2.8.13")
            .complexity("O(1)"),
        base("command|docs", -2)
            .tip("nondeterministic_output_order")
            .summary("Get array of specific Redis command documentation")
            .since("7.0.0")
            .complexity("O(N) where N is the number of commands to look up"),
        base("command|getkeys", -4)
            .summary("Extract keys given a full Redis command")
            .since("2.8.13")
            .complexity("O(N) where N is the number of arguments to the command"),
        base("command|getkeysandflags", -4)
            .summary("Extract keys and access flags given a full Redis command")
            .since("7.0.0")
            .complexity("O(N) where N is the number of arguments to the command"),
        base("command|help", 2)
            .summary("Show helpful text about the different subcommands")
            .since("5.0.0")
            .complexity("O(1)"),
        base("command|info", -2)
            .tip("nondeterministic_output_order")
            .summary(
                "Get array of specific Redis command details, or all when no argument is given.",
            )
            .since("2.8.13")
            .complexity("O(N) where N is the number of commands to look up"),
        base("command|list", -2)
            .tip("nondeterministic_output_order")
            .summary("Get an array of Redis command names")
            .since("7.0.0")
            .complexity("O(N) where N is the total number of Redis commands"),
    ]
}

/// `COMMAND`'s own descriptions, for resolving its subcommands.
fn command_table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| command_specs().into_iter().collect())
}

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// Answers a `COMMAND` request from `table`, exactly as redis-server 7.0.15 would if
/// `table` were its command table: unknown subcommands and wrong arity get Redis's
/// errors.
///
/// The [`Mux`](crate::mux::Mux) calls this for `COMMAND` unless a `command` route was
/// registered; a hand-written handler can call it too.
///
/// ```
/// use redcon::commands::{serve_command, CommandSpec, CommandTable, Flags};
/// use redcon::{Command, Conn};
/// use std::sync::Arc;
///
/// let mut table = CommandTable::new();
/// table.insert(CommandSpec::new("get", 2).flags(Flags::READONLY | Flags::FAST).keys(1, 1, 1));
/// let table = Arc::new(table);
/// let handler = move |conn: &mut Conn, cmd: Command| {
///     if cmd.is("command") {
///         serve_command(conn, cmd, &table);
///     } else {
///         conn.write_error(redcon::reply::unknown_command(&cmd));
///     }
/// };
/// # drop(handler);
/// ```
pub fn serve_command(conn: &mut Conn<'_>, cmd: Command<'_>, table: &CommandTable) {
    let spec = match command_table().resolve(&cmd) {
        Ok(spec) => spec,
        Err(msg) => return conn.write_error(msg),
    };
    let w: &mut Writer = conn;
    match spec.name() {
        "command" => write_infos(w, table, table.iter()),
        "command|count" => w.write_int(table.len() as i64),
        "command|list" => list(w, table, &cmd),
        "command|info" if cmd.len() == 2 => write_infos(w, table, table.iter()),
        "command|info" => {
            w.write_array(cmd.len() - 2);
            for name in cmd.args().skip(2) {
                match table.get_bytes(name) {
                    Some(spec) => write_info(w, table, spec),
                    None => w.write_null(),
                }
            }
        }
        "command|docs" => docs(w, table, &cmd),
        "command|getkeys" => getkeys(w, table, &cmd, false),
        "command|getkeysandflags" => getkeys(w, table, &cmd, true),
        _ => {
            w.write_array(HELP.len());
            for line in HELP {
                w.write_string(line);
            }
        }
    }
}

fn write_infos<'t>(
    w: &mut Writer,
    table: &'t CommandTable,
    specs: impl Iterator<Item = &'t CommandSpec>,
) {
    let specs: Vec<_> = specs.collect();
    w.write_array(specs.len());
    for spec in specs {
        write_info(w, table, spec);
    }
}

/// One `COMMAND INFO` entry: Redis 7's ten fields.
fn write_info(w: &mut Writer, table: &CommandTable, spec: &CommandSpec) {
    w.write_array(10);
    w.write_bulk(spec.name());
    w.write_int(spec.arity().redis_value());
    let flags = spec.command_flags().names();
    w.write_set(flags.clone().count());
    for f in flags {
        w.write_string(f);
    }
    let (first, last, step) = spec.first_last_step();
    w.write_int(first);
    w.write_int(last);
    w.write_int(step);
    let cats = spec.acl_categories().names();
    w.write_set(cats.clone().count());
    for c in cats {
        w.write_string(format!("@{c}"));
    }
    w.write_set(spec.tips().count());
    for t in spec.tips() {
        w.write_bulk(t);
    }
    w.write_set(spec.key_specs().len());
    for ks in spec.key_specs() {
        write_key_spec(w, ks);
    }
    let subs: Vec<&CommandSpec> = if spec.name().contains('|') {
        Vec::new()
    } else {
        table.subcommands(spec.name()).collect()
    };
    w.write_set(subs.len());
    for sub in subs {
        write_info(w, table, sub);
    }
}

fn write_key_flags(w: &mut Writer, flags: KeyFlags) {
    let names = flags.names();
    w.write_set(names.clone().count());
    for n in names {
        w.write_string(n);
    }
}

fn write_key_spec(w: &mut Writer, ks: &KeySpec) {
    w.write_map(3 + usize::from(ks.notes.is_some()));
    if let Some(notes) = &ks.notes {
        w.write_bulk("notes");
        w.write_bulk(notes);
    }
    w.write_bulk("flags");
    write_key_flags(w, ks.flags);
    w.write_bulk("begin_search");
    w.write_map(2);
    w.write_bulk("type");
    match &ks.begin {
        BeginSearch::Index(i) => {
            w.write_bulk("index");
            w.write_bulk("spec");
            w.write_map(1);
            w.write_bulk("index");
            w.write_int(*i as i64);
        }
        BeginSearch::Keyword { keyword, startfrom } => {
            w.write_bulk("keyword");
            w.write_bulk("spec");
            w.write_map(2);
            w.write_bulk("keyword");
            w.write_bulk(keyword);
            w.write_bulk("startfrom");
            w.write_int(i64::from(*startfrom));
        }
        BeginSearch::Unknown => {
            w.write_bulk("unknown");
            w.write_bulk("spec");
            w.write_map(0);
        }
    }
    w.write_bulk("find_keys");
    w.write_map(2);
    w.write_bulk("type");
    match ks.find {
        FindKeys::Range {
            lastkey,
            keystep,
            limit,
        } => {
            w.write_bulk("range");
            w.write_bulk("spec");
            w.write_map(3);
            w.write_bulk("lastkey");
            w.write_int(i64::from(lastkey));
            w.write_bulk("keystep");
            w.write_int(keystep as i64);
            w.write_bulk("limit");
            w.write_int(limit as i64);
        }
        FindKeys::Keynum {
            keynumidx,
            firstkey,
            keystep,
        } => {
            w.write_bulk("keynum");
            w.write_bulk("spec");
            w.write_map(3);
            w.write_bulk("keynumidx");
            w.write_int(keynumidx as i64);
            w.write_bulk("firstkey");
            w.write_int(firstkey as i64);
            w.write_bulk("keystep");
            w.write_int(keystep as i64);
        }
        FindKeys::Unknown => {
            w.write_bulk("unknown");
            w.write_bulk("spec");
            w.write_map(0);
        }
    }
}

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`.
fn list(w: &mut Writer, table: &CommandTable, cmd: &Command<'_>) {
    enum Filter<'a> {
        All,
        Module,
        AclCat(Option<AclCategories>),
        Pattern(&'a [u8]),
    }
    let mut filter = Filter::All;
    let mut i = 2;
    while i < cmd.len() {
        let more = cmd.len() - 1 - i;
        if !cmd[i].eq_ignore_ascii_case(b"filterby") || more != 2 {
            return w.write_error(crate::reply::SYNTAX_ERROR);
        }
        let arg = &cmd[i + 2];
        filter = match cmd[i + 1].to_ascii_lowercase().as_slice() {
            b"module" => Filter::Module,
            b"aclcat" => Filter::AclCat(
                std::str::from_utf8(arg)
                    .ok()
                    .and_then(AclCategories::from_name),
            ),
            b"pattern" => Filter::Pattern(arg),
            _ => return w.write_error(crate::reply::SYNTAX_ERROR),
        };
        i += 3;
    }
    let keep = |spec: &CommandSpec| match &filter {
        Filter::All => true,
        // redcon has no modules: no command belongs to one.
        Filter::Module => false,
        Filter::AclCat(None) => false,
        Filter::AclCat(Some(cat)) => spec.acl_categories().intersects(*cat),
        Filter::Pattern(p) => glob_match_nocase(p, spec.name().as_bytes()),
    };
    let mut names = Vec::new();
    for spec in table.iter() {
        if keep(spec) {
            names.push(spec.name());
        }
        for sub in table.subcommands(spec.name()) {
            if keep(sub) {
                names.push(sub.name());
            }
        }
    }
    w.write_array(names.len());
    for n in names {
        w.write_bulk(n);
    }
}

/// `COMMAND DOCS [name ...]`: a map from name to documentation; unknown names are
/// left out.
fn docs(w: &mut Writer, table: &CommandTable, cmd: &Command<'_>) {
    let specs: Vec<&CommandSpec> = if cmd.len() == 2 {
        table.iter().collect()
    } else {
        cmd.args()
            .skip(2)
            .filter_map(|n| table.get_bytes(n))
            .collect()
    };
    w.write_map(specs.len());
    for spec in specs {
        w.write_bulk(spec.name());
        write_doc(w, table, spec);
    }
}

fn write_doc(w: &mut Writer, table: &CommandTable, spec: &CommandSpec) {
    let d = spec.docs();
    let subs: Vec<&CommandSpec> = if spec.name().contains('|') {
        Vec::new()
    } else {
        table.subcommands(spec.name()).collect()
    };
    let fields = 1
        + usize::from(d.summary.is_some())
        + usize::from(d.since.is_some())
        + usize::from(d.complexity.is_some())
        + 2 * usize::from(d.deprecated.is_some())
        + usize::from(!subs.is_empty());
    w.write_map(fields);
    if let Some(s) = &d.summary {
        w.write_bulk("summary");
        w.write_bulk(s);
    }
    if let Some(s) = &d.since {
        w.write_bulk("since");
        w.write_bulk(s);
    }
    w.write_bulk("group");
    w.write_bulk(spec.doc_group());
    if let Some(s) = &d.complexity {
        w.write_bulk("complexity");
        w.write_bulk(s);
    }
    // Redis's order: after the complexity (and doc_flags), before history and arguments.
    if let Some((since, by)) = &d.deprecated {
        w.write_bulk("deprecated_since");
        w.write_bulk(since);
        w.write_bulk("replaced_by");
        w.write_bulk(by);
    }
    if !subs.is_empty() {
        w.write_bulk("subcommands");
        w.write_map(subs.len());
        for sub in subs {
            w.write_bulk(sub.name());
            write_doc(w, table, sub);
        }
    }
}

/// `COMMAND GETKEYS` / `GETKEYSANDFLAGS <command> [arg ...]`.
fn getkeys(w: &mut Writer, table: &CommandTable, cmd: &Command<'_>, with_flags: bool) {
    let inner = cmd.skip_args(2);
    let refs = match table.key_refs(&inner) {
        Ok(refs) => refs,
        Err(e) => return w.write_error(e.message()),
    };
    if refs.is_empty() {
        let optional = table
            .lookup(&inner)
            .is_some_and(|s| s.command_flags().contains(super::Flags::NO_MANDATORY_KEYS));
        if optional {
            return w.write_array(0);
        }
        return w.write_error(super::KeysError::InvalidArguments.message());
    }
    w.write_array(refs.len());
    for k in refs {
        if with_flags {
            w.write_array(2);
            w.write_bulk(&inner[k.pos]);
            write_key_flags(w, k.flags);
        } else {
            w.write_bulk(&inner[k.pos]);
        }
    }
}
