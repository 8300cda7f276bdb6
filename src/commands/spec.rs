//! [`CommandSpec`]: everything known about one command — name, arity, flags, ACL
//! categories, key specifications, tips and documentation — built once, read on every
//! request. Redis keeps the same facts in `src/commands/*.json`; `COMMAND`, key
//! extraction, and (later) cluster routing and access control all derive from it.

use super::flags::{AclCategories, Flags, KeyFlags};
use super::keys::{self, KeyRef, KeySpec, Keys, KeysError, KeysFn};
use crate::resp::Command;
use std::fmt;
use std::sync::Arc;

/// How many arguments (the command name included) a command takes.
///
/// ```
/// use redcon::commands::Arity;
/// assert_eq!(Arity::from(2), Arity::Exactly(2));
/// assert_eq!(Arity::from(-3), Arity::AtLeast(3));
/// assert_eq!(Arity::AtLeast(3).redis_value(), -3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Exactly this many.
    Exactly(usize),
    /// This many or more.
    AtLeast(usize),
}

impl Arity {
    /// From Redis's convention: `n >= 0` means exactly `n`, `n < 0` at least `-n`.
    ///
    /// ```
    /// use redcon::commands::Arity;
    /// assert_eq!(Arity::redis(2), Arity::Exactly(2));
    /// assert_eq!(Arity::redis(-3), Arity::AtLeast(3));
    /// ```
    pub fn redis(n: i32) -> Arity {
        if n >= 0 {
            Arity::Exactly(n as usize)
        } else {
            Arity::AtLeast(n.unsigned_abs() as usize)
        }
    }

    /// Redis's number for this arity (`COMMAND INFO` element 2): `n` for exactly `n`,
    /// `-n` for at least `n`.
    ///
    /// ```
    /// use redcon::commands::Arity;
    /// assert_eq!(Arity::Exactly(2).redis_value(), 2);
    /// ```
    pub fn redis_value(self) -> i64 {
        match self {
            Arity::Exactly(n) => n as i64,
            Arity::AtLeast(n) => -(n as i64),
        }
    }

    /// Whether `argc` arguments satisfy this arity.
    ///
    /// ```
    /// use redcon::commands::Arity;
    /// assert!(Arity::AtLeast(2).accepts(5));
    /// assert!(!Arity::Exactly(2).accepts(3));
    /// ```
    pub fn accepts(self, argc: usize) -> bool {
        match self {
            Arity::Exactly(n) => argc == n,
            Arity::AtLeast(n) => argc >= n,
        }
    }
}

impl From<i32> for Arity {
    fn from(n: i32) -> Arity {
        Arity::redis(n)
    }
}

/// The description of one command (or subcommand, named `container|sub`).
///
/// A builder: only the name and arity are required, everything else has Redis's
/// defaults (no flags, no keys, `@slow`, group `generic`).
///
/// ```
/// use redcon::commands::{AclCategories, CommandSpec, Flags, KeyFlags, KeySpec};
///
/// // Described exactly as Redis 7 describes GET.
/// let get = CommandSpec::new("get", 2)
///     .flags(Flags::READONLY | Flags::FAST)
///     .acl(AclCategories::STRING)
///     .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RO | KeyFlags::ACCESS))
///     .summary("Get the value of a key")
///     .since("1.0.0")
///     .group("string")
///     .complexity("O(1)");
/// assert_eq!(get.first_last_step(), (1, 1, 1));
/// assert_eq!(
///     get.acl_categories().names().collect::<Vec<_>>(),
///     ["read", "string", "fast"]
/// );
///
/// // The legacy triple is enough for simple commands: MGET key [key ...].
/// let mget = CommandSpec::new("mget", -2).flags(Flags::READONLY).keys(1, -1, 1);
/// assert_eq!(mget.first_last_step(), (1, -1, 1));
/// ```
#[derive(Clone)]
pub struct CommandSpec {
    name: String,
    arity: Arity,
    flags: Flags,
    acl: AclCategories,
    tips: Vec<String>,
    key_specs: Vec<KeySpec>,
    keys_fn: Option<KeysFn>,
    docs: Docs,
    derived: Derived,
}

