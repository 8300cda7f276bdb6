//! [`Acl`], the built-in [`Authenticator`]: Redis's ACL users kept in memory, shared by
//! every connection of a server, loaded from and saved to Redis's ACL file format, with
//! the bounded `ACL LOG` of refusals.

use super::user::User;
use super::{Authenticator, Denial, Refusal};
use crate::commands::{CommandSpec, CommandTable};
use crate::io::Socket;
use crate::resp::Command;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard, Weak,
};
use std::time::Instant;

/// Entries `ACL LOG` keeps (Redis's `acllog-max-len` default).
const LOG_MAX: usize = 128;
/// Refusals alike within this long are counted in one entry, as Redis groups them.
const LOG_GROUP_MS: u128 = 60_000;

/// Why a rule, a user or an ACL file was refused.
///
/// ```
/// let acl = redcon::auth::Acl::new();
/// let err = acl.set_user("alice", "on bogus").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "Error in ACL SETUSER modifier 'bogus': Syntax error"
/// );
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum AclError {
    /// A modifier was refused: the modifier and Redis's reason.
    Rule {
        /// The modifier as given.
        op: String,
        /// Redis's reason text.
        reason: String,
    },
    /// An ACL file line was refused: the file, its 1-based line number, and why.
    File {
        /// The file.
        path: PathBuf,
        /// The line number.
        line: usize,
        /// What follows `path:line` in Redis's message (`": Syntax error"`).
        reason: String,
    },
    /// The ACL file could not be read or written.
    Io(std::io::Error),
    /// `ACL LOAD` / `ACL SAVE` without an ACL file.
    NoFile,
    /// A selector's `(` was never closed: Redis's whole message.
    Selector(String),
}

impl fmt::Display for AclError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AclError::Rule { op, reason } => {
                write!(f, "Error in ACL SETUSER modifier '{op}': {reason}")
            }
            AclError::File { path, line, reason } => {
                write!(f, "{}:{line}{reason}", path.display())
            }
            AclError::Io(e) => write!(f, "{e}"),
            AclError::Selector(msg) => f.write_str(msg),
            AclError::NoFile => f.write_str(
                "This Redis instance is not configured to use an ACL file. You may want to \
                 specify users via the ACL SETUSER command and then issue a CONFIG REWRITE \
                 (assuming you have a Redis configuration file set) in order to store users \
                 in the Redis configuration.",
            ),
        }
    }
}

impl std::error::Error for AclError {}

/// One `ACL LOG` entry.
pub(crate) struct LogEntry {
    pub(crate) count: u64,
    pub(crate) refusal: Refusal,
    /// The latest refusal counted in it (Redis's `age-seconds` counts from here).
    pub(crate) updated: Instant,
}

struct Inner {
    users: RwLock<BTreeMap<String, Arc<User>>>,
    /// The `default` user has a password or is off (read before every command of a
    /// connection that has not authenticated, so kept outside the lock).
    auth_required: AtomicBool,
    default_nopass: AtomicBool,
    log: Mutex<VecDeque<LogEntry>>,
    file: Mutex<Option<PathBuf>>,
    commands: OnceLock<Arc<CommandTable>>,
    /// The sockets of the connections logged in as each user (other than by being
    /// `default` from the start), to disconnect them when the user goes away.
    sessions: Mutex<HashMap<String, Vec<Weak<Socket>>>>,
}

