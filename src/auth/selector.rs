//! The permissions part of an ACL user, which Redis 7 calls a selector: command rules
//! (`+@read`, `-flushall`, `+config|get`, `+select|0`), key patterns with read/write
//! flags (`~cache:*`, `%R~ro:*`) and channel patterns (`&news.*`); the modifiers that
//! change it, its description, and the check of one command against it. A user has a
//! root selector and may have more (`(~temp:* +@all)`): a command runs if any allows it.

use crate::commands::{AclCategories, CommandSpec, CommandTable, Flags, KeyFlags};
use crate::glob::glob_match;
use crate::resp::Command;

/// What a `+`/`-` command rule names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// `@category`.
    Category(AclCategories, String),
    /// A command, with all its subcommands.
    Command(String),
    /// `command|subcommand` of a command that has subcommands.
    Sub(String, String),
    /// `command|arg` of a command without subcommands: allowed when its first argument
    /// is `arg` (only `+` is accepted, as in Redis).
    FirstArg(String, Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    target: Target,
}

impl Rule {
    fn text(&self) -> String {
        let sign = if self.allow { '+' } else { '-' };
        match &self.target {
            Target::Category(_, name) => format!("{sign}@{name}"),
            Target::Command(c) => format!("{sign}{c}"),
            Target::Sub(c, s) => format!("{sign}{c}|{s}"),
            Target::FirstArg(c, a) => format!("{sign}{c}|{}", String::from_utf8_lossy(a)),
        }
    }
}

/// A key pattern and what it grants.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyPattern {
    pattern: Vec<u8>,
    read: bool,
    write: bool,
}

/// Why a command was refused, in the order Redis checks: the command itself, then its
/// keys, then its channels. Key and channel denials name the argument's index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Denied {
    Command,
    Key(usize),
    Channel(usize),
}

/// The reason an `ACL SETUSER` modifier was refused, as Redis words it.
pub(crate) const SYNTAX: &str = "Syntax error";
const UNKNOWN: &str = "Unknown command or category name in ACL";
const KEY_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const CHANNEL_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const FIRSTARG_DENY: &str = "Allowing first-arg of a subcommand is not supported";

/// Whether a pattern holds what Redis refuses in one (`ACLStringHasSpaces`): a space
/// character (`isspace`) or NUL. Such a pattern could not be written to an ACL file.
fn has_spaces(pattern: &[u8]) -> bool {
    pattern
        .iter()
        .any(|&b| b == 0 || b == b' ' || (b'\t'..=b'\r').contains(&b))
}

/// One selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Selector {
    /// `+@all` (true) or `-@all` before the rules.
    all_commands: bool,
    rules: Vec<Rule>,
    all_keys: bool,
    keys: Vec<KeyPattern>,
    all_channels: bool,
    channels: Vec<Vec<u8>>,
}

impl Selector {
    /// Everything allowed: the `default` user's `~* &* +@all`.
    pub(crate) fn everything() -> Selector {
        Selector {
            all_commands: true,
            rules: Vec::new(),
            all_keys: true,
            keys: Vec::new(),
            all_channels: true,
            channels: Vec::new(),
        }
    }

    /// Applies one selector modifier; `Ok(false)` if `op` is not one (a user
    /// modifier, or nothing at all).
    ///
    /// # Errors
    /// Redis's reason text for a refused modifier.
    pub(crate) fn apply(
        &mut self,
        op: &[u8],
        table: Option<&CommandTable>,
    ) -> Result<bool, String> {
        let lower = op.to_ascii_lowercase();
        match &lower[..] {
            b"allkeys" => {
                self.all_keys = true;
                self.keys.clear();
            }
            b"resetkeys" => {
                self.all_keys = false;
                self.keys.clear();
            }
            b"allchannels" => {
                self.all_channels = true;
                self.channels.clear();
            }
            b"resetchannels" => {
                self.all_channels = false;
                self.channels.clear();
            }
            b"allcommands" => self.set_all_commands(true),
            b"nocommands" => self.set_all_commands(false),
            _ => {
                let Some((&first, rest)) = op.split_first() else {
                    return Ok(false);
                };
                match first {
                    b'~' => self.add_key_pattern(rest, true, true)?,
                    b'%' => {
                        let tilde = rest.iter().position(|&b| b == b'~').ok_or(SYNTAX)?;
                        let (mut read, mut write) = (false, false);
                        for &f in &rest[..tilde] {
                            match f.to_ascii_uppercase() {
                                b'R' => read = true,
                                b'W' => write = true,
                                _ => return Err(SYNTAX.into()),
                            }
                        }
                        if !read && !write {
                            return Err(SYNTAX.into());
                        }
                        self.add_key_pattern(&rest[tilde + 1..], read, write)?;
                    }
                    b'&' => self.add_channel(rest)?,
                    b'+' | b'-' => self.add_command_rule(first == b'+', rest, table)?,
                    _ => return Ok(false),
                }
            }
        }
        Ok(true)
    }

