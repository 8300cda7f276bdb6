//! Where a command's keys are: Redis 7's key specifications ([`KeySpec`]: where to
//! begin searching, how to find the keys from there, what the command does with them),
//! the legacy first/last/step triple derived from them, and extracting the keys of one
//! request ([`Keys`], [`KeyRef`]) as Redis's `getKeysFromCommandWithSpecs` does.
//!
//! Cluster routing and access control read keys on every command, so the common case —
//! one fixed range such as `GET key` or `MGET key [key ...]` — is an iterator over the
//! request's arguments that allocates nothing.

use super::flags::KeyFlags;
use crate::resp::{parse_int, Command};
use std::fmt;
use std::sync::Arc;

/// Where the search for a key specification's keys begins.
///
/// ```
/// use redcon::commands::{BeginSearch, CommandSpec, FindKeys, KeySpec};
/// use redcon::resp::{Parsed, Parser};
/// // XREAD [COUNT n] STREAMS key [key ...] id [id ...]: keys start after "STREAMS".
/// let xread = CommandSpec::new("xread", -4).key_spec(KeySpec::new(
///     BeginSearch::Keyword { keyword: "STREAMS".into(), startfrom: 1 },
///     FindKeys::Range { lastkey: -1, keystep: 1, limit: 2 },
/// ));
/// let mut p = Parser::new();
/// let Ok(Parsed::Command { command, .. }) = p.parse(b"XREAD COUNT 2 STREAMS a b 0 0\r\n") else { panic!() };
/// assert_eq!(xread.keys_of(&command).collect::<Vec<_>>(), [b"a", b"b"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BeginSearch {
    /// At this argument index (1 is the first argument after the command name).
    Index(usize),
    /// After the first argument equal to `keyword` (any case), searching from
    /// `startfrom` (a negative value counts from the end, searching backwards).
    Keyword {
        /// The keyword, e.g. `STREAMS`.
        keyword: String,
        /// Where the search starts.
        startfrom: i32,
    },
    /// Not describable: the keys are found by the command's key function.
    Unknown,
}

/// How the keys are found once the search has begun.
///
/// ```
/// use redcon::commands::{BeginSearch, CommandSpec, FindKeys, KeySpec};
/// use redcon::resp::{Parsed, Parser};
/// // ZUNION numkeys key [key ...] ...: the count is at index 1, the keys follow it.
/// let zunion = CommandSpec::new("zunion", -3).key_spec(KeySpec::new(
///     BeginSearch::Index(1),
///     FindKeys::Keynum { keynumidx: 0, firstkey: 1, keystep: 1 },
/// ));
/// let mut p = Parser::new();
/// let Ok(Parsed::Command { command, .. }) = p.parse(b"ZUNION 2 a b WITHSCORES\r\n") else { panic!() };
/// assert_eq!(zunion.keys_of(&command).collect::<Vec<_>>(), [b"a", b"b"]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FindKeys {
    /// A range: `lastkey` relative to the first key (`-1` = the last argument, `-2` the
    /// one before it...), every `keystep` arguments; with `limit` > 1 and `lastkey` -1,
    /// only the first 1/`limit` of the remaining arguments (as `XREAD ... STREAMS`).
    Range {
        /// The last key, relative to the first, or negative from the end.
        lastkey: i32,
        /// The distance between keys (2 for `MSET key value [key value ...]`).
        keystep: usize,
        /// See above; 0 means no limit.
        limit: usize,
    },
    /// A count argument at `keynumidx` (relative to where the search began), then
    /// that many keys from `firstkey` (also relative), every `keystep`.
    Keynum {
        /// Where the number of keys is.
        keynumidx: usize,
        /// Where the first key is.
        firstkey: usize,
        /// The distance between keys.
        keystep: usize,
    },
    /// Not describable: the keys are found by the command's key function.
    Unknown,
}

