//! The pub/sub commands as requests: which command a request is ([`Route`]) and its
//! arity, Redis's (un)subscribe confirmations, how Redis 7.0.15 describes each command,
//! and `PUBSUB CHANNELS | NUMSUB | NUMPAT | SHARDCHANNELS | SHARDNUMSUB | HELP`.

use super::{Kind, PubSub};
use crate::commands::{CommandSpec, CommandTable, Flags, KeyFlags, KeySpec};
use crate::resp::{
    append_array_len, append_bulk, append_integer, append_null, append_null_bulk, append_push_len,
    Command, Protocol, Writer,
};
use std::sync::OnceLock;

/// The pub/sub commands this module serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// `PUBLISH` (channels) or `SPUBLISH` (shard channels).
    Publish(Kind),
    Subscribe(Kind),
    Unsubscribe(Kind),
    /// `PUBSUB <subcommand>`.
    Introspect,
}

impl Route {
    pub(super) fn of(cmd: &Command<'_>) -> Option<Route> {
        let name = cmd.name();
        let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        Some(if is("publish") {
            Route::Publish(Kind::Channel)
        } else if is("subscribe") {
            Route::Subscribe(Kind::Channel)
        } else if is("psubscribe") {
            Route::Subscribe(Kind::Pattern)
        } else if is("unsubscribe") {
            Route::Unsubscribe(Kind::Channel)
        } else if is("punsubscribe") {
            Route::Unsubscribe(Kind::Pattern)
        } else if is("ssubscribe") {
            Route::Subscribe(Kind::Shard)
        } else if is("sunsubscribe") {
            Route::Unsubscribe(Kind::Shard)
        } else if is("spublish") {
            Route::Publish(Kind::Shard)
        } else if is("pubsub") {
            Route::Introspect
        } else {
            return None;
        })
    }

    /// The word Redis uses in errors and confirmations.
    pub(super) fn word(self) -> &'static str {
        match self {
            Route::Publish(Kind::Shard) => "spublish",
            Route::Publish(_) => "publish",
            Route::Subscribe(Kind::Channel) => "subscribe",
            Route::Subscribe(Kind::Pattern) => "psubscribe",
            Route::Subscribe(Kind::Shard) => "ssubscribe",
            Route::Unsubscribe(Kind::Channel) => "unsubscribe",
            Route::Unsubscribe(Kind::Pattern) => "punsubscribe",
            Route::Unsubscribe(Kind::Shard) => "sunsubscribe",
            Route::Introspect => "pubsub",
        }
    }

    /// Whether `argc` arguments fit the command's arity, from its description
    /// (`PUBSUB` is checked against its subcommands by [`introspect`]).
    pub(super) fn arity_ok(self, argc: usize) -> bool {
        table()
            .get(self.word())
            .is_some_and(|spec| spec.arity().accepts(argc))
    }
}

