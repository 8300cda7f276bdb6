//! Property tests: a stream of random requests (binary multibulk, quoted and plain
//! inline lines, empty requests) gives the same commands whether parsed whole or read
//! through `Reader` in random-sized pieces, and random garbage gives the same commands
//! and the same error either way.

use proptest::prelude::*;
use redcon::resp::{Limits, Parsed, Parser, ReadError, Reader};
use redcon::ProtocolError;
use std::io::{self, Read};

type Args = Vec<Vec<u8>>;

/// How a run of parsing ended: bytes left over, or an error.
type End = Result<usize, ProtocolError>;

/// A `Read` handing out its data in pieces of the given sizes, in turn.
struct Pieces {
    data: Vec<u8>,
    pos: usize,
    sizes: Vec<usize>,
    turn: usize,
}

impl Read for Pieces {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.turn % self.sizes.len()];
        self.turn += 1;
        let n = size.min(out.len()).min(self.data.len() - self.pos);
        out[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

fn parse_whole(input: &[u8]) -> (Vec<Args>, End) {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        match parser.parse(&input[pos..]) {
            Ok(Parsed::Command { command, consumed }) => {
                out.push(command.args().map(<[u8]>::to_vec).collect());
                pos += consumed;
            }
            Ok(Parsed::Incomplete { consumed }) => return (out, Ok(input.len() - pos - consumed)),
            Err(e) => return (out, Err(e)),
        }
    }
}

fn read_in_pieces(input: &[u8], sizes: Vec<usize>) -> (Vec<Args>, End) {
    let pieces = Pieces {
        data: input.to_vec(),
        pos: 0,
        sizes,
        turn: 0,
    };
    let mut reader = Reader::with_limits(pieces, Limits::default(), 64, 1 << 30);
    let mut out = Vec::new();
    loop {
        match reader.read_command() {
            Ok(Some(command)) => out.push(command.args().map(<[u8]>::to_vec).collect()),
            Ok(None) => return (out, Ok(reader.buffered().len())),
            Err(ReadError::Protocol(e)) => return (out, Err(e)),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}

/// Bytes with CR, LF and NUL over-represented.
fn binary_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        4 => any::<u8>(),
        1 => Just(b'\r'),
        1 => Just(b'\n'),
        1 => Just(0u8),
    ]
}

fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    redcon::resp::OwnedCommand::new(args).to_resp()
}

/// One inline argument: its value and how it is written on the line.
#[derive(Debug, Clone)]
enum Token {
    Plain(Vec<u8>),
    Double(Vec<u8>),
    Single(Vec<u8>),
    /// A plain prefix with a double-quoted part opening mid-argument.
    Mixed(Vec<u8>, Vec<u8>),
}

/// Bytes that may appear unquoted: no whitespace, quotes or NUL.
fn plain_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("plain", |&b| {
        !matches!(
            b,
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c | b'"' | b'\'' | 0
        )
    })
}

fn token() -> impl Strategy<Value = Token> {
    prop_oneof![
        prop::collection::vec(plain_byte(), 1..8).prop_map(Token::Plain),
        prop::collection::vec(binary_byte(), 0..8).prop_map(Token::Double),
        prop::collection::vec(
            any::<u8>().prop_filter("single", |&b| !matches!(b, b'\\' | b'\n' | 0)),
            0..8
        )
        .prop_map(Token::Single),
        (
            prop::collection::vec(plain_byte(), 1..4),
            prop::collection::vec(binary_byte(), 0..4)
        )
            .prop_map(|(a, b)| Token::Mixed(a, b)),
    ]
}

fn encode_double(value: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &b in value {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x20..=0x7e => out.push(b),
            _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
        }
    }
    out.push(b'"');
}