/// One key specification of a command, as Redis 7 describes them in `COMMAND INFO`.
///
/// ```
/// use redcon::commands::{KeyFlags, KeySpec};
/// // GET key: the key at index 1, RO access.
/// let get = KeySpec::range(1, 0, 1).flags(KeyFlags::RO | KeyFlags::ACCESS);
/// // MSET key value [key value ...]: from 1 to the end, every second argument.
/// let mset = KeySpec::range(1, -1, 2).flags(KeyFlags::OW | KeyFlags::UPDATE);
/// // ZUNION numkeys key [key ...]: a count at index 1, keys right after it.
/// let zunion = KeySpec::keynum(1, 0, 1, 1);
/// # let _ = (get, mset, zunion);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub(crate) notes: Option<String>,
    pub(crate) flags: KeyFlags,
    pub(crate) begin: BeginSearch,
    pub(crate) find: FindKeys,
}

impl KeySpec {
    /// A specification from its two parts, with no flags.
    ///
    /// ```
    /// use redcon::commands::{BeginSearch, FindKeys, KeySpec};
    /// let xread = KeySpec::new(
    ///     BeginSearch::Keyword { keyword: "STREAMS".into(), startfrom: 1 },
    ///     FindKeys::Range { lastkey: -1, keystep: 1, limit: 2 },
    /// );
    /// # let _ = xread;
    /// ```
    pub fn new(begin: BeginSearch, find: FindKeys) -> KeySpec {
        KeySpec {
            notes: None,
            flags: KeyFlags::empty(),
            begin,
            find,
        }
    }

    /// Keys from argument `index` to `lastkey` (relative to `index`; negative counts
    /// from the end: -1 is the last argument), every `keystep`.
    ///
    /// ```
    /// use redcon::commands::KeySpec;
    /// let del = KeySpec::range(1, -1, 1); // DEL key [key ...]
    /// # let _ = del;
    /// ```
    pub fn range(index: usize, lastkey: i32, keystep: usize) -> KeySpec {
        KeySpec::new(
            BeginSearch::Index(index),
            FindKeys::Range {
                lastkey,
                keystep,
                limit: 0,
            },
        )
    }

    /// A key count at `index + keynumidx`, then that many keys from
    /// `index + firstkey`, every `keystep`.
    ///
    /// ```
    /// use redcon::commands::KeySpec;
    /// let eval = KeySpec::keynum(2, 0, 1, 1); // EVAL script numkeys [key ...]
    /// # let _ = eval;
    /// ```
    pub fn keynum(index: usize, keynumidx: usize, firstkey: usize, keystep: usize) -> KeySpec {
        KeySpec::new(
            BeginSearch::Index(index),
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            },
        )
    }

    /// Sets the flags (what the command does with these keys).
    ///
    /// ```
    /// use redcon::commands::{KeyFlags, KeySpec};
    /// let spec = KeySpec::range(1, 0, 1).flags(KeyFlags::RW | KeyFlags::INSERT);
    /// assert_eq!(spec.key_flags(), KeyFlags::RW | KeyFlags::INSERT);
    /// ```
    pub fn flags(mut self, flags: KeyFlags) -> KeySpec {
        self.flags = flags;
        self
    }

    /// Sets the `notes` field `COMMAND INFO` shows.
    ///
    /// ```
    /// use redcon::commands::KeySpec;
    /// let spec = KeySpec::range(1, 0, 1).notes("RW and UPDATE because it changes the TTL");
    /// # let _ = spec;
    /// ```
    pub fn notes(mut self, notes: impl Into<String>) -> KeySpec {
        self.notes = Some(notes.into());
        self
    }

    /// The flags.
    ///
    /// ```
    /// use redcon::commands::{KeyFlags, KeySpec};
    /// assert!(KeySpec::range(1, 0, 1).key_flags().is_empty());
    /// ```
    pub fn key_flags(&self) -> KeyFlags {
        self.flags
    }

    /// Whether this is a plain index + range specification (the fast case, and the
    /// only kind the legacy triple can describe).
    fn simple_range(&self) -> Option<(usize, i32, usize, usize)> {
        match (&self.begin, self.find) {
            (
                BeginSearch::Index(i),
                FindKeys::Range {
                    lastkey,
                    keystep,
                    limit,
                },
            ) => Some((*i, lastkey, keystep, limit)),
            _ => None,
        }
    }
}

