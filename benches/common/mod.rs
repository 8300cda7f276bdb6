//! Corpora shared by the parser and writer benchmarks. The same commands are parsed by
//! one and encoded by the other, so both describe the same bytes, and the encoding here
//! is written out by hand so the parser is never measured on its own writer's output.

// Each bench binary uses a different part of this module.
#![allow(dead_code)]

/// One command: its arguments, the name first.
pub type Args = Vec<Vec<u8>>;

/// A named list of commands, sent either as multibulk requests or as inline lines.
pub struct Corpus {
    /// Short name used in benchmark ids.
    pub name: &'static str,
    /// The commands.
    pub commands: Vec<Args>,
    /// Whether the wire form is inline (`SET k v\r\n`) rather than multibulk.
    pub inline: bool,
}

impl Corpus {
    /// The corpus as a client would send it, every command back to back.
    pub fn wire(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for c in &self.commands {
            if self.inline {
                inline(&mut out, c);
            } else {
                multibulk(&mut out, c);
            }
        }
        out
    }

    /// Total number of arguments, command names included.
    pub fn args(&self) -> usize {
        self.commands.iter().map(Vec::len).sum()
    }
}

/// Appends `*n` and one `$len` bulk per argument.
pub fn multibulk(out: &mut Vec<u8>, args: &[Vec<u8>]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends the arguments as one inline line (they must need no quoting).
fn inline(out: &mut Vec<u8>, args: &[Vec<u8>]) {
    out.extend_from_slice(&args.join(&b' '));
    out.extend_from_slice(b"\r\n");
}

fn key(i: usize) -> Vec<u8> {
    format!("key:{i:06}").into_bytes()
}

fn value(i: usize) -> Vec<u8> {
    format!("value:{i:06}").into_bytes()
}

/// Alternating `SET key:i value:i` and `GET key:i`, as redis-benchmark sends them.
fn set_get(n: usize) -> Vec<Args> {
    (0..n)
        .map(|i| {
            if i % 2 == 0 {
                vec![b"SET".to_vec(), key(i), value(i)]
            } else {
                vec![b"GET".to_vec(), key(i - 1)]
            }
        })
        .collect()
}

/// A 1 KiB value that is not all one byte.
pub fn kib_value(i: usize) -> Vec<u8> {
    (0..1024).map(|j| b'a' + ((i + j) % 26) as u8).collect()
}

/// The parser corpora: small SET/GET, 1 KiB values, 100-argument MSET (the name and 99
/// arguments would not pair up, so it is 50 pairs: 101 arguments), and inline SET/GET.
pub fn corpora() -> Vec<Corpus> {
    vec![
        Corpus {
            name: "small-set-get",
            commands: set_get(1000),
            inline: false,
        },
        Corpus {
            name: "set-1kib",
            commands: (0..100)
                .map(|i| vec![b"SET".to_vec(), key(i), kib_value(i)])
                .collect(),
            inline: false,
        },
        Corpus {
            name: "mset-100",
            commands: (0..20)
                .map(|c| {
                    let mut a = vec![b"MSET".to_vec()];
                    for i in 0..50 {
                        a.push(key(c * 50 + i));
                        a.push(value(c * 50 + i));
                    }
                    a
                })
                .collect(),
            inline: false,
        },
        Corpus {
            name: "inline-set-get",
            commands: set_get(1000),
            inline: true,
        },
    ]
}