/// What the flags, key specifications and key function imply, worked out whenever one
/// of them changes: requests ask for it on every command (cluster routing, access
/// checks), and the key specifications are walked only here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Derived {
    /// The legacy (first, last, step) triple.
    triple: (i64, i64, i64),
    /// The flags with `movablekeys` where it is implied.
    command_flags: Flags,
    /// The specifications can be trusted for key positions *and* flags.
    specs_suffice: bool,
    /// The specifications can be trusted for key positions: they name a key, and none
    /// is incomplete (variable flags do not move keys).
    positions_suffice: bool,
}

impl Derived {
    fn of(flags: Flags, specs: &[KeySpec], has_keys_fn: bool) -> Derived {
        let (triple, movable) = keys::legacy_triple(specs);
        let fn_only = has_keys_fn && triple.0 == 0;
        let command_flags = if movable || fn_only {
            flags | Flags::MOVABLE_KEYS
        } else {
            flags
        };
        let has_key = specs.iter().any(|s| !s.flags.contains(KeyFlags::NOT_KEY));
        let any = |f: KeyFlags| specs.iter().any(|s| s.flags.contains(f));
        Derived {
            triple,
            command_flags,
            specs_suffice: has_key && !any(KeyFlags::VARIABLE_FLAGS),
            positions_suffice: has_key && !any(KeyFlags::INCOMPLETE),
        }
    }
}

/// The documentation `COMMAND DOCS` reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Docs {
    pub(crate) summary: Option<String>,
    pub(crate) since: Option<String>,
    pub(crate) group: Option<String>,
    pub(crate) complexity: Option<String>,
    /// The version that deprecated the command, and what replaces it.
    pub(crate) deprecated: Option<(String, String)>,
}

impl CommandSpec {
    /// A command named `name` (any case; `container|sub` for a subcommand) taking
    /// `arity` arguments, the name included: an [`Arity`] or Redis's number (`2`
    /// exactly two, `-2` at least two).
    ///
    /// ```
    /// use redcon::commands::{Arity, CommandSpec};
    /// let ping = CommandSpec::new("PING", -1);
    /// assert_eq!(ping.name(), "ping");
    /// let id = CommandSpec::new("client|id", Arity::Exactly(2));
    /// assert_eq!(id.name(), "client|id");
    /// ```
    pub fn new(name: &str, arity: impl Into<Arity>) -> CommandSpec {
        CommandSpec {
            name: name.to_ascii_lowercase(),
            arity: arity.into(),
            flags: Flags::empty(),
            acl: AclCategories::empty(),
            tips: Vec::new(),
            key_specs: Vec::new(),
            keys_fn: None,
            docs: Docs::default(),
            derived: Derived::of(Flags::empty(), &[], false),
        }
    }

    /// Works out [`Derived`] again after a change.
    fn derive(mut self) -> CommandSpec {
        self.derived = Derived::of(self.flags, &self.key_specs, self.keys_fn.is_some());
        self
    }

    /// Adds command flags.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, Flags};
    /// let spec = CommandSpec::new("set", -3).flags(Flags::WRITE | Flags::DENYOOM);
    /// assert!(spec.command_flags().contains(Flags::WRITE));
    /// ```
    pub fn flags(mut self, flags: Flags) -> CommandSpec {
        self.flags |= flags;
        self.derive()
    }

    /// Adds ACL categories. The ones implied by the flags (`@write`, `@read`,
    /// `@fast`/`@slow`, ...) are added by themselves; give the others (`@string`,
    /// `@keyspace`, `@connection`, ...).
    ///
    /// ```
    /// use redcon::commands::{AclCategories, CommandSpec};
    /// let spec = CommandSpec::new("ping", -1).acl(AclCategories::CONNECTION);
    /// assert_eq!(
    ///     spec.acl_categories().names().collect::<Vec<_>>(),
    ///     ["slow", "connection"]
    /// );
    /// ```
    pub fn acl(mut self, categories: AclCategories) -> CommandSpec {
        self.acl |= categories;
        self
    }

    /// Adds a command tip (`nondeterministic_output`, `request_policy:all_shards`, ...).
    ///
    /// ```
    /// use redcon::commands::CommandSpec;
    /// let spec = CommandSpec::new("keys", 2).tip("nondeterministic_output_order");
    /// assert_eq!(spec.tips().collect::<Vec<_>>(), ["nondeterministic_output_order"]);
    /// ```
    pub fn tip(mut self, tip: impl Into<String>) -> CommandSpec {
        self.tips.push(tip.into());
        self
    }