/// One key of a request: its argument position and what the command does with it.
///
/// ```
/// use redcon::commands::{CommandSpec, KeyFlags, KeyRef, KeySpec};
/// use redcon::resp::{Parsed, Parser};
/// let get = CommandSpec::new("get", 2).key_spec(KeySpec::range(1, 0, 1).flags(KeyFlags::RO));
/// let mut p = Parser::new();
/// let Ok(Parsed::Command { command, .. }) = p.parse(b"GET k\r\n") else { panic!() };
/// assert_eq!(get.key_refs(&command)?, [KeyRef { pos: 1, flags: KeyFlags::RO }]);
/// # Ok::<(), redcon::commands::KeysError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyRef {
    /// Argument index (1 is the first argument after the command name).
    pub pos: usize,
    /// The flags of the specification that found it.
    pub flags: KeyFlags,
}

/// A function that finds the keys of a request whose key positions the key
/// specifications cannot describe (or whose flags depend on the arguments). It gets
/// the whole request, name included, with arity already checked; it returns `None`
/// when the arguments are invalid for finding keys.
///
/// ```
/// use redcon::commands::{KeyFlags, KeyRef, KeysFn};
/// use std::sync::Arc;
/// // Every argument after the name is a key, unless there are none.
/// let all_keys: KeysFn = Arc::new(|cmd| {
///     let keys: Vec<KeyRef> = (1..cmd.len()).map(|pos| KeyRef { pos, flags: KeyFlags::RW }).collect();
///     (!keys.is_empty()).then_some(keys)
/// });
/// # let mut p = redcon::resp::Parser::new();
/// # let Ok(redcon::resp::Parsed::Command { command, .. }) = p.parse(b"TOUCH a b\r\n") else { panic!() };
/// assert_eq!(all_keys(&command).unwrap().len(), 2);
/// ```
pub type KeysFn = Arc<dyn Fn(&Command<'_>) -> Option<Vec<KeyRef>> + Send + Sync>;

/// The legacy `(first, last, step)` triple and whether the keys are movable, derived
/// from key specifications as Redis's `populateCommandLegacyRangeSpec` does: one plain
/// range is taken as it is; several are merged while they are consecutive with step 1;
/// anything else sets `movablekeys`.
pub(crate) fn legacy_triple(specs: &[KeySpec]) -> ((i64, i64, i64), bool) {
    if let [only] = specs
        && let Some((index, lastkey, keystep, _)) = only.simple_range()
    {
        let last = if lastkey >= 0 {
            index as i64 + i64::from(lastkey)
        } else {
            i64::from(lastkey)
        };
        let movable = only.flags.contains(KeyFlags::INCOMPLETE);
        return ((index as i64, last, keystep as i64), movable);
    }
    let mut movable = false;
    let mut first = i64::MAX;
    // Compared as unsigned, as Redis does, so a negative (to-the-end) last key wins.
    let mut last: i64 = 0;
    let mut prev_last: i64 = 0;
    for spec in specs {
        let Some((index, lastkey, keystep, _)) = spec.simple_range() else {
            movable = true;
            continue;
        };
        if keystep != 1 || (prev_last != 0 && prev_last != index as i64 - 1) {
            movable = true;
            continue;
        }
        if spec.flags.contains(KeyFlags::INCOMPLETE) {
            movable = true;
        }
        first = first.min(index as i64);
        let abs = if lastkey >= 0 {
            index as i64 + i64::from(lastkey)
        } else {
            i64::from(lastkey)
        };
        if (abs as u64) > (last as u64) {
            last = abs;
        }
        prev_last = last;
    }
    if first == i64::MAX {
        return ((0, 0, 0), movable || !specs.is_empty());
    }
    ((first, last, 1), movable)
}

/// Why a request's keys could not be found (`COMMAND GETKEYS` answers each with
/// Redis's error).
///
/// ```
/// use redcon::commands::{CommandSpec, KeysError};
/// use redcon::resp::{Parsed, Parser};
/// // ZUNION's key count says 3 keys, but only 1 follows.
/// let zunion = CommandSpec::new("zunion", -3).key_spec(redcon::commands::KeySpec::keynum(1, 0, 1, 1));
/// let mut p = Parser::new();
/// let Ok(Parsed::Command { command, .. }) = p.parse(b"ZUNION 3 a\r\n") else { panic!() };
/// assert_eq!(zunion.key_refs(&command), Err(KeysError::InvalidArguments));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeysError {
    /// No command of that name: `ERR Invalid command specified`.
    UnknownCommand,
    /// The command takes no keys: `ERR The command has no key arguments`.
    NoKeys,
    /// Wrong number of arguments: `ERR Invalid number of arguments specified for
    /// command`.
    WrongArity,
    /// The arguments do not say where the keys are (a bad key count, say):
    /// `ERR Invalid arguments specified for command`.
    InvalidArguments,
}

