//! One ACL user as Redis 7 keeps it: on/off, SHA-256 passwords or `nopass`, command
//! rules, key patterns with read/write flags and channel patterns; the rule language
//! (`ACL SETUSER` modifiers and ACL file lines) that changes it, the description `ACL
//! LIST` and `ACL GETUSER` show, and the permission checks made before a command runs.

use crate::commands::{AclCategories, CommandSpec, CommandTable, Flags, KeyFlags};
use crate::glob::glob_match;
use crate::resp::Command;
use sha2::{Digest, Sha256};

/// A SHA-256 digest, as Redis stores a password.
pub(crate) type Hash = [u8; 32];

/// The SHA-256 of a password.
pub(crate) fn sha256(password: &[u8]) -> Hash {
    Sha256::digest(password).into()
}

/// Lowercase hex of a digest, as `ACL LIST` shows it after `#`.
pub(crate) fn hex(hash: &Hash) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses the 64 lowercase hex digits of a `#` or `!` rule.
fn parse_hex(text: &[u8]) -> Option<Hash> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in text.chunks(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None,
        };
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

/// Compares two digests in time that does not depend on where they differ.
pub(crate) fn same_hash(a: &Hash, b: &Hash) -> bool {
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // Keep the compiler from turning the loop into an early exit.
    std::hint::black_box(diff) == 0
}

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

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) nopass: bool,
    /// `sanitize-payload` / `skip-sanitize-payload` as last set (shown by `ACL LIST`).
    sanitize: Option<bool>,
    pub(crate) passwords: Vec<Hash>,
    /// `+@all` (true) or `-@all` before the rules.
    all_commands: bool,
    rules: Vec<Rule>,
    all_keys: bool,
    keys: Vec<KeyPattern>,
    all_channels: bool,
    channels: Vec<Vec<u8>>,
}

/// The reason an `ACL SETUSER` modifier was refused, as Redis words it.
pub(crate) const SYNTAX: &str = "Syntax error";
const UNKNOWN: &str = "Unknown command or category name in ACL";
const BAD_HASH: &str =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
const NO_SUCH_PASSWORD: &str = "The password you are trying to remove from the user does not exist";
const KEY_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const CHANNEL_AFTER_ALL: &str = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const FIRSTARG_DENY: &str = "Allowing first-arg of a subcommand is not supported";

impl User {
    /// A new user as `ACL SETUSER name` makes it: off, no password, no commands, no
    /// keys, no channels.
    pub(crate) fn new(name: &str) -> User {
        User {
            name: name.to_string(),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            all_commands: false,
            rules: Vec::new(),
            all_keys: false,
            keys: Vec::new(),
            all_channels: false,
            channels: Vec::new(),
        }
    }

    /// Redis's `default` user: `on nopass ~* &* +@all`.
    pub(crate) fn default_user() -> User {
        let mut u = User::new("default");
        u.enabled = true;
        u.nopass = true;
        u.all_commands = true;
        u.all_keys = true;
        u.all_channels = true;
        u
    }

    /// Applies one modifier. `table` validates command names and subcommands (any name
    /// is accepted without one).
    ///
    /// # Errors
    /// Redis's reason text for a refused modifier.
    pub(crate) fn apply(&mut self, op: &[u8], table: Option<&CommandTable>) -> Result<(), String> {
        let lower = op.to_ascii_lowercase();
        match &lower[..] {
            b"on" => self.enabled = true,
            b"off" => self.enabled = false,
            b"nopass" => {
                self.nopass = true;
                self.passwords.clear();
            }
            b"resetpass" => {
                self.nopass = false;
                self.passwords.clear();
            }
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
            b"sanitize-payload" => self.sanitize = Some(true),
            b"skip-sanitize-payload" => self.sanitize = Some(false),
            b"clearselectors" => {}
            b"reset" => {
                for op in ["resetpass", "resetkeys", "resetchannels", "off", "-@all"] {
                    self.apply(op.as_bytes(), table)?;
                }
                self.sanitize = Some(true);
            }
            _ => return self.apply_prefixed(op, table),
        }
        Ok(())
    }

