//! [`CommandTable`]: the descriptions of every command a server answers, looked up by
//! name in any case, with subcommands under their container — and the one resolution
//! rule (unknown command, unknown subcommand, wrong arity, with Redis 7's texts) that
//! both the table and the [`Mux`](crate::mux::Mux) router use.

use super::keys::{KeyRef, Keys, KeysError};
use super::spec::{Arity, CommandSpec};
use crate::names::NameTable;
use crate::reply;
use crate::resp::Command;
use std::fmt;
use std::sync::Arc;

/// One command in a table: its description, what the owner keeps beside it (a
/// handler, for the router), and its subcommands.
pub(crate) struct Node<V> {
    pub(crate) spec: Arc<CommandSpec>,
    /// The spec's arity, kept here as well: checked on every request, it is then read
    /// from the node the name lookup already brought in, not through the `Arc`.
    pub(crate) arity: Arity,
    pub(crate) value: V,
    pub(crate) subs: NameTable<Node<V>>,
}

impl<V: Clone> Clone for Node<V> {
    fn clone(&self) -> Self {
        Node {
            spec: self.spec.clone(),
            arity: self.arity,
            value: self.value.clone(),
            subs: self.subs.clone(),
        }
    }
}

impl<V> Node<V> {
    pub(crate) fn new(spec: CommandSpec, value: V) -> Self {
        Node {
            arity: spec.arity(),
            spec: Arc::new(spec),
            value,
            subs: NameTable::default(),
        }
    }
}

/// Inserts `spec` (a subcommand when named `container|sub`) into `top` with `value`,
/// creating the container as Redis describes one (`-2`, no flags) when there is none.
/// A command registered again is replaced, its subcommands kept.
pub(crate) fn insert_node<V>(
    top: &mut NameTable<Node<V>>,
    spec: CommandSpec,
    value: V,
    empty: impl Fn() -> V,
) {
    match spec
        .container()
        .map(|(c, s)| (c.to_string(), s.to_string()))
    {
        None => {
            let name = spec.name().to_string();
            let node = top.get_or_insert_with(&name, || Node::new(spec.clone(), empty()));
            node.arity = spec.arity();
            node.spec = Arc::new(spec);
            node.value = value;
        }
        Some((container, sub)) => {
            let parent = top.get_or_insert_with(&container, || {
                Node::new(CommandSpec::new(&container, Arity::AtLeast(2)), empty())
            });
            parent.subs.insert(&sub, Node::new(spec, value));
        }
    }
}

/// How a request resolves against a table.
pub(crate) enum Resolved<'t, V> {
    /// This command or subcommand, arity checked.
    Found(&'t Node<V>),
    /// No command of that name.
    Unknown,
    /// Redis's error: unknown subcommand or wrong number of arguments.
    Error(Vec<u8>),
}

/// Resolves `cmd` as Redis's `processCommand` does: the command, or for a container
/// with subcommands called with at least one argument, the subcommand; then the
/// arity. `container_serves` says whether a container may take an unknown
/// subcommand itself (the router's containers with a handler of their own).
#[inline]
pub(crate) fn resolve<'t, V>(
    top: &'t NameTable<Node<V>>,
    cmd: &Command<'_>,
    container_serves: impl Fn(&Node<V>) -> bool,
) -> Resolved<'t, V> {
    let Some(node) = top.get(cmd.name()) else {
        return Resolved::Unknown;
    };
    let found = if node.subs.is_empty() || cmd.len() < 2 {
        node
    } else {
        match node.subs.get(&cmd[1]) {
            Some(sub) => sub,
            None if container_serves(node) && node.arity.accepts(cmd.len()) => node,
            None => return Resolved::Error(unknown_subcommand(&node.spec, &cmd[1])),
        }
    };
    if !found.arity.accepts(cmd.len()) {
        return Resolved::Error(reply::wrong_arity(found.spec.name()).into_bytes());
    }
    Resolved::Found(found)
}

/// `ERR unknown subcommand 'X'. Try NAME HELP.`
fn unknown_subcommand(container: &CommandSpec, sub: &[u8]) -> Vec<u8> {
    let mut msg = b"ERR unknown subcommand '".to_vec();
    msg.extend_from_slice(&sub[..sub.len().min(128)]);
    msg.extend_from_slice(b"'. Try ");
    msg.extend_from_slice(container.name().to_ascii_uppercase().as_bytes());
    msg.extend_from_slice(b" HELP.");
    msg
}

/// Every command of a server, described: what `COMMAND` answers from, and what
/// routing, key extraction and (later) access control read.
///
/// Cheap to clone: descriptions are shared.
///
/// ```
/// use redcon::commands::{CommandSpec, CommandTable, Flags};
///
/// let mut table = CommandTable::new();
/// table.insert(CommandSpec::new("get", 2).flags(Flags::READONLY | Flags::FAST).keys(1, 1, 1));
/// table.insert(CommandSpec::new("client|id", 2));
/// assert_eq!(table.len(), 2); // get, and the container client
/// assert_eq!(table.get("GET").map(|s| s.arity().redis_value()), Some(2));
/// assert!(table.get("client|id").is_some());
/// assert!(table.get("client|nosuch").is_none());
/// ```
#[derive(Clone, Default)]
pub struct CommandTable {
    nodes: NameTable<Node<()>>,
}

