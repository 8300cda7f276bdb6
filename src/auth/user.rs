//! One ACL user as Redis 7 keeps it: on/off, SHA-256 passwords or `nopass`, and its
//! permissions — a root selector and any further selectors (`src/auth/selector.rs`);
//! the user modifiers of the rule language (`ACL SETUSER`, ACL file lines), the
//! description `ACL LIST` shows, and the check of a command against every selector.

pub(crate) use super::selector::{Denied, Selector, SYNTAX};
use crate::commands::{CommandSpec, CommandTable};
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

/// One user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct User {
    pub(crate) name: String,
    pub(crate) enabled: bool,
    pub(crate) nopass: bool,
    /// `sanitize-payload` / `skip-sanitize-payload` as last set (shown by `ACL LIST`).
    sanitize: Option<bool>,
    pub(crate) passwords: Vec<Hash>,
    /// The permissions given outside parentheses.
    pub(crate) root: Selector,
    /// Those given in parentheses, `(~temp:* +@all)`.
    pub(crate) selectors: Vec<Selector>,
}

const BAD_HASH: &str =
    "The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters";
const NO_SUCH_PASSWORD: &str = "The password you are trying to remove from the user does not exist";

/// Redis's error for a selector whose `(` is never closed (not wrapped in the
/// modifier error).
pub(crate) fn unmatched(op: &[u8]) -> String {
    format!(
        "Unmatched parenthesis in acl selector starting at '{}'.",
        String::from_utf8_lossy(op)
    )
}