    fn apply_prefixed(&mut self, op: &[u8], table: Option<&CommandTable>) -> Result<(), String> {
        let (first, rest) = match op.split_first() {
            Some((f, r)) => (*f, r),
            None => return Err(SYNTAX.into()),
        };
        match first {
            b'>' => {
                self.add_password(sha256(rest));
                Ok(())
            }
            b'#' => {
                let hash = parse_hex(rest).ok_or(BAD_HASH)?;
                self.add_password(hash);
                Ok(())
            }
            b'<' => self.remove_password(&sha256(rest)),
            b'!' => {
                let hash = parse_hex(rest).ok_or(BAD_HASH)?;
                self.remove_password(&hash)
            }
            b'~' => self.add_key_pattern(rest, true, true),
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
                self.add_key_pattern(&rest[tilde + 1..], read, write)
            }
            b'&' => {
                if rest == b"*" {
                    self.all_channels = true;
                    self.channels.clear();
                    return Ok(());
                }
                if self.all_channels {
                    return Err(CHANNEL_AFTER_ALL.into());
                }
                if !self.channels.iter().any(|c| c == rest) {
                    self.channels.push(rest.to_vec());
                }
                Ok(())
            }
            b'+' | b'-' => self.add_command_rule(first == b'+', rest, table),
            _ => Err(SYNTAX.into()),
        }
    }

    fn set_all_commands(&mut self, on: bool) {
        self.all_commands = on;
        self.rules.clear();
    }

    fn add_password(&mut self, hash: Hash) {
        self.nopass = false;
        if !self.passwords.contains(&hash) {
            self.passwords.push(hash);
        }
    }

    fn remove_password(&mut self, hash: &Hash) -> Result<(), String> {
        let before = self.passwords.len();
        self.passwords.retain(|p| p != hash);
        if self.passwords.len() == before {
            return Err(NO_SUCH_PASSWORD.into());
        }
        self.nopass = false;
        Ok(())
    }

    fn add_key_pattern(&mut self, pattern: &[u8], read: bool, write: bool) -> Result<(), String> {
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
                    if t.subcommands(&cmd).next().is_some() {
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

    /// The description `ACL LIST` shows after `user <name> `.
    pub(crate) fn describe(&self) -> String {
        let mut out = Vec::new();
        out.extend(self.flags());
        for p in &self.passwords {
            out.push(format!("#{}", hex(p)));
        }
        let keys = self.keys_text();
        if !keys.is_empty() {
            out.push(keys);
        }
        if self.all_channels {
            out.push("&*".into());
        } else {
            out.push("resetchannels".into());
            let chans = self.channels_text();
            if !chans.is_empty() {
                out.push(chans);
            }
        }
        out.push(self.commands_text());
        out.join(" ")
    }

    /// The flags `ACL GETUSER` lists.
    pub(crate) fn flags(&self) -> Vec<String> {
        let mut f = vec![if self.enabled { "on" } else { "off" }.to_string()];
        if self.nopass {
            f.push("nopass".into());
        }
        match self.sanitize {
            Some(true) => f.push("sanitize-payload".into()),
            Some(false) => f.push("skip-sanitize-payload".into()),
            None => {}
        }
        f
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

    /// The key patterns, space-separated (`~*` for all keys).
    pub(crate) fn keys_text(&self) -> String {
        if self.all_keys {
            return "~*".into();
        }
        let parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| {
                let prefix = match (k.read, k.write) {
                    (true, true) => "~",
                    (true, false) => "%R~",
                    _ => "%W~",
                };
                format!("{prefix}{}", String::from_utf8_lossy(&k.pattern))
            })
            .collect();
        parts.join(" ")
    }

    /// The channel patterns, space-separated (`&*` for all channels).
    pub(crate) fn channels_text(&self) -> String {
        if self.all_channels {
            return "&*".into();
        }
        let parts: Vec<String> = self
            .channels
            .iter()
            .map(|c| format!("&{}", String::from_utf8_lossy(c)))
            .collect();
        parts.join(" ")
    }

    /// Whether `password` is one of this user's (or the user has `nopass`). Every
    /// stored digest is compared, in constant time each.
    pub(crate) fn check_password(&self, password: &[u8]) -> bool {
        if self.nopass {
            return true;
        }
        let given = sha256(password);
        let mut ok = false;
        for p in &self.passwords {
            ok |= same_hash(p, &given);
        }
        ok
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

#[cfg(test)]
mod tests {
    use super::*;

    fn user(rules: &str) -> User {
        let mut u = User::new("u");
        for r in rules.split_whitespace() {
            u.apply(r.as_bytes(), None).unwrap();
        }
        u
    }

    #[test]
    fn describe_like_redis() {
        assert_eq!(user("").describe(), "off resetchannels -@all");
        assert_eq!(
            user("on nopass ~* &* +@all").describe(),
            "on nopass ~* &* +@all"
        );
        assert_eq!(
            user("~a ~a %R~a &x &x").describe(),
            "off ~a resetchannels &x -@all"
        );
        assert_eq!(
            user("reset").describe(),
            "off sanitize-payload resetchannels -@all"
        );
        assert_eq!(user("+@hash +set -@all +get").commands_text(), "-@all +get");
        assert_eq!(user("on nopass >x").flags(), ["on"]);
        assert_eq!(user(">x nopass").passwords.len(), 0);
        assert_eq!(
            user(">secret").describe(),
            "off #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b resetchannels -@all"
        );
    }

    #[test]
    fn refused_modifiers() {
        let mut u = User::new("u");
        assert_eq!(u.apply(b"bogus", None).unwrap_err(), SYNTAX);
        assert_eq!(u.apply(b"+@nocat", None).unwrap_err(), UNKNOWN);
        assert_eq!(u.apply(b"%X~a", None).unwrap_err(), SYNTAX);
        assert_eq!(u.apply(b"#abc", None).unwrap_err(), BAD_HASH);
        assert_eq!(u.apply(b"<nope", None).unwrap_err(), NO_SUCH_PASSWORD);
        u.apply(b"allkeys", None).unwrap();
        assert_eq!(u.apply(b"~a", None).unwrap_err(), KEY_AFTER_ALL);
    }

    #[test]
    fn passwords_constant_time_compare() {
        let u = user(">one >two");
        assert!(u.check_password(b"one"));
        assert!(u.check_password(b"two"));
        assert!(!u.check_password(b"three"));
        assert!(user("nopass").check_password(b"anything"));
        assert!(!user("").check_password(b""));
    }
}