/// Redis's ACL: named users, each on or off, with SHA-256 passwords (or `nopass`),
/// command rules (`+@read`, `-flushall`, `+config|get`), key patterns (`~cache:*`,
/// `%R~ro:*`) and channel patterns (`&news.*`). Cloning shares the same users.
///
/// Start one with [`Acl::new`] (only the `default` user, with no password, as Redis
/// starts), then add users from code ([`set_user`](Self::set_user)) or an ACL file
/// ([`load_file`](Self::load_file)), and give it to
/// [`Server::acl`](crate::Server::acl). The server then also answers the `ACL`
/// command.
///
/// ```
/// use redcon::auth::Acl;
/// let acl = Acl::new();
/// acl.set_user("default", "on >admin-secret")?;
/// acl.set_user("app", "on >app-secret ~app:* &app.* +@all -@dangerous")?;
/// assert_eq!(acl.users(), ["app", "default"]);
/// assert!(acl.list()[0].starts_with("user app on #"));
/// # Ok::<(), redcon::auth::AclError>(())
/// ```
#[derive(Clone)]
pub struct Acl {
    inner: Arc<Inner>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl::new()
    }
}

impl fmt::Debug for Acl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acl")
            .field("users", &self.users())
            .finish_non_exhaustive()
    }
}

fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Acl {
    /// An ACL with only Redis's `default` user: `on nopass ~* &* +@all`.
    ///
    /// ```
    /// let acl = redcon::auth::Acl::new();
    /// assert_eq!(acl.list(), ["user default on nopass ~* &* +@all"]);
    /// ```
    pub fn new() -> Acl {
        let mut users = BTreeMap::new();
        users.insert("default".to_string(), Arc::new(User::default_user()));
        let acl = Acl {
            inner: Arc::new(Inner {
                users: RwLock::new(users),
                auth_required: AtomicBool::new(false),
                default_nopass: AtomicBool::new(true),
                log: Mutex::new(VecDeque::new()),
                file: Mutex::new(None),
                commands: OnceLock::new(),
                sessions: Mutex::new(HashMap::new()),
            }),
        };
        acl.refresh_default();
        acl
    }

    /// An ACL whose `default` user has `password`, as Redis's `requirepass`.
    ///
    /// ```
    /// use redcon::auth::{Acl, Authenticator};
    /// let acl = Acl::with_requirepass("s3cret");
    /// assert!(acl.auth_required());
    /// assert!(acl.authenticate("default", b"s3cret"));
    /// ```
    pub fn with_requirepass(password: &str) -> Acl {
        let acl = Acl::new();
        acl.set_requirepass(password);
        acl
    }

    /// Makes `password` the `default` user's only password (Redis's `CONFIG SET
    /// requirepass`); the password may hold any byte, spaces included.
    ///
    /// ```
    /// use redcon::auth::{Acl, Authenticator};
    /// let acl = Acl::new();
    /// acl.set_requirepass("two words");
    /// assert!(acl.authenticate("default", b"two words"));
    /// ```
    pub fn set_requirepass(&self, password: &str) {
        let mut pw = b">".to_vec();
        pw.extend_from_slice(password.as_bytes());
        // Neither modifier can be refused.
        let _ = self.set_user_ops("default", &[b"resetpass", &pw]);
    }

    /// Validates command names in rules against `table` (Redis refuses `+nosuchcmd`).
    /// The server gives its handler's table to an ACL that has none when it starts.
    ///
    /// ```
    /// use redcon::auth::Acl;
    /// use redcon::commands::{CommandSpec, CommandTable};
    /// let mut t = CommandTable::new();
    /// t.insert(CommandSpec::new("get", 2));
    /// let acl = Acl::new().with_commands(std::sync::Arc::new(t));
    /// assert!(acl.set_user("u", "+get +acl|whoami").is_ok());
    /// assert!(acl.set_user("u", "+nosuchcmd").is_err());
    /// ```
    pub fn with_commands(self, table: Arc<CommandTable>) -> Acl {
        // The commands the server answers itself with an ACL are valid in rules too.
        let mut table = (*table).clone();
        table.merge_missing(&super::command_specs(true).into_iter().collect());
        let _ = self.inner.commands.set(Arc::new(table));
        self
    }

    /// Takes the server's table if none was given.
    pub(crate) fn learn_commands(&self, table: &Arc<CommandTable>) {
        if self.inner.commands.get().is_none() {
            let _ = self.inner.commands.set(table.clone());
        }
    }

    pub(crate) fn commands(&self) -> Option<&CommandTable> {
        self.inner.commands.get().map(|t| &**t)
    }

    /// Creates `name` (off, no password, no permissions) if it does not exist, then
    /// applies `rules` (whitespace-separated `ACL SETUSER` modifiers) — all or none.
    ///
    /// # Errors
    /// [`AclError::Rule`] for the first refused modifier; the user is left as it was.
    ///
    /// ```
    /// let acl = redcon::auth::Acl::new();
    /// acl.set_user("ro", "on nopass %R~* +@read")?;
    /// assert_eq!(acl.list()[1], "user ro on nopass %R~* resetchannels -@all +@read");
    /// # Ok::<(), redcon::auth::AclError>(())
    /// ```
    pub fn set_user(&self, name: &str, rules: &str) -> Result<(), AclError> {
        let ops = super::user::split_rules(rules.as_bytes()).map_err(AclError::Selector)?;
        let ops: Vec<&[u8]> = ops.iter().map(Vec::as_slice).collect();
        self.set_user_ops(name, &ops)
    }

    pub(crate) fn set_user_ops(&self, name: &str, ops: &[&[u8]]) -> Result<(), AclError> {
        let table = self.commands();
        let mut users = write(&self.inner.users);
        let mut user = match users.get(name) {
            Some(u) => (**u).clone(),
            None => User::new(name),
        };
        for op in ops {
            if op.starts_with(b"(") && !op.ends_with(b")") {
                return Err(AclError::Selector(super::user::unmatched(op)));
            }
            user.apply(op, table).map_err(|reason| AclError::Rule {
                // Redis prints the modifier as a C string: up to a NUL.
                op: String::from_utf8_lossy(op.split(|&b| b == 0).next().unwrap_or_default())
                    .into_owned(),
                reason,
            })?;
        }
        users.insert(name.to_string(), Arc::new(user));
        drop(users);
        self.refresh_default();
        Ok(())
    }

    /// Removes users; returns how many existed. The `default` user cannot be removed
    /// (it is skipped). Connections logged in as a removed user are closed.
    ///
    /// ```
    /// let acl = redcon::auth::Acl::new();
    /// acl.set_user("tmp", "on nopass")?;
    /// assert_eq!(acl.delete_users(&["tmp", "nobody"]), 1);
    /// # Ok::<(), redcon::auth::AclError>(())
    /// ```
    pub fn delete_users(&self, names: &[&str]) -> usize {
        let mut users = write(&self.inner.users);
        let removed: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| *n != "default" && users.remove(*n).is_some())
            .collect();
        drop(users);
        for name in &removed {
            self.disconnect(name);
        }
        removed.len()
    }

    /// Remembers a connection logged in as `user`.
    pub(crate) fn track(&self, user: &str, socket: Weak<Socket>) {
        let mut sessions = lock(&self.inner.sessions);
        let list = sessions.entry(user.to_string()).or_default();
        list.retain(|s| s.strong_count() > 0);
        list.push(socket);
    }

    /// Forgets one connection of `user`.
    pub(crate) fn untrack(&self, user: &str, socket: &Weak<Socket>) {
        if let Some(list) = lock(&self.inner.sessions).get_mut(user) {
            list.retain(|s| !s.ptr_eq(socket) && s.strong_count() > 0);
        }
    }

    /// Disconnects every connection logged in as `user`: their reading side is shut,
    /// so each ends once its replies so far are written (a connection deleting its own
    /// user still gets the reply).
    fn disconnect(&self, user: &str) {
        let sockets = lock(&self.inner.sessions).remove(user).unwrap_or_default();
        for s in sockets.iter().filter_map(Weak::upgrade) {
            s.shutdown(Shutdown::Read);
        }
    }

    /// The users' names, sorted.
    ///
    /// ```
    /// assert_eq!(redcon::auth::Acl::new().users(), ["default"]);
    /// ```
    pub fn users(&self) -> Vec<String> {
        read(&self.inner.users).keys().cloned().collect()
    }

    /// Every user as `ACL LIST` and the ACL file show it: `user <name> <rules>` (a
    /// pattern that is not UTF-8 shown with replacement characters; `ACL LIST` and
    /// `ACL SAVE` write its bytes as given).
    ///
    /// ```
    /// let acl = redcon::auth::Acl::with_requirepass("secret");
    /// assert_eq!(
    ///     acl.list(),
    ///     ["user default on #2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b ~* &* +@all"]
    /// );
    /// ```
    pub fn list(&self) -> Vec<String> {
        self.list_bytes()
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }

    /// [`list`](Self::list) with every byte as given.
    pub(crate) fn list_bytes(&self) -> Vec<Vec<u8>> {
        read(&self.inner.users)
            .values()
            .map(|u| [format!("user {} ", u.name).as_bytes(), &u.describe()].concat())
            .collect()
    }

    pub(crate) fn user(&self, name: &str) -> Option<Arc<User>> {
        read(&self.inner.users).get(name).cloned()
    }

    /// Replaces every user with those of an ACL file in Redis's format (one `user
    /// <name> <rules...>` per line; blank lines skipped), and remembers the file for
    /// `ACL LOAD` and `ACL SAVE`. A file without a `default` user gets Redis's
    /// default one. All or nothing.
    ///
    /// # Errors
    /// [`AclError::Io`] if the file cannot be read; [`AclError::File`] naming the first
    /// bad line (the users are then left as they were).
    ///
    /// ```
    /// let path = std::env::temp_dir().join(format!("redcon-doc-{}.acl", std::process::id()));
    /// std::fs::write(&path, "user default on >pw ~* &* +@all\nuser ro on nopass %R~* +@read\n")?;
    /// let acl = redcon::auth::Acl::new();
    /// acl.load_file(&path)?;
    /// assert_eq!(acl.users(), ["default", "ro"]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn load_file(&self, path: impl AsRef<Path>) -> Result<(), AclError> {
        let path = path.as_ref().to_path_buf();
        *lock(&self.inner.file) = Some(path.clone());
        self.reload()
    }

    /// Loads the remembered ACL file again (`ACL LOAD`).
    pub(crate) fn reload(&self) -> Result<(), AclError> {
        let Some(path) = lock(&self.inner.file).clone() else {
            return Err(AclError::NoFile);
        };
        let text = std::fs::read(&path).map_err(AclError::Io)?;
        let users = parse_file(&text, &path, self.commands())?;
        let gone: Vec<String> = read(&self.inner.users)
            .keys()
            .filter(|n| !users.contains_key(*n))
            .cloned()
            .collect();
        *write(&self.inner.users) = users;
        self.refresh_default();
        for name in &gone {
            self.disconnect(name);
        }
        Ok(())
    }

    /// Writes every user to the remembered ACL file (`ACL SAVE`), replacing it
    /// atomically.
    ///
    /// # Errors
    /// [`AclError::NoFile`] if no file was loaded; [`AclError::Io`] if writing failed.
    ///
    /// ```
    /// let acl = redcon::auth::Acl::new();
    /// assert!(matches!(acl.save(), Err(redcon::auth::AclError::NoFile)));
    /// ```
    pub fn save(&self) -> Result<(), AclError> {
        let Some(path) = lock(&self.inner.file).clone() else {
            return Err(AclError::NoFile);
        };
        let mut text = Vec::new();
        for line in self.list_bytes() {
            text.extend_from_slice(&line);
            text.push(b'\n');
        }
        let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
        std::fs::write(&tmp, text).map_err(AclError::Io)?;
        std::fs::rename(&tmp, &path).map_err(AclError::Io)
    }

    fn refresh_default(&self) {
        let users = read(&self.inner.users);
        let (required, nopass) = match users.get("default") {
            Some(u) => (!u.nopass || !u.enabled, u.nopass),
            None => (true, false),
        };
        self.inner.auth_required.store(required, Ordering::Release);
        self.inner.default_nopass.store(nopass, Ordering::Release);
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, VecDeque<LogEntry>> {
        lock(&self.inner.log)
    }
}