    fn add_channel(&mut self, pattern: &[u8]) -> Result<(), String> {
        if has_spaces(pattern) {
            return Err(SYNTAX.into());
        }
        if pattern == b"*" {
            self.all_channels = true;
            self.channels.clear();
            return Ok(());
        }
        if self.all_channels {
            return Err(CHANNEL_AFTER_ALL.into());
        }
        if !self.channels.iter().any(|c| c == pattern) {
            self.channels.push(pattern.to_vec());
        }
        Ok(())
    }

    fn set_all_commands(&mut self, on: bool) {
        self.all_commands = on;
        self.rules.clear();
    }

    fn add_key_pattern(&mut self, pattern: &[u8], read: bool, write: bool) -> Result<(), String> {
        if has_spaces(pattern) {
            return Err(SYNTAX.into());
        }
        if pattern == b"*" && read && write {
            self.all_keys = true;
            self.keys.clear();
            return Ok(());
        }
        if self.all_keys {
            // `*` with fewer permissions adds nothing to all keys; anything else is
            // refused.
            return if pattern == b"*" {
                Ok(())
            } else {
                Err(KEY_AFTER_ALL.into())
            };
        }
        match self.keys.iter_mut().find(|k| k.pattern == pattern) {
            Some(k) => {
                k.read |= read;
                k.write |= write;
            }
            None => self.keys.push(KeyPattern {
                pattern: pattern.to_vec(),
                read,
                write,
            }),
        }
        Ok(())
    }

    fn add_command_rule(
        &mut self,
        allow: bool,
        name: &[u8],
        table: Option<&CommandTable>,
    ) -> Result<(), String> {
        let name = std::str::from_utf8(name).map_err(|_| UNKNOWN)?;
        let target = if let Some(cat) = name.strip_prefix('@') {
            if cat.eq_ignore_ascii_case("all") {
                self.set_all_commands(allow);
                return Ok(());
            }
            let set = AclCategories::from_name(cat).ok_or(UNKNOWN)?;
            Target::Category(set, cat.to_ascii_lowercase())
        } else if let Some((cmd, sub)) = name.split_once('|') {
            let cmd = cmd.to_ascii_lowercase();
            match table {
                Some(t) => {
                    t.get(&cmd).ok_or(UNKNOWN)?;
                    if t.has_subcommands(cmd.as_bytes()) {
                        let full = format!("{cmd}|{}", sub.to_ascii_lowercase());
                        t.get(&full).ok_or(UNKNOWN)?;
                        Target::Sub(cmd, sub.to_ascii_lowercase())
                    } else if !allow {
                        return Err(UNKNOWN.into());
                    } else if sub.is_empty() || sub.contains('|') {
                        return Err(SYNTAX.into());
                    } else {
                        Target::FirstArg(cmd, sub.as_bytes().to_vec())
                    }
                }
                None if sub.is_empty() => return Err(SYNTAX.into()),
                None => Target::Sub(cmd, sub.to_ascii_lowercase()),
            }
        } else {
            let cmd = name.to_ascii_lowercase();
            if let Some(t) = table {
                t.get(&cmd).ok_or(UNKNOWN)?;
            }
            Target::Command(cmd)
        };
        if let Target::FirstArg(..) = target
            && !allow
        {
            return Err(FIRSTARG_DENY.into());
        }
        // A rule for the same command or subcommand replaces the earlier one, as the
        // later rule decides anyway; categories are kept in order.
        // A rule for a whole command also replaces those for its subcommands.
        match &target {
            Target::Category(..) => {}
            Target::Command(c) => self.rules.retain(|r| match &r.target {
                Target::Command(x) | Target::Sub(x, _) | Target::FirstArg(x, _) => x != c,
                Target::Category(..) => true,
            }),
            _ => self.rules.retain(|r| r.target != target),
        }
        self.rules.push(Rule { allow, target });
        Ok(())
    }

    /// The description `ACL LIST` shows: key patterns, channels, command rules.
    pub(crate) fn describe(&self) -> Vec<u8> {
        let mut out: Vec<Vec<u8>> = Vec::new();
        let keys = self.keys_text();
        if !keys.is_empty() {
            out.push(keys);
        }
        if self.all_channels {
            out.push(b"&*".to_vec());
        } else {
            out.push(b"resetchannels".to_vec());
            let chans = self.channels_text();
            if !chans.is_empty() {
                out.push(chans);
            }
        }
        out.push(self.commands_text().into_bytes());
        out.join(&b' ')
    }

    /// The command rules, starting with `+@all` or `-@all`.
    pub(crate) fn commands_text(&self) -> String {
        let mut out = String::from(if self.all_commands { "+@all" } else { "-@all" });
        for r in &self.rules {
            out.push(' ');
            out.push_str(&r.text());
        }
        out
    }