/// Publishes on a channel or a shard channel; the number of receivers.
pub(super) fn publish(pubsub: &PubSub, kind: Kind, cmd: &Command<'_>) -> i64 {
    let n = match kind {
        Kind::Shard => pubsub.spublish(&cmd[1], &cmd[2]),
        _ => pubsub.publish(&cmd[1], &cmd[2]),
    };
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Appends one (un)subscribe confirmation: `*3` in RESP2, a `>3` push in RESP3; a
/// missing name is a null (`$-1`, or `_` in RESP3).
pub(super) fn confirm(
    out: &mut Vec<u8>,
    protocol: Protocol,
    route: Route,
    name: Option<&[u8]>,
    n: usize,
) {
    let resp3 = protocol == Protocol::Resp3;
    if resp3 {
        append_push_len(out, 3);
    } else {
        append_array_len(out, 3);
    }
    append_bulk(out, route.word());
    match name {
        Some(name) => append_bulk(out, name),
        None if resp3 => append_null(out),
        None => append_null_bulk(out),
    }
    append_integer(out, i64::try_from(n).unwrap_or(i64::MAX));
}

/// How Redis 7.0.15 describes the commands this module serves.
///
/// ```
/// let specs = redcon::pubsub::command_specs();
/// assert!(specs.iter().any(|s| s.name() == "subscribe"));
/// assert!(specs.iter().any(|s| s.name() == "pubsub|shardnumsub"));
/// ```
pub fn command_specs() -> Vec<CommandSpec> {
    let listen = |name: &str, arity: i32| {
        CommandSpec::new(name, arity)
            .flags(Flags::PUBSUB | Flags::NOSCRIPT | Flags::LOADING | Flags::STALE)
            .group("pubsub")
            .since("2.0.0")
    };
    let send = |name: &str| {
        CommandSpec::new(name, 3)
            .flags(Flags::PUBSUB | Flags::LOADING | Flags::STALE | Flags::FAST)
            .group("pubsub")
    };
    let ask = |name: &str, arity: i32, summary: &str, since: &str, complexity: &str| {
        CommandSpec::new(name, arity)
            .flags(Flags::PUBSUB | Flags::LOADING | Flags::STALE)
            .summary(summary)
            .since(since)
            .group("pubsub")
            .complexity(complexity)
    };
    let channels = |spec: KeySpec| spec.flags(KeyFlags::NOT_KEY);
    vec![
        send("publish")
            .since("2.0.0")
            .summary("Post a message to a channel")
            .complexity(
                "O(N+M) where N is the number of clients subscribed to the receiving channel \
                 and M is the total number of subscribed patterns (by any client).",
            ),
        listen("subscribe", -2)
            .summary("Listen for messages published to the given channels")
            .complexity("O(N) where N is the number of channels to subscribe to."),
        listen("psubscribe", -2)
            .summary("Listen for messages published to channels matching the given patterns")
            .complexity(
                "O(N) where N is the number of patterns the client is already subscribed to.",
            ),
        listen("unsubscribe", -1)
            .summary("Stop listening for messages posted to the given channels")
            .complexity("O(N) where N is the number of clients already subscribed to a channel."),
        listen("punsubscribe", -1)
            .summary("Stop listening for messages posted to channels matching the given patterns")
            .complexity(
                "O(N+M) where N is the number of patterns the client is already subscribed \
                 and M is the number of total patterns subscribed in the system (by any client).",
            ),
        send("spublish")
            .key_spec(channels(KeySpec::range(1, 0, 1)))
            .summary("Post a message to a shard channel")
            .since("7.0.0")
            .complexity(
                "O(N) where N is the number of clients subscribed to the receiving shard channel.",
            ),
        listen("ssubscribe", -2)
            .key_spec(channels(KeySpec::range(1, -1, 1)))
            .summary("Listen for messages published to the given shard channels")
            .since("7.0.0")
            .complexity("O(N) where N is the number of shard channels to subscribe to."),
        listen("sunsubscribe", -1)
            .key_spec(channels(KeySpec::range(1, -1, 1)))
            .summary("Stop listening for messages posted to the given shard channels")
            .since("7.0.0")
            .complexity(
                "O(N) where N is the number of clients already subscribed to a shard channel.",
            ),
        CommandSpec::new("pubsub", -2)
            .summary("A container for Pub/Sub commands")
            .since("2.8.0")
            .group("pubsub")
            .complexity("Depends on subcommand."),
        ask(
            "pubsub|channels",
            -2,
            "List active channels",
            "2.8.0",
            "O(N) where N is the number of active channels, and assuming constant time pattern \
             matching (relatively short channels and patterns)",
        ),
        ask(
            "pubsub|numpat",
            2,
            "Get the count of unique patterns pattern subscriptions",
            "2.8.0",
            "O(1)",
        ),
        ask(
            "pubsub|numsub",
            -2,
            "Get the count of subscribers for channels",
            "2.8.0",
            "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
        ),
        ask(
            "pubsub|shardchannels",
            -2,
            "List active shard channels",
            "7.0.0",
            "O(N) where N is the number of active shard channels, and assuming constant time \
             pattern matching (relatively short shard channels).",
        ),
        ask(
            "pubsub|shardnumsub",
            -2,
            "Get the count of subscribers for shard channels",
            "7.0.0",
            "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard \
             channels",
        ),
        CommandSpec::new("pubsub|help", 2)
            .flags(Flags::LOADING | Flags::STALE)
            .summary("Show helpful text about the different subcommands")
            .since("6.2.0")
            .group("pubsub")
            .complexity("O(1)"),
    ]
}

/// This module's descriptions, for resolving `PUBSUB` subcommands with Redis's errors.
fn table() -> &'static CommandTable {
    static TABLE: OnceLock<CommandTable> = OnceLock::new();
    TABLE.get_or_init(|| command_specs().into_iter().collect())
}

/// The full name of a `PUBSUB` request (`pubsub|numsub`), or Redis's error for an
/// unknown subcommand or a wrong number of arguments.
pub(super) fn introspect_name(cmd: &Command<'_>) -> Result<&'static str, Vec<u8>> {
    table().resolve(cmd).map(CommandSpec::name)
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// Answers `PUBSUB <subcommand> ...` as Redis 7.0.15 does.
pub(super) fn introspect(pubsub: &PubSub, w: &mut Writer, cmd: &Command<'_>) {
    let name = match introspect_name(cmd) {
        Ok(name) => name,
        Err(msg) => return w.write_error(msg),
    };
    let list = |w: &mut Writer, names: Vec<Vec<u8>>| {
        w.write_array(names.len());
        for n in names {
            w.write_bulk(n);
        }
    };
    let counts = |w: &mut Writer, count: &dyn Fn(&[u8]) -> usize| {
        // An array in RESP3 too, as Redis writes it.
        w.write_array((cmd.len() - 2) * 2);
        for ch in cmd.args().skip(2) {
            w.write_bulk(ch);
            w.write_int(i64::try_from(count(ch)).unwrap_or(i64::MAX));
        }
    };
    match name {
        "pubsub|channels" | "pubsub|shardchannels" if cmd.len() > 3 => {
            w.write_error(crate::reply::subcommand_syntax_error("PUBSUB", &cmd[1]));
        }
        "pubsub|channels" => list(w, pubsub.channels(cmd.get(2))),
        "pubsub|shardchannels" => list(w, pubsub.shardchannels(cmd.get(2))),
        "pubsub|numsub" => counts(w, &|ch| pubsub.numsub(ch)),
        "pubsub|shardnumsub" => counts(w, &|ch| pubsub.shardnumsub(ch)),
        "pubsub|numpat" => w.write_int(i64::try_from(pubsub.numpat()).unwrap_or(i64::MAX)),
        _ => {
            w.write_array(HELP.len());
            for line in HELP {
                w.write_string(line);
            }
        }
    }
}