impl CommandTable {
    /// An empty table.
    ///
    /// ```
    /// assert!(redcon::commands::CommandTable::new().is_empty());
    /// ```
    pub fn new() -> CommandTable {
        CommandTable::default()
    }

    /// Adds (or replaces) a description. A subcommand (`container|sub`) goes under its
    /// container, which is created as Redis describes containers (arity -2, no flags,
    /// `@slow`) unless described already.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("config|get", -3));
    /// assert_eq!(t.get("config").unwrap().arity().redis_value(), -2);
    /// ```
    pub fn insert(&mut self, spec: CommandSpec) -> &mut CommandTable {
        insert_node(&mut self.nodes, spec, (), || ());
        self
    }

    /// The description called `name` (any case), `container|sub` for a subcommand.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("get", 2));
    /// assert!(t.get("Get").is_some() && t.get("set").is_none());
    /// ```
    pub fn get(&self, name: &str) -> Option<&CommandSpec> {
        self.get_bytes(name.as_bytes())
    }

    /// [`get`](Self::get) for a name given as bytes, as it arrives in a request.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("client|id", 2));
    /// assert!(t.get_bytes(b"CLIENT|ID").is_some());
    /// ```
    pub fn get_bytes(&self, name: &[u8]) -> Option<&CommandSpec> {
        match name.iter().position(|&b| b == b'|') {
            None => self.nodes.get(name).map(|n| &*n.spec),
            Some(bar) => {
                let parent = self.nodes.get(&name[..bar])?;
                parent.subs.get(&name[bar + 1..]).map(|n| &*n.spec)
            }
        }
    }