/// Parses an ACL file into users.
fn parse_file(
    text: &[u8],
    path: &Path,
    table: Option<&CommandTable>,
) -> Result<BTreeMap<String, Arc<User>>, AclError> {
    let mut users = BTreeMap::new();
    let err = |line: usize, reason: String| AclError::File {
        path: path.to_path_buf(),
        line,
        reason,
    };
    for (i, line) in text.split(|&b| b == b'\n').enumerate() {
        let words = super::user::split_rules(line).map_err(|e| err(i + 1, format!(": {e}")))?;
        let words: Vec<&[u8]> = words.iter().map(Vec::as_slice).collect();
        let Some((first, rest)) = words.split_first() else {
            continue;
        };
        let start = " should start with user keyword followed by the username";
        let Some((name, ops)) = rest.split_first() else {
            return Err(err(i + 1, start.into()));
        };
        if *first != b"user" {
            return Err(err(i + 1, start.into()));
        }
        let name = String::from_utf8_lossy(name).into_owned();
        if users.contains_key(&name) {
            return Err(err(i + 1, format!(": Duplicate user '{name}' found")));
        }
        let mut user = User::new(&name);
        for op in ops {
            user.apply(op, table)
                .map_err(|reason| err(i + 1, format!(": {reason}")))?;
        }
        users.insert(name, Arc::new(user));
    }
    users
        .entry("default".to_string())
        .or_insert_with(|| Arc::new(User::default_user()));
    Ok(users)
}