/// Splits rules as Redis's ACL file parser does: on whitespace, with the words from one
/// starting with `(` to one ending with `)` joined back into one selector.
///
/// # Errors
/// [`unmatched`]'s text for a `(` never closed.
pub(crate) fn split_rules(text: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    let mut open: Option<Vec<u8>> = None;
    for word in text
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
    {
        match open.as_mut() {
            Some(sel) => {
                sel.push(b' ');
                sel.extend_from_slice(word);
            }
            None if word.starts_with(b"(") => open = Some(word.to_vec()),
            None => {
                out.push(word.to_vec());
                continue;
            }
        }
        if open.as_ref().is_some_and(|s| s.ends_with(b")")) {
            out.extend(open.take());
        }
    }
    match open {
        Some(sel) => Err(unmatched(&sel)),
        None => Ok(out),
    }
}

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
            root: Selector::default(),
            selectors: Vec::new(),
        }
    }

    /// Redis's `default` user: `on nopass ~* &* +@all`.
    pub(crate) fn default_user() -> User {
        let mut u = User::new("default");
        u.enabled = true;
        u.nopass = true;
        u.root = Selector::everything();
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
            b"sanitize-payload" => self.sanitize = Some(true),
            b"skip-sanitize-payload" => self.sanitize = Some(false),
            b"clearselectors" => self.selectors.clear(),
            b"reset" => {
                self.nopass = false;
                self.passwords.clear();
                self.enabled = false;
                self.root = Selector::default();
                self.selectors.clear();
                self.sanitize = Some(true);
            }
            _ => return self.apply_prefixed(op, table),
        }
        Ok(())
    }

    fn apply_prefixed(&mut self, op: &[u8], table: Option<&CommandTable>) -> Result<(), String> {
        let Some((&first, rest)) = op.split_first() else {
            return Err(SYNTAX.into());
        };
        match first {
            b'>' => self.add_password(sha256(rest)),
            b'#' => self.add_password(parse_hex(rest).ok_or(BAD_HASH)?),
            b'<' => return self.remove_password(&sha256(rest)),
            b'!' => return self.remove_password(&parse_hex(rest).ok_or(BAD_HASH)?),
            b'(' => {
                let Some(inner) = rest.strip_suffix(b")") else {
                    return Err(unmatched(op));
                };
                let mut selector = Selector::default();
                for word in inner
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty())
                {
                    if !selector.apply(word, table)? {
                        return Err(SYNTAX.into());
                    }
                }
                self.selectors.push(selector);
            }
            _ => {
                if !self.root.apply(op, table)? {
                    return Err(SYNTAX.into());
                }
            }
        }
        Ok(())
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

    /// The description `ACL LIST` shows after `user <name> `, patterns as given.
    pub(crate) fn describe(&self) -> Vec<u8> {
        let mut out: Vec<Vec<u8>> = self.flags().into_iter().map(String::into_bytes).collect();
        for p in &self.passwords {
            out.push(format!("#{}", hex(p)).into_bytes());
        }
        out.push(self.root.describe());
        for s in &self.selectors {
            out.push([&b"("[..], &s.describe(), b")"].concat());
        }
        out.join(&b' ')
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

    /// Whether this user may run `cmd`: if any selector allows it. Otherwise the
    /// refusal Redis reports (`ACLCheckAllUserCommandPerm`): a channel over a key over
    /// the command, and among equals the one at the later argument.
    pub(crate) fn check(
        &self,
        cmd: &Command<'_>,
        spec: Option<&CommandSpec>,
    ) -> Result<(), Denied> {
        let rank = |d: Denied| match d {
            Denied::Command => (1, 0),
            Denied::Key(i) => (2, i),
            Denied::Channel(i) => (4, i),
        };
        let mut worst = Denied::Command;
        for s in std::iter::once(&self.root).chain(&self.selectors) {
            match s.check(cmd, spec) {
                Ok(()) => return Ok(()),
                Err(d) if rank(d) > rank(worst) => worst = d,
                Err(_) => {}
            }
        }
        Err(worst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl User {
        fn text(&self) -> String {
            String::from_utf8(self.describe()).unwrap()
        }
    }

    fn user(rules: &str) -> User {
        let mut u = User::new("u");
        for r in split_rules(rules.as_bytes()).unwrap() {
            u.apply(&r, None).unwrap();
        }
        u
    }

    #[test]
    fn describe_like_redis() {
        assert_eq!(user("").text(), "off resetchannels -@all");
        assert_eq!(
            user("on nopass ~* &* +@all").text(),
            "on nopass ~* &* +@all"
        );
        assert_eq!(
            user("~a ~a %R~a &x &x").text(),
            "off ~a resetchannels &x -@all"
        );
        assert_eq!(
            user("reset").text(),
            "off sanitize-payload resetchannels -@all"
        );
        assert_eq!(
            user("+@hash +set -@all +get").root.commands_text(),
            "-@all +get"
        );
        assert_eq!(
            user("on (~k* +get) (%R~r* &c* +@read -get)").text(),
            "on resetchannels -@all (~k* resetchannels -@all +get) (%R~r* resetchannels &c* -@all +@read -get)"
        );
        assert_eq!(user("(~a +get) clearselectors").selectors.len(), 0);
        assert_eq!(user("on nopass >x").flags(), ["on"]);
        assert_eq!(user(">x nopass").passwords.len(), 0);
        assert_eq!(
            user(">secret").text(),
            "off #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b resetchannels -@all"
        );
    }

    #[test]
    fn refused_modifiers() {
        let mut u = User::new("u");
        assert_eq!(u.apply(b"bogus", None).unwrap_err(), SYNTAX);
        assert_eq!(
            u.apply(b"+@nocat", None).unwrap_err(),
            "Unknown command or category name in ACL"
        );
        assert_eq!(u.apply(b"%X~a", None).unwrap_err(), SYNTAX);
        assert_eq!(u.apply(b"#abc", None).unwrap_err(), BAD_HASH);
        assert_eq!(u.apply(b"<nope", None).unwrap_err(), NO_SUCH_PASSWORD);
        u.apply(b"allkeys", None).unwrap();
        assert!(u
            .apply(b"~a", None)
            .unwrap_err()
            .starts_with("Adding a pattern after"));
        assert_eq!(u.apply(b"(on)", None).unwrap_err(), SYNTAX);
        assert_eq!(User::new("v").apply(b"~a\0b", None).unwrap_err(), SYNTAX);
        assert_eq!(User::new("v").apply(b"&a\tb", None).unwrap_err(), SYNTAX);
        assert_eq!(
            split_rules(b"on (~a +get").unwrap_err(),
            "Unmatched parenthesis in acl selector starting at '(~a +get'."
        );
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