impl KeysError {
    /// Redis's error message (without the leading `-`).
    ///
    /// ```
    /// use redcon::commands::KeysError;
    /// assert_eq!(KeysError::NoKeys.message(), "ERR The command has no key arguments");
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            KeysError::UnknownCommand => "ERR Invalid command specified",
            KeysError::NoKeys => "ERR The command has no key arguments",
            KeysError::WrongArity => "ERR Invalid number of arguments specified for command",
            KeysError::InvalidArguments => "ERR Invalid arguments specified for command",
        }
    }
}

impl fmt::Display for KeysError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for KeysError {}

/// The keys of one request, in order, borrowed from it. Made by
/// [`CommandSpec::keys_of`](super::CommandSpec::keys_of); allocates nothing when the command
/// has one plain range of keys (`GET`, `MGET`, `MSET`, `DEL`...).
///
/// ```
/// use redcon::commands::CommandSpec;
/// use redcon::resp::{Parsed, Parser};
/// let del = CommandSpec::new("del", -2).keys(1, -1, 1);
/// let mut p = Parser::new();
/// let Ok(Parsed::Command { command, .. }) = p.parse(b"DEL a b c\r\n") else { panic!() };
/// let mut keys = del.keys_of(&command);
/// assert_eq!(keys.next(), Some(&b"a"[..]));
/// assert_eq!(keys.count(), 2);
/// ```
#[derive(Clone)]
pub struct Keys<'a> {
    cmd: Command<'a>,
    inner: KeysInner,
}

#[derive(Clone)]
enum KeysInner {
    Range {
        next: usize,
        last: usize,
        step: usize,
    },
    List(std::vec::IntoIter<KeyRef>),
}

impl<'a> Keys<'a> {
    pub(crate) fn range(cmd: Command<'a>, first: usize, last: usize, step: usize) -> Self {
        Keys {
            cmd,
            inner: KeysInner::Range {
                next: first,
                last,
                step: step.max(1),
            },
        }
    }

    pub(crate) fn list(cmd: Command<'a>, refs: Vec<KeyRef>) -> Self {
        Keys {
            cmd,
            inner: KeysInner::List(refs.into_iter()),
        }
    }

    /// An iterator with no keys.
    pub(crate) fn none(cmd: Command<'a>) -> Self {
        Keys::range(cmd, 1, 0, 1)
    }
}

impl<'a> Iterator for Keys<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        match &mut self.inner {
            KeysInner::Range { next, last, step } => {
                if *next > *last {
                    return None;
                }
                let pos = *next;
                *next += *step;
                self.cmd.get(pos)
            }
            KeysInner::List(it) => it.next().and_then(|k| self.cmd.get(k.pos)),
        }
    }
}

impl fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.clone().map(String::from_utf8_lossy))
            .finish()
    }
}

/// If the request's keys are one plain range, its bounds (first, last, step), with
/// `last < first` for none; used for the allocation-free path.
pub(crate) fn single_range(specs: &[KeySpec], argc: usize) -> Option<(usize, usize, usize)> {
    let [only] = specs else { return None };
    let (index, lastkey, keystep, limit) = only.simple_range()?;
    if limit != 0 || only.flags.contains(KeyFlags::NOT_KEY) {
        return None;
    }
    let last = if lastkey >= 0 {
        index as i64 + i64::from(lastkey)
    } else {
        argc as i64 + i64::from(lastkey)
    };
    let last = last.min(argc as i64 - 1);
    if last < index as i64 || index >= argc {
        return Some((1, 0, 1));
    }
    Some((index, last as usize, keystep.max(1)))
}