impl Authenticator for Acl {
    fn auth_required(&self) -> bool {
        self.inner.auth_required.load(Ordering::Acquire)
    }

    fn default_user_nopass(&self) -> bool {
        self.inner.default_nopass.load(Ordering::Acquire)
    }

    fn authenticate(&self, user: &str, password: &[u8]) -> bool {
        match self.user(user) {
            // The password is checked even for a disabled user, so the time taken does
            // not tell which of the two failed.
            Some(u) => u.check_password(password) & u.enabled,
            None => {
                // As long as a check, for the same reason.
                User::new("").check_password(password);
                false
            }
        }
    }

    fn authorize(
        &self,
        user: &str,
        cmd: &Command<'_>,
        spec: Option<&CommandSpec>,
    ) -> Result<(), Denial> {
        let users = read(&self.inner.users);
        let Some(u) = users.get(user) else {
            return Err(Denial::UserGone);
        };
        u.check(cmd, spec).map_err(|d| match d {
            super::user::Denied::Command => Denial::Command,
            super::user::Denied::Key(i) => Denial::Key(i),
            super::user::Denied::Channel(i) => Denial::Channel(i),
        })
    }

    fn user_enabled(&self, user: &str) -> bool {
        self.user(user).is_some_and(|u| u.enabled)
    }

    fn record(&self, refusal: Refusal) {
        let now = Instant::now();
        let mut log = self.log();
        let same = log.iter().position(|e| {
            e.refusal.reason == refusal.reason
                && e.refusal.object == refusal.object
                && e.refusal.username == refusal.username
                && now.duration_since(e.updated).as_millis() < LOG_GROUP_MS
        });
        if let Some(i) = same
            && let Some(mut e) = log.remove(i)
        {
            e.count += 1;
            e.updated = now;
            e.refusal.client_info = refusal.client_info;
            log.push_front(e);
            return;
        }
        log.push_front(LogEntry {
            count: 1,
            refusal,
            updated: now,
        });
        log.truncate(LOG_MAX);
    }
}
