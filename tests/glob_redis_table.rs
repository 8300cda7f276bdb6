//! Checks the glob matcher against answers recorded from a real redis-server 7.0.15
//! (tests/data/glob_cases.txt, written by tests/data/glob_table_gen.py). The server is
//! not needed here: only the recorded answers are read.

use redcon::glob::{glob_match, glob_match_nocase};

const CASES: &str = include_str!("data/glob_cases.txt");

/// Decodes one quoted piece's inside: `\\` is a backslash, `\xHH` a byte, anything else
/// stands for itself.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1)) {
            (b'\\', Some(b'\\')) => {
                out.push(b'\\');
                i += 2;
            }
            (b'\\', Some(b'x')) => {
                let hex = text.get(i + 2..i + 4).expect("\\x needs two hex digits");
                out.push(u8::from_str_radix(hex, 16).expect("bad hex escape"));
                i += 4;
            }
            (b'\\', _) => panic!("unknown escape in {text:?}"),
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// Decodes a field: pieces `"..."` or `"..."x<count>` joined by `+`.
fn field(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for piece in text.split('+') {
        let rest = piece
            .strip_prefix('"')
            .expect("a piece starts with a quote");
        let (inner, count) = rest.split_once('"').expect("a piece ends with a quote");
        let count = match count.strip_prefix('x') {
            Some(n) => n.parse().expect("bad repeat count"),
            None if count.is_empty() => 1,
            None => panic!("junk after piece {piece:?}"),
        };
        out.extend(unescape(inner).repeat(count));
    }
    out
}

struct Case {
    line: usize,
    expected: bool,
    nocase: bool,
    pattern: Vec<u8>,
    string: Vec<u8>,
}

fn cases() -> Vec<Case> {
    CASES
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(n, l)| {
            let cols: Vec<&str> = l.split(' ').collect();
            let [expected, mode, pattern, string] = cols[..] else {
                panic!("line {}: expected 4 columns", n + 1);
            };
            Case {
                line: n + 1,
                expected: match expected {
                    "1" => true,
                    "0" => false,
                    other => panic!("line {}: bad answer {other:?}", n + 1),
                },
                nocase: match mode {
                    "cs" => false,
                    "ci" => true,
                    other => panic!("line {}: bad mode {other:?}", n + 1),
                },
                pattern: field(pattern),
                string: field(string),
            }
        })
        .collect()
}

#[test]
fn field_format_round_trips() {
    assert_eq!(field(r#""a\\b\x00\x20""#), b"a\\b\x00 ");
    assert_eq!(field(r#""*a"x3+"*""#), b"*a*a*a*");
    assert_eq!(field(r#""""#), b"");
}

#[test]
fn matches_redis_7_answers() {
    let cases = cases();
    assert!(cases.len() >= 80, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for c in &cases {
        let got = if c.nocase {
            glob_match_nocase(&c.pattern, &c.string)
        } else {
            glob_match(&c.pattern, &c.string)
        };
        if got != c.expected {
            failures.push(format!(
                "line {}: pattern {:?} string {:?} (nocase {}): redis says {}, we say {}",
                c.line,
                String::from_utf8_lossy(&c.pattern),
                String::from_utf8_lossy(&c.string),
                c.nocase,
                c.expected,
                got
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Case-sensitive answers never depend on case folding, so wherever pattern and string
/// have no ASCII letters whose case could matter, the nocase matcher must agree too.
#[test]
fn nocase_agrees_without_letters() {
    for c in cases().iter().filter(|c| !c.nocase) {
        let has_letters = c
            .pattern
            .iter()
            .chain(&c.string)
            .any(u8::is_ascii_alphabetic);
        if !has_letters {
            assert_eq!(
                glob_match_nocase(&c.pattern, &c.string),
                c.expected,
                "line {}",
                c.line
            );
        }
    }
}