/// The keys of a request found with key specifications, as Redis's
/// `getKeysUsingKeySpecs`; `Err` where a specification cannot be applied (unknown, or
/// arguments that do not fit it). Specifications marked `not_key` are skipped unless
/// `include_not_keys`.
pub(crate) fn keys_from_specs(
    specs: &[KeySpec],
    cmd: &Command<'_>,
    include_not_keys: bool,
) -> Result<Vec<KeyRef>, KeysError> {
    let argc = cmd.len() as i64;
    let mut out = Vec::new();
    for spec in specs {
        if spec.flags.contains(KeyFlags::NOT_KEY) && !include_not_keys {
            continue;
        }
        let first: i64 = match &spec.begin {
            BeginSearch::Index(i) => *i as i64,
            BeginSearch::Keyword { keyword, startfrom } => {
                match find_keyword(cmd, keyword, *startfrom) {
                    Some(i) => i + 1,
                    None => continue,
                }
            }
            BeginSearch::Unknown => return Err(KeysError::InvalidArguments),
        };
        let (first, last, step) = match spec.find {
            FindKeys::Range {
                lastkey,
                keystep,
                limit,
            } => {
                let lastkey = i64::from(lastkey);
                let last = if lastkey >= 0 {
                    first + lastkey
                } else if limit == 0 {
                    argc + lastkey
                } else {
                    first + ((argc - first) / limit as i64 + lastkey)
                };
                (first, last, keystep.max(1) as i64)
            }
            FindKeys::Keynum {
                keynumidx,
                firstkey,
                keystep,
            } => {
                let at = first + keynumidx as i64;
                if at >= argc {
                    continue;
                }
                let n = cmd
                    .get(at as usize)
                    .and_then(parse_int)
                    .filter(|n| *n >= 0)
                    .ok_or(KeysError::InvalidArguments)?;
                let first = first + firstkey as i64;
                (first, first.saturating_add(n) - 1, keystep.max(1) as i64)
            }
            FindKeys::Unknown => return Err(KeysError::InvalidArguments),
        };
        if last >= argc || last < first || first >= argc {
            return Err(KeysError::InvalidArguments);
        }
        let mut i = first;
        while i <= last {
            out.push(KeyRef {
                pos: i as usize,
                flags: spec.flags,
            });
            i += step;
        }
    }
    Ok(out)
}