    /// Adds a key specification. The legacy first/last/step triple and the
    /// `movablekeys` flag are derived from all of them, as Redis derives them.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, KeyFlags, KeySpec};
    /// // RENAME key newkey
    /// let rename = CommandSpec::new("rename", 3)
    ///     .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::DELETE))
    ///     .key_spec(KeySpec::range(2, 0, 1).flags(KeyFlags::OW | KeyFlags::UPDATE));
    /// assert_eq!(rename.first_last_step(), (1, 2, 1));
    /// ```
    pub fn key_spec(mut self, spec: KeySpec) -> CommandSpec {
        self.key_specs.push(spec);
        self.derive()
    }

    /// Keys from the legacy triple: the first key's index, the last key's (negative
    /// counts from the end: -1 is the last argument) and the step. A shorthand for
    /// one [`KeySpec::range`] whose flags are `RO access` for a `readonly` command
    /// and the worst case, `RW access update`, for any other (as Redis assumes for
    /// keys it cannot see into). Call it after [`flags`](Self::flags).
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, Flags, KeyFlags};
    /// let del = CommandSpec::new("del", -2).flags(Flags::WRITE).keys(1, -1, 1);
    /// assert_eq!(del.first_last_step(), (1, -1, 1));
    /// assert_eq!(
    ///     del.key_specs()[0].key_flags(),
    ///     KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
    /// );
    /// ```
    pub fn keys(self, first: usize, last: i32, step: usize) -> CommandSpec {
        let lastkey = if last >= 0 { last - first as i32 } else { last };
        let flags = if self.flags.contains(Flags::READONLY) {
            KeyFlags::RO | KeyFlags::ACCESS
        } else {
            KeyFlags::RW | KeyFlags::ACCESS | KeyFlags::UPDATE
        };
        self.key_spec(KeySpec::range(first, lastkey, step).flags(flags))
    }

    /// A function that finds the keys of a request, for commands whose keys the key
    /// specifications cannot describe (or whose key flags depend on the arguments,
    /// with [`KeyFlags::VARIABLE_FLAGS`] on the specification). A command with such a
    /// function and no plain range of keys is `movablekeys`.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, KeyFlags, KeyRef};
    /// // MYCMD [key ...] SEP value: every argument before "SEP" is a key.
    /// let spec = CommandSpec::new("mycmd", -2).keys_fn(|cmd| {
    ///     let keys = cmd
    ///         .args()
    ///         .enumerate()
    ///         .skip(1)
    ///         .take_while(|(_, a)| !a.eq_ignore_ascii_case(b"SEP"))
    ///         .map(|(pos, _)| KeyRef { pos, flags: KeyFlags::RO })
    ///         .collect();
    ///     Some(keys)
    /// });
    /// assert!(spec.command_flags().contains(redcon::commands::Flags::MOVABLE_KEYS));
    /// ```
    pub fn keys_fn<F>(mut self, f: F) -> CommandSpec
    where
        F: Fn(&Command<'_>) -> Option<Vec<KeyRef>> + Send + Sync + 'static,
    {
        self.keys_fn = Some(Arc::new(f));
        self.derive()
    }

    /// The `summary` of `COMMAND DOCS`.
    ///
    /// ```
    /// let spec = redcon::commands::CommandSpec::new("get", 2).summary("Get the value of a key");
    /// # let _ = spec;
    /// ```
    pub fn summary(mut self, text: impl Into<String>) -> CommandSpec {
        self.docs.summary = Some(text.into());
        self
    }

    /// The `since` version of `COMMAND DOCS`.
    ///
    /// ```
    /// let spec = redcon::commands::CommandSpec::new("get", 2).since("1.0.0");
    /// # let _ = spec;
    /// ```
    pub fn since(mut self, version: impl Into<String>) -> CommandSpec {
        self.docs.since = Some(version.into());
        self
    }

    /// The `group` of `COMMAND DOCS` (`string`, `generic`, `connection`, ...).
    /// Default: `generic`.
    ///
    /// ```
    /// let spec = redcon::commands::CommandSpec::new("get", 2).group("string");
    /// assert_eq!(spec.doc_group(), "string");
    /// assert_eq!(redcon::commands::CommandSpec::new("x", 1).doc_group(), "generic");
    /// ```
    pub fn group(mut self, group: impl Into<String>) -> CommandSpec {
        self.docs.group = Some(group.into());
        self
    }

    /// The `complexity` of `COMMAND DOCS`.
    ///
    /// ```
    /// let spec = redcon::commands::CommandSpec::new("get", 2).complexity("O(1)");
    /// # let _ = spec;
    /// ```
    pub fn complexity(mut self, text: impl Into<String>) -> CommandSpec {
        self.docs.complexity = Some(text.into());
        self
    }

    /// Marks the command deprecated since `version`, replaced by `replaced_by`
    /// (`COMMAND DOCS`' `deprecated_since` and `replaced_by`, as Redis writes them).
    ///
    /// ```
    /// let spec = redcon::commands::CommandSpec::new("getset", 3)
    ///     .deprecated("6.2.0", "`SET` with the `!GET` argument");
    /// # let _ = spec;
    /// ```
    pub fn deprecated(
        mut self,
        version: impl Into<String>,
        replaced_by: impl Into<String>,
    ) -> CommandSpec {
        self.docs.deprecated = Some((version.into(), replaced_by.into()));
        self
    }

    /// The full lowercase name: `get`, or `client|id` for a subcommand.
    ///
    /// ```
    /// assert_eq!(redcon::commands::CommandSpec::new("GET", 2).name(), "get");
    /// ```
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container's name for a subcommand (`client` for `client|id`).
    pub(crate) fn container(&self) -> Option<(&str, &str)> {
        self.name.split_once('|')
    }

    /// The arity.
    ///
    /// ```
    /// use redcon::commands::{Arity, CommandSpec};
    /// assert_eq!(CommandSpec::new("get", 2).arity(), Arity::Exactly(2));
    /// ```
    pub fn arity(&self) -> Arity {
        self.arity
    }

    /// The flags, with `movablekeys` where the key specifications imply it.
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, Flags, KeySpec};
    /// let zunion = CommandSpec::new("zunion", -3).flags(Flags::READONLY).key_spec(KeySpec::keynum(1, 0, 1, 1));
    /// assert_eq!(zunion.command_flags(), Flags::READONLY | Flags::MOVABLE_KEYS);
    /// ```
    pub fn command_flags(&self) -> Flags {
        self.derived.command_flags
    }

    /// The ACL categories, with those the flags imply.
    ///
    /// ```
    /// use redcon::commands::{AclCategories, CommandSpec, Flags};
    /// let spec = CommandSpec::new("set", -3).flags(Flags::WRITE).acl(AclCategories::STRING);
    /// assert!(spec.acl_categories().contains(AclCategories::WRITE | AclCategories::SLOW));
    /// ```
    pub fn acl_categories(&self) -> AclCategories {
        self.acl.with_implied(self.flags)
    }

    /// The tips, in the order given.
    ///
    /// ```
    /// assert_eq!(redcon::commands::CommandSpec::new("x", 1).tips().count(), 0);
    /// ```
    pub fn tips(&self) -> impl Iterator<Item = &str> {
        self.tips.iter().map(String::as_str)
    }

    /// The key specifications, in the order given.
    ///
    /// ```
    /// assert!(redcon::commands::CommandSpec::new("ping", -1).key_specs().is_empty());
    /// ```
    pub fn key_specs(&self) -> &[KeySpec] {
        &self.key_specs
    }

    /// The legacy (first key, last key, step) triple of `COMMAND INFO`, derived from
    /// the key specifications; `(0, 0, 0)` for a command without keys.
    ///
    /// ```
    /// use redcon::commands::CommandSpec;
    /// assert_eq!(CommandSpec::new("mset", -3).keys(1, -1, 2).first_last_step(), (1, -1, 2));
    /// ```
    pub fn first_last_step(&self) -> (i64, i64, i64) {
        self.derived.triple
    }

    /// The `COMMAND DOCS` group (default `generic`).
    ///
    /// ```
    /// assert_eq!(redcon::commands::CommandSpec::new("x", 1).doc_group(), "generic");
    /// ```
    pub fn doc_group(&self) -> &str {
        self.docs.group.as_deref().unwrap_or("generic")
    }

    pub(crate) fn docs(&self) -> &Docs {
        &self.docs
    }

    /// Whether the command has keys at all (a key function, or a specification that
    /// is not `not_key`), as `COMMAND GETKEYS` decides.
    ///
    /// ```
    /// use redcon::commands::CommandSpec;
    /// assert!(CommandSpec::new("get", 2).keys(1, 1, 1).has_keys());
    /// assert!(!CommandSpec::new("ping", -1).has_keys());
    /// ```
    pub fn has_keys(&self) -> bool {
        self.keys_fn.is_some()
            || self
                .key_specs
                .iter()
                .any(|s| !s.flags.contains(KeyFlags::NOT_KEY))
    }

    /// The keys of `cmd` (a request for this command, arity already checked), in
    /// order, borrowed from it. No allocation when the keys are one plain range.
    /// Positions come from the key specifications unless one is incomplete (then from
    /// the key function); arguments that do not say where the keys are give no keys.
    ///
    /// ```
    /// use redcon::commands::CommandSpec;
    /// use redcon::resp::{Parsed, Parser};
    ///
    /// let mset = CommandSpec::new("mset", -3).keys(1, -1, 2);
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"MSET a 1 b 2\r\n").unwrap() else { panic!() };
    /// assert_eq!(mset.keys_of(&command).collect::<Vec<_>>(), [b"a", b"b"]);
    /// ```
    pub fn keys_of<'a>(&self, cmd: &Command<'a>) -> Keys<'a> {
        if self.derived.positions_suffice
            && let Some((first, last, step)) = keys::single_range(&self.key_specs, cmd.len())
        {
            return Keys::range(*cmd, first, last, step);
        }
        match self.key_refs(cmd) {
            Ok(refs) => Keys::list(*cmd, refs),
            Err(_) => Keys::none(*cmd),
        }
    }

    /// The keys cluster routing hashes: [`keys_of`](Self::keys_of), plus, for pub/sub
    /// commands, the channels their `not_key` specifications name (sharded pub/sub
    /// routes channels by slot).
    pub(crate) fn routing_keys<'a>(&self, cmd: &Command<'a>) -> Keys<'a> {
        if !self.flags.contains(Flags::PUBSUB) {
            return self.keys_of(cmd);
        }
        match keys::keys_from_specs(&self.key_specs, cmd, true) {
            Ok(refs) => Keys::list(*cmd, refs),
            Err(_) => Keys::none(*cmd),
        }
    }

    /// The keys of `cmd` with their flags, as Redis's `getKeysFromCommandWithSpecs`:
    /// from the key specifications when they suffice (none is incomplete or has
    /// variable flags), else from the key function.
    ///
    /// # Errors
    ///
    /// [`KeysError::InvalidArguments`] when the arguments do not say where the keys
    /// are (a key count that is not a number, or points past the end).
    ///
    /// ```
    /// use redcon::commands::{CommandSpec, KeyFlags, KeyRef, KeySpec};
    /// use redcon::resp::{Parsed, Parser};
    ///
    /// let rename = CommandSpec::new("rename", 3)
    ///     .key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RW | KeyFlags::DELETE))
    ///     .key_spec(KeySpec::range(2, 0, 1).flags(KeyFlags::OW));
    /// let mut p = Parser::new();
    /// let Parsed::Command { command, .. } = p.parse(b"RENAME a b\r\n").unwrap() else { panic!() };
    /// let refs = rename.key_refs(&command)?;
    /// assert_eq!(refs[1], KeyRef { pos: 2, flags: KeyFlags::OW });
    /// # Ok::<(), redcon::commands::KeysError>(())
    /// ```
    pub fn key_refs(&self, cmd: &Command<'_>) -> Result<Vec<KeyRef>, KeysError> {
        // An incomplete specification sends Redis to the key function when there is
        // one (MIGRATE's KEYS: the specifications would name the empty key argument).
        let incomplete = !self.derived.positions_suffice && self.keys_fn.is_some();
        if self.derived.specs_suffice
            && !incomplete
            && let Ok(refs) = keys::keys_from_specs(&self.key_specs, cmd, false)
        {
            return Ok(refs);
        }
        if let Some(f) = &self.keys_fn {
            return f(cmd).ok_or(KeysError::InvalidArguments);
        }
        if self.key_specs.is_empty() {
            return Ok(Vec::new());
        }
        keys::keys_from_specs(&self.key_specs, cmd, false)
    }
}

impl fmt::Debug for CommandSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommandSpec")
            .field("name", &self.name)
            .field("arity", &self.arity)
            .field("flags", &self.command_flags())
            .field("acl", &self.acl_categories())
            .field("first_last_step", &self.first_last_step())
            .field("key_specs", &self.key_specs)
            .field("keys_fn", &self.keys_fn.is_some())
            .finish_non_exhaustive()
    }
}
