//! Moving keys between servers as Redis does: the `DUMP` payload format of Redis 7.0
//! for strings and lists ([`encode_string`], [`encode_list`], [`decode`]) and the
//! client side of `MIGRATE` ([`Migrator`]), which sends `RESTORE` commands to another
//! server over cached connections.
//!
//! A payload made here restores on redis-server 7.0 and later, and payloads from
//! redis-server (LZF-compressed ones included) decode here:
//!
//! ```
//! use redcon::dump::{decode, encode_string, Value};
//! let payload = encode_string(b"hello");
//! assert_eq!(decode(&payload), Ok(Value::String(b"hello".to_vec())));
//! ```

mod listpack;
mod lzf;
mod migrate;
mod payload;

pub use migrate::{Auth, MigrateError, MigrateOptions, Migrated, Migrator, Restore};
pub use payload::{decode, encode_list, encode_string, DumpError, Value, RDB_VERSION};