/// The index of `keyword` searched from `startfrom` (backwards when negative), or
/// `None`.
fn find_keyword(cmd: &Command<'_>, keyword: &str, startfrom: i32) -> Option<i64> {
    let argc = cmd.len() as i64;
    let start = if startfrom > 0 {
        i64::from(startfrom)
    } else {
        argc + i64::from(startfrom)
    };
    let end = if startfrom > 0 { argc - 1 } else { 0 };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            break;
        }
        if cmd[i as usize].eq_ignore_ascii_case(keyword.as_bytes()) {
            return Some(i);
        }
        i += if start <= end { 1 } else { -1 };
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::{Parsed, Parser};

    fn with_cmd(line: &str, f: impl FnOnce(Command<'_>)) {
        let mut p = Parser::new();
        let input = format!("{line}\r\n");
        let Ok(Parsed::Command { command, .. }) = p.parse(input.as_bytes()) else {
            panic!("bad test input {line}");
        };
        f(command)
    }

    fn positions(specs: &[KeySpec], line: &str) -> Result<Vec<usize>, KeysError> {
        let mut out = Err(KeysError::NoKeys);
        with_cmd(line, |cmd| {
            out = keys_from_specs(specs, &cmd, false).map(|v| v.iter().map(|k| k.pos).collect())
        });
        out
    }

    #[test]
    fn legacy_triples_like_redis() {
        // GET, MGET, MSET, BZPOPMIN (last -2).
        assert_eq!(
            legacy_triple(&[KeySpec::range(1, 0, 1)]),
            ((1, 1, 1), false)
        );
        assert_eq!(
            legacy_triple(&[KeySpec::range(1, -1, 1)]),
            ((1, -1, 1), false)
        );
        assert_eq!(
            legacy_triple(&[KeySpec::range(1, -1, 2)]),
            ((1, -1, 2), false)
        );
        assert_eq!(
            legacy_triple(&[KeySpec::range(1, -2, 1)]),
            ((1, -2, 1), false)
        );
        // RENAME: two consecutive single keys → 1 2 1.
        let rename = [KeySpec::range(1, 0, 1), KeySpec::range(2, 0, 1)];
        assert_eq!(legacy_triple(&rename), ((1, 2, 1), false));
        // SUNIONSTORE dest key [key ...] → 1 -1 1.
        let sunionstore = [KeySpec::range(1, 0, 1), KeySpec::range(2, -1, 1)];
        assert_eq!(legacy_triple(&sunionstore), ((1, -1, 1), false));
        // ZUNION: keynum only → 0 0 0, movable.
        assert_eq!(
            legacy_triple(&[KeySpec::keynum(1, 0, 1, 1)]),
            ((0, 0, 0), true)
        );
        // ZINTERSTORE dest numkeys key...: the range part stays, movable.
        let zis = [KeySpec::range(1, 0, 1), KeySpec::keynum(2, 0, 1, 1)];
        assert_eq!(legacy_triple(&zis), ((1, 1, 1), true));
        // No keys.
        assert_eq!(legacy_triple(&[]), ((0, 0, 0), false));
    }

    #[test]
    fn key_positions_from_specs() {
        assert_eq!(positions(&[KeySpec::range(1, 0, 1)], "GET k"), Ok(vec![1]));
        assert_eq!(
            positions(&[KeySpec::range(1, -1, 2)], "MSET a 1 b 2"),
            Ok(vec![1, 3])
        );
        let zunion = [KeySpec::keynum(1, 0, 1, 1)];
        assert_eq!(positions(&zunion, "ZUNION 2 a b"), Ok(vec![2, 3]));
        assert_eq!(
            positions(&zunion, "ZUNION x a b"),
            Err(KeysError::InvalidArguments)
        );
        assert_eq!(
            positions(&zunion, "ZUNION 5 a b"),
            Err(KeysError::InvalidArguments)
        );
        let xread = [KeySpec::new(
            BeginSearch::Keyword {
                keyword: "STREAMS".into(),
                startfrom: 1,
            },
            FindKeys::Range {
                lastkey: -1,
                keystep: 1,
                limit: 2,
            },
        )];
        assert_eq!(
            positions(&xread, "XREAD COUNT 2 STREAMS a b 0 0"),
            Ok(vec![4, 5])
        );
        // Keyword missing: no keys from that spec.
        assert_eq!(positions(&xread, "XREAD COUNT 2"), Ok(vec![]));
    }

    #[test]
    fn incomplete_specs_defer_to_the_key_function() {
        use crate::commands::CommandSpec;
        // MIGRATE's shape: the key argument, or (incompletely described) the keys after
        // KEYS; its key function takes one or the other, as Redis's migrateGetKeys.
        let spec = CommandSpec::new("migrate", -6)
            .key_spec(KeySpec::range(3, 0, 1).flags(KeyFlags::RW))
            .key_spec(
                KeySpec::new(
                    BeginSearch::Keyword {
                        keyword: "KEYS".into(),
                        startfrom: -2,
                    },
                    FindKeys::Range {
                        lastkey: -1,
                        keystep: 1,
                        limit: 0,
                    },
                )
                .flags(KeyFlags::RW | KeyFlags::INCOMPLETE),
            )
            .keys_fn(|cmd| {
                let at = cmd.args().position(|a| a.eq_ignore_ascii_case(b"keys"));
                let positions = match at {
                    Some(i) => i + 1..cmd.len(),
                    None => 3..4,
                };
                Some(
                    positions
                        .map(|pos| KeyRef {
                            pos,
                            flags: KeyFlags::RW,
                        })
                        .collect(),
                )
            });
        with_cmd(r#"MIGRATE h 1 "" 0 100 KEYS a b"#, |cmd| {
            let pos: Vec<usize> = spec.key_refs(&cmd).unwrap().iter().map(|k| k.pos).collect();
            assert_eq!(pos, [7, 8], "the empty key argument is not a key");
        });
        with_cmd("MIGRATE h 1 k 0 100", |cmd| {
            let pos: Vec<usize> = spec.key_refs(&cmd).unwrap().iter().map(|k| k.pos).collect();
            assert_eq!(pos, [3]);
        });
    }

    #[test]
    fn single_range_is_clipped_to_the_request() {
        assert_eq!(
            single_range(&[KeySpec::range(1, -1, 1)], 4),
            Some((1, 3, 1))
        );
        assert_eq!(single_range(&[KeySpec::range(1, 0, 1)], 2), Some((1, 1, 1)));
        // Too few arguments: no keys rather than a panic.
        let none = single_range(&[KeySpec::range(2, 0, 1)], 2).unwrap();
        assert!(none.1 < none.0);
    }
}