    /// The description a request runs under, as Redis's `lookupCommand`: the command,
    /// or the subcommand its first argument names when the command has subcommands;
    /// `None` for an unknown command or subcommand. Arity is not checked.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// use redcon::resp::{Parsed, Parser};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("client|id", 2));
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"client ID\r\n").unwrap() else { panic!() };
    /// assert_eq!(t.lookup(&command).unwrap().name(), "client|id");
    /// ```
    pub fn lookup(&self, cmd: &Command<'_>) -> Option<&CommandSpec> {
        let node = self.nodes.get(cmd.name())?;
        if node.subs.is_empty() || cmd.len() < 2 {
            return Some(&node.spec);
        }
        node.subs.get(&cmd[1]).map(|n| &*n.spec)
    }

    /// Resolves a request as Redis's `processCommand` does before running it.
    ///
    /// # Errors
    ///
    /// The error reply Redis would send (without the leading `-`): unknown command
    /// (`ERR unknown command 'x', with args beginning with: ...`), unknown subcommand
    /// (`ERR unknown subcommand 'x'. Try CLIENT HELP.`) or wrong number of arguments.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// use redcon::resp::{Parsed, Parser};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("get", 2));
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"GET\r\n").unwrap() else { panic!() };
    /// assert_eq!(
    ///     t.resolve(&command).unwrap_err(),
    ///     b"ERR wrong number of arguments for 'get' command".to_vec()
    /// );
    /// ```
    pub fn resolve(&self, cmd: &Command<'_>) -> Result<&CommandSpec, Vec<u8>> {
        match resolve(&self.nodes, cmd, |_| false) {
            Resolved::Found(node) => Ok(&node.spec),
            Resolved::Unknown => Err(reply::unknown_command(cmd)),
            Resolved::Error(msg) => Err(msg),
        }
    }

    /// The keys of a request for any command in the table, with their flags, checked
    /// as `COMMAND GETKEYSANDFLAGS` checks them.
    ///
    /// # Errors
    ///
    /// A [`KeysError`] naming Redis's reason, in Redis's order: unknown command, a
    /// command without keys, wrong arity, arguments that do not locate the keys.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable, KeysError};
    /// use redcon::resp::{Parsed, Parser};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("mget", -2).keys(1, -1, 1));
    /// t.insert(CommandSpec::new("ping", -1));
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"MGET a b\r\n").unwrap() else { panic!() };
    /// assert_eq!(t.key_refs(&command)?.len(), 2);
    /// let Parsed::Command { command, .. } = p.parse(b"PING\r\n").unwrap() else { panic!() };
    /// assert_eq!(t.key_refs(&command), Err(KeysError::NoKeys));
    /// # Ok::<(), KeysError>(())
    /// ```
    pub fn key_refs(&self, cmd: &Command<'_>) -> Result<Vec<KeyRef>, KeysError> {
        let spec = self.lookup(cmd).ok_or(KeysError::UnknownCommand)?;
        if !spec.has_keys() {
            return Err(KeysError::NoKeys);
        }
        if !spec.arity().accepts(cmd.len()) {
            return Err(KeysError::WrongArity);
        }
        spec.key_refs(cmd)
    }

    /// The keys of a request, borrowed from it, found from its command's description
    /// ([`CommandSpec::keys_of`]); none for an unknown command. No allocation when the
    /// keys are one plain range.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// use redcon::resp::{Parsed, Parser};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("del", -2).keys(1, -1, 1));
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"DEL a b\r\n").unwrap() else { panic!() };
    /// assert_eq!(t.keys(&command).collect::<Vec<_>>(), [b"a", b"b"]);
    /// ```
    pub fn keys<'a>(&self, cmd: &Command<'a>) -> Keys<'a> {
        match self.lookup(cmd) {
            Some(spec) => spec.keys_of(cmd),
            None => Keys::none(*cmd),
        }
    }

    /// How many top-level commands there are (`COMMAND COUNT`).
    ///
    /// ```
    /// assert_eq!(redcon::commands::CommandTable::new().len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the table is empty.
    ///
    /// ```
    /// assert!(redcon::commands::CommandTable::new().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every top-level command, sorted by name.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("set", -3)).insert(CommandSpec::new("get", 2));
    /// let names: Vec<_> = t.iter().map(|s| s.name()).collect();
    /// assert_eq!(names, ["get", "set"]);
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = &CommandSpec> {
        sorted(&self.nodes).into_iter().map(|n| &*n.spec)
    }

    /// Whether `name` (lowercase) is a container with subcommands: no allocation, for
    /// per-request callers.
    pub(crate) fn has_subcommands(&self, name: &[u8]) -> bool {
        self.nodes.get(name).is_some_and(|n| !n.subs.is_empty())
    }

    /// The subcommands of `name`, sorted by name (none for an unknown command).
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("client|id", 2));
    /// assert_eq!(t.subcommands("client").map(|s| s.name()).collect::<Vec<_>>(), ["client|id"]);
    /// ```
    pub fn subcommands(&self, name: &str) -> impl Iterator<Item = &CommandSpec> {
        self.nodes
            .get(name.as_bytes())
            .map(|n| sorted(&n.subs))
            .unwrap_or_default()
            .into_iter()
            .map(|n| &*n.spec)
    }

    /// Adds every description of `other` that this table lacks (commands and
    /// subcommands); what this table has already is kept.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut a = CommandTable::new();
    /// a.insert(CommandSpec::new("get", 2));
    /// let mut b = CommandTable::new();
    /// b.insert(CommandSpec::new("get", -2)).insert(CommandSpec::new("set", -3));
    /// a.merge_missing(&b);
    /// assert_eq!(a.get("get").unwrap().arity().redis_value(), 2);
    /// assert!(a.get("set").is_some());
    /// ```
    pub fn merge_missing(&mut self, other: &CommandTable) {
        for node in other.nodes.values() {
            let name = node.spec.name().to_string();
            let mine = self.nodes.get_or_insert_with(&name, || Node {
                spec: node.spec.clone(),
                arity: node.arity,
                value: (),
                subs: NameTable::default(),
            });
            for sub in node.subs.values() {
                let sub_name = sub.spec.container().map_or("", |(_, s)| s).to_string();
                if mine.subs.get(sub_name.as_bytes()).is_none() {
                    mine.subs.insert(&sub_name, sub.clone());
                }
            }
        }
    }
}

/// A table of these descriptions, each inserted in turn.
///
/// ```
/// use redcon::commands::{CommandSpec, CommandTable};
/// let t: CommandTable = [CommandSpec::new("get", 2), CommandSpec::new("client|id", 2)]
///     .into_iter()
///     .collect();
/// assert_eq!(t.len(), 2);
/// ```
impl FromIterator<CommandSpec> for CommandTable {
    fn from_iter<I: IntoIterator<Item = CommandSpec>>(specs: I) -> Self {
        let mut table = CommandTable::new();
        table.extend(specs);
        table
    }
}

/// Inserts each description in turn.
///
/// ```
/// use redcon::commands::{CommandSpec, CommandTable};
/// let mut t = CommandTable::new();
/// t.extend([CommandSpec::new("get", 2)]);
/// assert!(t.get("get").is_some());
/// ```
impl Extend<CommandSpec> for CommandTable {
    fn extend<I: IntoIterator<Item = CommandSpec>>(&mut self, specs: I) {
        for spec in specs {
            self.insert(spec);
        }
    }
}

/// The nodes of a name table sorted by name, for stable listings.
pub(crate) fn sorted<V>(nodes: &NameTable<Node<V>>) -> Vec<&Node<V>> {
    let mut v: Vec<_> = nodes.values().collect();
    v.sort_unstable_by(|a, b| a.spec.name().cmp(b.spec.name()));
    v
}

impl fmt::Debug for CommandTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(CommandSpec::name))
            .finish()
    }
}