    /// The key patterns, space-separated (`~*` for all keys), their bytes as given.
    pub(crate) fn keys_text(&self) -> Vec<u8> {
        if self.all_keys {
            return b"~*".to_vec();
        }
        let parts: Vec<Vec<u8>> = self
            .keys
            .iter()
            .map(|k| {
                let prefix: &[u8] = match (k.read, k.write) {
                    (true, true) => b"~",
                    (true, false) => b"%R~",
                    _ => b"%W~",
                };
                [prefix, &k.pattern].concat()
            })
            .collect();
        parts.join(&b' ')
    }

    /// The channel patterns, space-separated (`&*` for all channels), their bytes as
    /// given.
    pub(crate) fn channels_text(&self) -> Vec<u8> {
        if self.all_channels {
            return b"&*".to_vec();
        }
        let parts: Vec<Vec<u8>> = self
            .channels
            .iter()
            .map(|c| [b"&", &c[..]].concat())
            .collect();
        parts.join(&b' ')
    }

    /// Whether this user may run `cmd` (described by `spec`, when the server's table
    /// has it), as Redis's `ACLSelectorCheckCmd`: the command, then the keys, then the
    /// channels.
    pub(crate) fn check(
        &self,
        cmd: &Command<'_>,
        spec: Option<&CommandSpec>,
    ) -> Result<(), Denied> {
        if !self.command_allowed(cmd, spec) {
            return Err(Denied::Command);
        }
        if !self.all_keys
            && let Some(spec) = spec
            && spec.has_keys()
            && let Ok(refs) = spec.key_refs(cmd)
        {
            for r in refs {
                if !self.key_allowed(&cmd[r.pos], r.flags) {
                    return Err(Denied::Key(r.pos));
                }
            }
        }
        if !self.all_channels {
            self.channels_allowed(cmd)?;
        }
        Ok(())
    }

    fn command_allowed(&self, cmd: &Command<'_>, spec: Option<&CommandSpec>) -> bool {
        // Commands a client may run before authenticating need no permission either
        // (Redis's `ACLSelectorCheckCmd`).
        let no_auth = match spec {
            Some(s) => s.command_flags().contains(Flags::NO_AUTH),
            None => ["auth", "hello", "quit", "reset"].iter().any(|n| cmd.is(n)),
        };
        if self.all_commands && self.rules.is_empty() || no_auth {
            return true;
        }
        let lowered;
        let full = match spec {
            Some(s) => s.name(),
            None => {
                lowered = String::from_utf8_lossy(cmd.name()).to_ascii_lowercase();
                &lowered
            }
        };
        let (parent, sub) = match full.split_once('|') {
            Some((p, s)) => (p, Some(s)),
            None => (full, None),
        };
        let categories = spec.map(|s| s.acl_categories()).unwrap_or_default();
        let mut allowed = self.all_commands;
        for r in &self.rules {
            let applies = match &r.target {
                Target::Category(c, _) => categories.contains(*c),
                Target::Command(c) => c == parent,
                Target::Sub(c, s) => c == parent && sub == Some(s.as_str()),
                Target::FirstArg(c, a) => {
                    c == parent && cmd.get(1).is_some_and(|arg| arg.eq_ignore_ascii_case(a))
                }
            };
            if applies {
                allowed = r.allow;
            }
        }
        allowed
    }

    fn key_allowed(&self, key: &[u8], flags: KeyFlags) -> bool {
        let read = flags.contains(KeyFlags::ACCESS);
        let write = flags.intersects(KeyFlags::INSERT | KeyFlags::DELETE | KeyFlags::UPDATE);
        self.keys
            .iter()
            .any(|k| (!read || k.read) && (!write || k.write) && glob_match(&k.pattern, key))
    }

    fn channels_allowed(&self, cmd: &Command<'_>) -> Result<(), Denied> {
        let name = cmd.name();
        let (first, last, pattern) =
            if name.eq_ignore_ascii_case(b"publish") || name.eq_ignore_ascii_case(b"spublish") {
                (1, 2, false)
            } else if name.eq_ignore_ascii_case(b"subscribe")
                || name.eq_ignore_ascii_case(b"ssubscribe")
            {
                (1, cmd.len(), false)
            } else if name.eq_ignore_ascii_case(b"psubscribe") {
                (1, cmd.len(), true)
            } else {
                return Ok(());
            };
        for i in first..last.min(cmd.len()) {
            let ch = &cmd[i];
            let ok = if pattern {
                // A pattern subscription must be one of the user's patterns, literally.
                self.channels.iter().any(|c| c == ch)
            } else {
                self.channels.iter().any(|c| glob_match(c, ch))
            };
            if !ok {
                return Err(Denied::Channel(i));
            }
        }
        Ok(())
    }
}
