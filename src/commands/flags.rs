//! The three sets of names a command description is made of, each as a small bit set
//! whose bit order is the order Redis 7 lists the names in: command [`Flags`]
//! (`write`, `readonly`, `fast`, ...), [`AclCategories`] (`@read`, `@string`, ...) and
//! per-key [`KeyFlags`] (`RO`, `access`, ...). Keeping Redis's order in the bits is what
//! makes `COMMAND INFO` byte-identical without sorting anything.

use std::fmt;
use std::ops::{BitOr, BitOrAssign};

/// Defines a bit set type whose constants carry Redis's names, in Redis's order.
macro_rules! name_set {
    (
        $(#[$meta:meta])*
        $ty:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $konst:ident = $name:literal $(, hidden = $hidden:literal)?; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $ty($repr);

        impl $ty {
            name_set!(@consts $ty, 0, $( $(#[$cmeta])* $konst, )*);

            /// Every member with its Redis name, in Redis's order, and whether Redis
            /// leaves it out of its replies.
            const TABLE: &'static [($ty, &'static str, bool)] = &[
                $( ($ty::$konst, $name, name_set!(@hidden $($hidden)?)), )*
            ];

            /// The empty set.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert!(", stringify!($ty), "::empty().is_empty());")]
            /// ```
            pub const fn empty() -> Self {
                $ty(0)
            }

            /// Both sets together; usable in `const` items, unlike `|`.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("let all = ", stringify!($ty), "::empty().union(", stringify!($ty), "::empty());")]
            /// assert!(all.is_empty());
            /// ```
            pub const fn union(self, other: Self) -> Self {
                $ty(self.0 | other.0)
            }

            /// Whether every member of `other` is in `self`.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert!(", stringify!($ty), "::empty().contains(", stringify!($ty), "::empty()));")]
            /// ```
            pub const fn contains(self, other: Self) -> bool {
                self.0 & other.0 == other.0
            }

            /// Whether `self` and `other` have a member in common.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert!(!", stringify!($ty), "::empty().intersects(", stringify!($ty), "::empty()));")]
            /// ```
            pub const fn intersects(self, other: Self) -> bool {
                self.0 & other.0 != 0
            }

            /// `self` without the members of `other`.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert!(", stringify!($ty), "::empty().without(", stringify!($ty), "::empty()).is_empty());")]
            /// ```
            pub const fn without(self, other: Self) -> Self {
                $ty(self.0 & !other.0)
            }

            /// Whether the set is empty.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert!(", stringify!($ty), "::default().is_empty());")]
            /// ```
            pub const fn is_empty(self) -> bool {
                self.0 == 0
            }

            /// The members' names in Redis's order, leaving out those Redis never
            /// shows in a reply.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", stringify!($ty), "::empty().names().count(), 0);")]
            /// ```
            pub fn names(self) -> impl Iterator<Item = &'static str> + Clone {
                $ty::TABLE
                    .iter()
                    .filter(move |(m, _, hidden)| !hidden && self.contains(*m))
                    .map(|(_, name, _)| *name)
            }

            /// The member called `name`, ignoring ASCII case.
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert_eq!(", stringify!($ty), "::from_name(\"no such name\"), None);")]
            /// ```
            pub fn from_name(name: &str) -> Option<Self> {
                $ty::TABLE
                    .iter()
                    .find(|(_, n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(m, _, _)| *m)
            }

            /// Every member, in Redis's order (hidden ones included).
            ///
            /// ```
            #[doc = concat!("use redcon::commands::", stringify!($ty), ";")]
            #[doc = concat!("assert!(", stringify!($ty), "::all().count() > 3);")]
            /// ```
            pub fn all() -> impl Iterator<Item = (Self, &'static str)> {
                $ty::TABLE.iter().map(|(m, n, _)| (*m, *n))
            }
        }

        impl BitOr for $ty {
            type Output = $ty;
            fn bitor(self, other: $ty) -> $ty {
                self.union(other)
            }
        }

        impl BitOrAssign for $ty {
            fn bitor_assign(&mut self, other: $ty) {
                *self = self.union(other);
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let names = $ty::TABLE
                    .iter()
                    .filter(|(m, _, _)| self.contains(*m))
                    .map(|(_, n, _)| *n);
                f.debug_set().entries(names).finish()
            }
        }
    };
    (@consts $ty:ident, $bit:expr, ) => {};
    (@consts $ty:ident, $bit:expr, $(#[$cmeta:meta])* $konst:ident, $($rest:tt)*) => {
        $(#[$cmeta])*
        pub const $konst: $ty = $ty(1 << $bit);
        name_set!(@consts $ty, $bit + 1, $($rest)*);
    };
    (@hidden) => { false };
    (@hidden $h:literal) => { $h };
}

name_set! {
    /// Command flags, as Redis names them in `COMMAND INFO` (element 3).
    ///
    /// ```
    /// use redcon::commands::Flags;
    /// let f = Flags::READONLY | Flags::FAST;
    /// assert_eq!(f.names().collect::<Vec<_>>(), ["readonly", "fast"]);
    /// assert_eq!(Flags::from_name("WRITE"), Some(Flags::WRITE));
    /// ```
    Flags(u32) {
        /// May modify the keyspace.
        WRITE = "write";
        /// Reads the keyspace and never modifies it.
        READONLY = "readonly";
        /// May grow memory use: refused when over the memory limit.
        DENYOOM = "denyoom";
        /// Implemented by a module (Redis); never set by redcon itself.
        MODULE = "module";
        /// An administrative command (implies `@admin` and `@dangerous`).
        ADMIN = "admin";
        /// A pub/sub command (implies `@pubsub`).
        PUBSUB = "pubsub";
        /// Not allowed from scripts.
        NOSCRIPT = "noscript";
        /// May block the client (implies `@blocking`).
        BLOCKING = "blocking";
        /// Allowed while the dataset loads.
        LOADING = "loading";
        /// Allowed on a replica with stale data.
        STALE = "stale";
        /// Not fed to `MONITOR`.
        SKIP_MONITOR = "skip_monitor";
        /// Not logged in the slow log.
        SKIP_SLOWLOG = "skip_slowlog";
        /// Accepted on an importing cluster slot (like `ASKING`).
        ASKING = "asking";
        /// Constant or logarithmic time (implies `@fast`; without it, `@slow`).
        FAST = "fast";
        /// Allowed before authentication.
        NO_AUTH = "no_auth";
        /// May be replicated although not a write (Redis never shows this one).
        MAY_REPLICATE = "may_replicate", hidden = true;
        /// Its keys are optional.
        NO_MANDATORY_KEYS = "no_mandatory_keys";
        /// Not allowed while a replica loads asynchronously.
        NO_ASYNC_LOADING = "no_async_loading";
        /// Not allowed inside `MULTI`.
        NO_MULTI = "no_multi";
        /// Its key positions depend on its arguments; set automatically from the key
        /// specifications.
        MOVABLE_KEYS = "movablekeys";
        /// Allowed while a script is busy.
        ALLOW_BUSY = "allow_busy";
    }
}

name_set! {
    /// ACL categories (`COMMAND INFO` element 7 and `ACL CAT`), in Redis's order. In
    /// replies each name is written with a leading `@`.
    ///
    /// ```
    /// use redcon::commands::AclCategories;
    /// let c = AclCategories::STRING | AclCategories::READ;
    /// assert_eq!(c.names().collect::<Vec<_>>(), ["read", "string"]);
    /// ```
    AclCategories(u32) {
        /// Commands on keys regardless of type (`DEL`, `EXPIRE`, `SCAN`, ...).
        KEYSPACE = "keyspace";
        /// Reads keys.
        READ = "read";
        /// Writes keys.
        WRITE = "write";
        /// Sets.
        SET = "set";
        /// Sorted sets.
        SORTEDSET = "sortedset";
        /// Lists.
        LIST = "list";
        /// Hashes.
        HASH = "hash";
        /// Strings.
        STRING = "string";
        /// Bitmaps.
        BITMAP = "bitmap";
        /// HyperLogLogs.
        HYPERLOGLOG = "hyperloglog";
        /// Geospatial indexes.
        GEO = "geo";
        /// Streams.
        STREAM = "stream";
        /// Pub/sub.
        PUBSUB = "pubsub";
        /// Administration.
        ADMIN = "admin";
        /// Constant or logarithmic time.
        FAST = "fast";
        /// Everything not `@fast`.
        SLOW = "slow";
        /// May block the client.
        BLOCKING = "blocking";
        /// Possibly dangerous to let anyone run.
        DANGEROUS = "dangerous";
        /// The connection itself (`PING`, `HELLO`, `CLIENT`, ...).
        CONNECTION = "connection";
        /// Transactions.
        TRANSACTION = "transaction";
        /// Scripting.
        SCRIPTING = "scripting";
    }
}

name_set! {
    /// What a command does with one key (a key specification's flags), in Redis's order.
    ///
    /// ```
    /// use redcon::commands::KeyFlags;
    /// let k = KeyFlags::ACCESS | KeyFlags::RO;
    /// assert_eq!(k.names().collect::<Vec<_>>(), ["RO", "access"]);
    /// ```
    KeyFlags(u16) {
        /// Read-only access to the value.
        RO = "RO";
        /// Read and write.
        RW = "RW";
        /// Overwrites the value without reading it.
        OW = "OW";
        /// Removes the key.
        RM = "RM";
        /// Returns, copies or uses the user data of the value.
        ACCESS = "access";
        /// Updates the value.
        UPDATE = "update";
        /// Adds data to the value, never modifying or deleting.
        INSERT = "insert";
        /// Deletes data from the value.
        DELETE = "delete";
        /// Not a key (a channel name, say) but routed like one in a cluster.
        NOT_KEY = "not_key";
        /// The specification may not find every key.
        INCOMPLETE = "incomplete";
        /// The flags depend on the arguments.
        VARIABLE_FLAGS = "variable_flags";
    }
}

impl AclCategories {
    /// The categories Redis adds from a command's flags (`setImplicitACLCategories`):
    /// `write` → `@write`, `readonly` → `@read` (unless `@scripting`), `admin` →
    /// `@admin @dangerous`, `pubsub` → `@pubsub`, `fast` → `@fast`, `blocking` →
    /// `@blocking`, and `@slow` for every command that is not `@fast`.
    ///
    /// ```
    /// use redcon::commands::{AclCategories, Flags};
    /// let c = AclCategories::STRING.with_implied(Flags::READONLY | Flags::FAST);
    /// assert_eq!(c.names().collect::<Vec<_>>(), ["read", "string", "fast"]);
    /// let c = AclCategories::empty().with_implied(Flags::ADMIN);
    /// assert_eq!(c.names().collect::<Vec<_>>(), ["admin", "slow", "dangerous"]);
    /// ```
    pub fn with_implied(self, flags: Flags) -> AclCategories {
        let mut c = self;
        if flags.contains(Flags::WRITE) {
            c |= AclCategories::WRITE;
        }
        if flags.contains(Flags::READONLY) && !c.contains(AclCategories::SCRIPTING) {
            c |= AclCategories::READ;
        }
        if flags.contains(Flags::ADMIN) {
            c |= AclCategories::ADMIN | AclCategories::DANGEROUS;
        }
        if flags.contains(Flags::PUBSUB) {
            c |= AclCategories::PUBSUB;
        }
        if flags.contains(Flags::FAST) {
            c |= AclCategories::FAST;
        }
        if flags.contains(Flags::BLOCKING) {
            c |= AclCategories::BLOCKING;
        }
        if !c.contains(AclCategories::FAST) {
            c |= AclCategories::SLOW;
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_flags_are_not_named() {
        let f = Flags::WRITE | Flags::MAY_REPLICATE | Flags::FAST;
        assert_eq!(f.names().collect::<Vec<_>>(), ["write", "fast"]);
        assert!(f.contains(Flags::MAY_REPLICATE));
        assert_eq!(
            Flags::from_name("may_replicate"),
            Some(Flags::MAY_REPLICATE)
        );
    }

    #[test]
    fn every_name_round_trips() {
        for (m, n) in Flags::all() {
            assert_eq!(Flags::from_name(n), Some(m));
        }
        for (m, n) in AclCategories::all() {
            assert_eq!(AclCategories::from_name(n), Some(m));
        }
        for (m, n) in KeyFlags::all() {
            assert_eq!(KeyFlags::from_name(n), Some(m));
        }
        assert_eq!(AclCategories::all().count(), 21);
        assert_eq!(KeyFlags::all().count(), 11);
    }

    #[test]
    fn implied_categories_like_redis() {
        // SET: write denyoom, @string → @write @string @slow.
        let set = AclCategories::STRING.with_implied(Flags::WRITE | Flags::DENYOOM);
        assert_eq!(set.names().collect::<Vec<_>>(), ["write", "string", "slow"]);
        // A readonly scripting command is not @read.
        let ro = AclCategories::SCRIPTING.with_implied(Flags::READONLY);
        assert_eq!(ro.names().collect::<Vec<_>>(), ["slow", "scripting"]);
        // BLPOP: write noscript blocking, @list → @write @list @slow @blocking.
        let b = AclCategories::LIST.with_implied(Flags::WRITE | Flags::NOSCRIPT | Flags::BLOCKING);
        assert_eq!(
            b.names().collect::<Vec<_>>(),
            ["write", "list", "slow", "blocking"]
        );
    }
}