impl Token {
    fn value(&self) -> Vec<u8> {
        match self {
            Token::Plain(v) | Token::Double(v) | Token::Single(v) => v.clone(),
            Token::Mixed(a, b) => [&a[..], &b[..]].concat(),
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Token::Plain(v) => out.extend_from_slice(v),
            Token::Double(v) => encode_double(v, out),
            Token::Single(v) => {
                out.push(b'\'');
                for &b in v {
                    if b == b'\'' {
                        out.push(b'\\');
                    }
                    out.push(b);
                }
                out.push(b'\'');
            }
            Token::Mixed(a, b) => {
                out.extend_from_slice(a);
                encode_double(b, out);
            }
        }
    }
}

/// One request of the stream and the command it should give, if any.
#[derive(Debug, Clone)]
enum Request {
    Multibulk(Args),
    Inline {
        tokens: Vec<Token>,
        seps: Vec<&'static [u8]>,
        crlf: bool,
    },
    Empty(&'static [u8]),
}

impl Request {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Request::Multibulk(args) => out.extend_from_slice(&encode_multibulk(args)),
            Request::Inline { tokens, seps, crlf } => {
                // A line starting with `*` would be multibulk: lead with a space.
                out.push(b' ');
                for (i, t) in tokens.iter().enumerate() {
                    if i > 0 {
                        out.extend_from_slice(seps[i % seps.len()]);
                    }
                    t.encode(out);
                }
                out.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
            }
            Request::Empty(bytes) => out.extend_from_slice(bytes),
        }
    }

    fn expected(&self) -> Option<Args> {
        match self {
            Request::Multibulk(args) if args.is_empty() => None,
            Request::Multibulk(args) => Some(args.clone()),
            Request::Inline { tokens, .. } => Some(tokens.iter().map(Token::value).collect()),
            Request::Empty(_) => None,
        }
    }
}

/// Separators after an argument must start with a byte that ends a plain argument.
const SEPARATORS: &[&[u8]] = &[b" ", b"\t", b"  ", b" \x0b\x0c ", b"\t \r"];
const EMPTIES: &[&[u8]] = &[
    b"\r\n",
    b"\n",
    b"  \t\r\n",
    b"*0\r\n",
    b"*-1\r\n",
    b"*-7\r\n",
];

fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        3 => prop::collection::vec(prop::collection::vec(binary_byte(), 0..24), 0..=8)
            .prop_map(Request::Multibulk),
        3 => (
            prop::collection::vec(token(), 1..=6),
            prop::collection::vec(prop::sample::select(SEPARATORS), 1..4),
            any::<bool>()
        )
            .prop_map(|(tokens, seps, crlf)| Request::Inline { tokens, seps, crlf }),
        1 => prop::sample::select(EMPTIES).prop_map(Request::Empty),
    ]
}

fn piece_sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![Just(1usize), 1usize..16, 1usize..300], 1..12)
}

/// Bytes that make up (and break) requests.
fn garbage() -> impl Strategy<Value = Vec<u8>> {
    let pieces: &[&[u8]] = &[
        b"*", b"$", b"\r", b"\n", b"\r\n", b"0", b"1", b"2", b"3", b"-", b"+", b" ", b"\"", b"'",
        b"\\", b"x", b"\x00", b"a", b"GET", b"*2\r\n", b"$3\r\n", b"\\x4", b"\x0b",
    ];
    prop::collection::vec(prop::sample::select(pieces), 0..80).prop_map(|v| v.concat())
}

proptest! {
    #[test]
    fn pieces_parse_like_the_whole(
        requests in prop::collection::vec(request(), 0..24),
        sizes in piece_sizes(),
    ) {
        let mut stream = Vec::new();
        for r in &requests {
            r.encode(&mut stream);
        }
        let expected: Vec<Args> = requests.iter().filter_map(Request::expected).collect();
        prop_assert_eq!(parse_whole(&stream), (expected.clone(), Ok(0)));
        prop_assert_eq!(read_in_pieces(&stream, sizes), (expected, Ok(0)));
    }

    #[test]
    fn garbage_parses_the_same_in_pieces(input in garbage(), sizes in piece_sizes()) {
        prop_assert_eq!(read_in_pieces(&input, sizes), parse_whole(&input));
    }
}
