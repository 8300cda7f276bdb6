//! Unit tests for the parser: Redis's accepted forms and leniencies, every error and
//! when it fires, skipped empty requests, and resuming across partial input. The
//! expectations were checked against redis-server 7.0.

use super::*;

type Args = Vec<Vec<u8>>;

const K64: usize = 64 * 1024;

fn owned(c: &Command<'_>) -> Args {
    c.args().map(<[u8]>::to_vec).collect()
}

fn cmd(args: &[&[u8]]) -> Args {
    args.iter().map(|a| a.to_vec()).collect()
}

/// Parses all of `input` at once: the commands, then how it ended (`Ok(n)`: `n` bytes
/// left unparsed; `Err`: a protocol error).
fn whole(parser: &mut Parser, input: &[u8]) -> (Vec<Args>, Result<usize, ProtocolError>) {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        match parser.parse(&input[pos..]) {
            Ok(Parsed::Command { command, consumed }) => {
                assert!(consumed > 0);
                out.push(owned(&command));
                pos += consumed;
            }
            Ok(Parsed::Incomplete { consumed }) => {
                pos += consumed;
                return (out, Ok(input.len() - pos));
            }
            Err(e) => return (out, Err(e)),
        }
    }
}

fn parse_all(input: &[u8]) -> (Vec<Args>, Result<usize, ProtocolError>) {
    whole(&mut Parser::new(), input)
}

/// Feeds `input` `step` bytes at a time, keeping the resuming contract.
fn dribble(input: &[u8], step: usize) -> (Vec<Args>, Result<usize, ProtocolError>) {
    let mut parser = Parser::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut end = 0;
    while end < input.len() {
        end = (end + step).min(input.len());
        loop {
            match parser.parse(&input[start..end]) {
                Ok(Parsed::Command { command, consumed }) => {
                    out.push(owned(&command));
                    start += consumed;
                }
                Ok(Parsed::Incomplete { consumed }) => {
                    start += consumed;
                    break;
                }
                Err(e) => return (out, Err(e)),
            }
        }
    }
    (out, Ok(input.len() - start))
}

fn one(input: &[u8]) -> Args {
    match parse_all(input) {
        (cmds, Ok(0)) if cmds.len() == 1 => cmds.into_iter().next().unwrap_or_default(),
        other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(input)),
    }
}

fn error(input: &[u8]) -> ProtocolError {
    match parse_all(input) {
        (_, Err(e)) => e,
        other => panic!("{:?} gave {other:?}", String::from_utf8_lossy(input)),
    }
}

fn incomplete(input: &[u8]) {
    let (cmds, end) = parse_all(input);
    assert!(
        cmds.is_empty() && matches!(end, Ok(n) if n > 0),
        "{:?} gave {cmds:?} {end:?}",
        String::from_utf8_lossy(input)
    );
}

#[test]
fn multibulk_and_inline() {
    let mut p = Parser::new();
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\nGET k\r\n";
    let Ok(Parsed::Command { command, consumed }) = p.parse(input) else {
        panic!("no command")
    };
    assert_eq!(owned(&command), cmd(&[b"SET", b"k", b""]));
    assert!(!command.is_inline());
    assert_eq!(consumed, 26);
    let Ok(Parsed::Command { command, consumed }) = p.parse(&input[26..]) else {
        panic!("no command")
    };
    assert_eq!(owned(&command), cmd(&[b"GET", b"k"]));
    assert!(command.is_inline());
    assert_eq!(consumed, 7);
}

#[test]
fn binary_data_and_zero_copy() {
    let input = b"*2\r\n$4\r\nECHO\r\n$5\r\n\r\n\0*$\r\n";
    let mut p = Parser::new();
    let Ok(Parsed::Command { command, .. }) = p.parse(input) else {
        panic!("no command")
    };
    assert_eq!(&command[1], b"\r\n\0*$");
    // Arguments point into the input itself.
    let range = input.as_ptr_range();
    assert!(command.args().all(|a| range.contains(&a.as_ptr())));
}

#[test]
fn bytes_after_cr_and_after_data_are_not_checked() {
    assert_eq!(one(b"*1\rX$4\rYPING\r\n"), cmd(&[b"PING"]));
    assert_eq!(one(b"*1\r\n$4\r\nPINGxy"), cmd(&[b"PING"]));
    // `$2` reads `PI`, skips `NG`, and the `\r\n` left is a blank inline line.
    assert_eq!(
        parse_all(b"*1\r\n$2\r\nPING\r\n"),
        (vec![cmd(&[b"PI"])], Ok(0))
    );
    assert_eq!(
        parse_all(b"*1\r\n$2\r\nPINGAB\r\n").0,
        vec![cmd(&[b"PI"]), cmd(&[b"AB"])]
    );
    assert_eq!(
        parse_all(b"*1\r\n$4\r\nPINGxyPING\r\n").0,
        vec![cmd(&[b"PING"]), cmd(&[b"PING"])]
    );
    // The byte after `\r` must have arrived, and both bytes after the data.
    incomplete(b"*1\r");
    incomplete(b"*1\r\n$4\r");
    incomplete(b"*1\r\n$4\r\nPING\r");
}

#[test]
fn empty_requests_are_skipped() {
    let input = b"*0\r\n*-1\r\n*-5\r\n*-9223372036854775808\r\n\r\n\n  \t\r\n\x0b\r\nPING\r\n";
    let mut p = Parser::new();
    let Ok(Parsed::Command { command, consumed }) = p.parse(input) else {
        panic!("no command")
    };
    assert_eq!(owned(&command), cmd(&[b"PING"]));
    assert_eq!(consumed, input.len());
    // Empty requests before an unfinished one are reported as consumed.
    assert!(matches!(
        p.parse(b"*0\r\n\r\n*1\r\n$4\r\nPI"),
        Ok(Parsed::Incomplete { consumed: 6 })
    ));
    p.reset();
    assert!(matches!(
        p.parse(b"*0\r\n\n"),
        Ok(Parsed::Incomplete { consumed: 5 })
    ));
    assert!(matches!(
        p.parse(b""),
        Ok(Parsed::Incomplete { consumed: 0 })
    ));
}

#[test]
fn invalid_multibulk_length() {
    for bad in [
        &b"*01\r\n"[..],
        b"*+1\r\n",
        b"*-0\r\n",
        b"* 1\r\n",
        b"*1 \r\n",
        b"*\r\n",
        b"*1\n\r\n",
        b"*x\r\n",
        b"*2147483648\r\n",
        b"*99999999999999999999\r\n",
    ] {
        assert_eq!(error(bad), ProtocolError::InvalidMultibulkLength, "{bad:?}");
    }
    incomplete(b"*2147483647\r\n");
    let limits = Limits {
        max_multibulk_len: 3,
        ..Limits::default()
    };
    let mut p = Parser::with_limits(limits);
    assert!(p.parse(b"*3\r\n").is_ok());
    p.reset();
    assert_eq!(
        p.parse(b"*4\r\n").err(),
        Some(ProtocolError::InvalidMultibulkLength)
    );
}

#[test]
fn invalid_bulk_length() {
    for bad in [
        &b"*1\r\n$05\r\nhello\r\n"[..],
        b"*1\r\n$-0\r\n",
        b"*1\r\n$+5\r\n",
        b"*1\r\n$-1\r\n",
        b"*1\r\n$\r\n",
        b"*1\r\n$ 1\r\n",
        b"*1\r\n$536870913\r\n",
        b"*2\r\n$1\r\na\r\n$1x\r\n",
    ] {
        assert_eq!(error(bad), ProtocolError::InvalidBulkLength, "{bad:?}");
    }
    incomplete(b"*1\r\n$536870912\r\n0123456789");
    let limits = Limits {
        max_bulk_len: 4,
        ..Limits::default()
    };
    let mut p = Parser::with_limits(limits);
    assert!(p.parse(b"*1\r\n$4\r\nPING\r\n").is_ok());
    assert_eq!(
        p.parse(b"*1\r\n$5\r\n").err(),
        Some(ProtocolError::InvalidBulkLength)
    );
}

#[test]
fn expected_dollar() {
    assert_eq!(error(b"*1\r\nX\r\n"), ProtocolError::ExpectedDollar(b'X'));
    assert_eq!(error(b"*1\r\n\r\n"), ProtocolError::ExpectedDollar(b'\r'));
    assert_eq!(
        error(b"*2\r\n$1\r\na\r\n*1\r\n"),
        ProtocolError::ExpectedDollar(b'*')
    );
    // Redis looks at the first byte only once the header's `\r` (and one more byte)
    // is buffered.
    incomplete(b"*1\r\nX");
    incomplete(b"*1\r\nX\r");
}

#[test]
fn too_big_count_string_fires_past_the_limit() {
    let mut line = b"*".to_vec();
    line.resize(K64, b'1');
    incomplete(&line);
    line.push(b'1');
    assert_eq!(error(&line), ProtocolError::TooBigMbulkCountString);
    // A `\r` anywhere in the buffer ends the line: then the number is judged.
    line.extend_from_slice(b"\r\n");
    assert_eq!(error(&line), ProtocolError::InvalidMultibulkLength);
    // A lone `\r` at the end of a long buffer still waits.
    line.truncate(K64 + 2);
    incomplete(&line);
}

#[test]
fn too_big_bulk_count_string_fires_past_the_limit() {
    let mut input = b"*2\r\n$1\r\na\r\n".to_vec();
    let header = input.len();
    input.push(b'$');
    input.resize(header + K64, b'1');
    incomplete(&input);
    input.push(b'1');
    assert_eq!(error(&input), ProtocolError::TooBigBulkCountString);
    // The size check comes before the `$` check.
    let mut input = b"*1\r\n".to_vec();
    input.resize(70_000, b'X');
    assert_eq!(error(&input), ProtocolError::TooBigBulkCountString);
}

#[test]
fn too_big_inline_request_fires_past_the_limit() {
    let mut line = vec![b'A'; K64];
    incomplete(&line);
    line.push(b'A');
    assert_eq!(error(&line), ProtocolError::TooBigInlineRequest);
    // As in Redis, a longer line already complete in the buffer is accepted.
    line.extend_from_slice(b"\r\n");
    assert_eq!(one(&line).len(), 1);
    // The limit counts from the start of the unfinished request, not of the input.
    let mut input = b"PING\r\n".to_vec();
    input.resize(6 + K64, b'A');
    assert_eq!(parse_all(&input), (vec![cmd(&[b"PING"])], Ok(K64)));
}

#[test]
fn inline_requests() {
    assert_eq!(one(b"SET k v\n"), cmd(&[b"SET", b"k", b"v"]));
    assert_eq!(one(b"ECHO a\r\r\n"), cmd(&[b"ECHO", b"a"]));
    assert_eq!(one(b"ECHO a\rb\r\n"), cmd(&[b"ECHO", b"a", b"b"]));
    assert_eq!(one(b" *1\r\n"), cmd(&[b"*1"]));
    assert_eq!(one(b"ECHO ab\"c d\"\r\n"), cmd(&[b"ECHO", b"abc d"]));
    assert_eq!(one(b"ECHO \"\\x41\\n\"\r\n"), cmd(&[b"ECHO", b"A\n"]));
    assert_eq!(one(b"\"\"\r\n"), cmd(&[b""]));
    assert_eq!(one(b"ECHO a\0b\r\n"), cmd(&[b"ECHO", b"a"]));
    assert_eq!(error(b"ECHO \"a\"b\r\n"), ProtocolError::UnbalancedQuotes);
    assert_eq!(error(b"ECHO 'abc\r\n"), ProtocolError::UnbalancedQuotes);
    // A quote is only judged once the whole line is in.
    incomplete(b"ECHO \"abc");
}

#[test]
fn inline_arguments_borrow_input_or_scratch() {
    let input = b"SET \"k 1\" v\r\n";
    let mut p = Parser::new();
    let Ok(Parsed::Command { command, .. }) = p.parse(input) else {
        panic!("no command")
    };
    let range = input.as_ptr_range();
    assert!(range.contains(&command[0].as_ptr()));
    assert!(!range.contains(&command[1].as_ptr()));
    assert!(range.contains(&command[2].as_ptr()));
    assert_eq!(&command[1], b"k 1");
}

#[test]
fn resumes_where_it_stopped() {
    let mut p = Parser::new();
    let input = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nval";
    assert!(matches!(
        p.parse(input),
        Ok(Parsed::Incomplete { consumed: 0 })
    ));
    // Two elements are kept; the third's header is parsed.
    assert_eq!(p.spans.len(), 2);
    assert_eq!(p.needed(), Some(4));
    assert!(matches!(
        p.state,
        State::Data {
            left: 1,
            len: 5,
            ..
        }
    ));
    let mut more = input.to_vec();
    more.extend_from_slice(b"ue\r\n");
    let Ok(Parsed::Command { command, consumed }) = p.parse(&more) else {
        panic!("no command")
    };
    assert_eq!(owned(&command), cmd(&[b"SET", b"k", b"value"]));
    assert_eq!(consumed, more.len());
    assert_eq!(p.needed(), None);
}

#[test]
fn resumes_after_skipped_bytes() {
    let mut p = Parser::new();
    let input = b"\r\n*0\r\n*2\r\n$3\r\nGET\r\n$1";
    let Ok(Parsed::Incomplete { consumed }) = p.parse(input) else {
        panic!("expected incomplete")
    };
    assert_eq!(consumed, 6);
    let mut rest = input[consumed..].to_vec();
    rest.extend_from_slice(b"\r\nk\r\n");
    let Ok(Parsed::Command { command, consumed }) = p.parse(&rest) else {
        panic!("no command")
    };
    assert_eq!(owned(&command), cmd(&[b"GET", b"k"]));
    assert_eq!(consumed, rest.len());
}

#[test]
fn line_searches_resume_instead_of_rescanning() {
    let mut p = Parser::new();
    let mut input = b"*".to_vec();
    for _ in 0..100 {
        input.push(b'1');
        assert!(p.parse(&input).is_ok());
    }
    assert_eq!(p.state, State::Count { searched: 101 });
    let mut p = Parser::new();
    let mut line = b"GET".to_vec();
    line.resize(1000, b' ');
    assert!(p.parse(&line).is_ok());
    assert_eq!(p.state, State::Inline { searched: 1000 });
    line.extend_from_slice(b"k\n");
    let Ok(Parsed::Command { command, .. }) = p.parse(&line) else {
        panic!("no command")
    };
    assert_eq!(owned(&command), cmd(&[b"GET", b"k"]));
}

#[test]
fn any_split_gives_the_same_commands() {
    let input: &[u8] = b"*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n\r\n*0\r\nSET \"a b\" 'c'\r\n\
        *1\rX$4\rYPINGxy*-1\r\nECHO x\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\n0123456789\r\n*1";
    let expected = parse_all(input);
    assert_eq!(expected.0.len(), 5);
    for step in 1..input.len() {
        assert_eq!(dribble(input, step), expected, "step {step}");
    }
    let bad = b"*1\r\n$3\r\nGET\r\nECHO \"a\r\n";
    for step in 1..bad.len() {
        assert_eq!(
            dribble(bad, step),
            (vec![cmd(&[b"GET"])], Err(ProtocolError::UnbalancedQuotes))
        );
    }
}

#[test]
fn errors_reset_the_parser() {
    let mut p = Parser::new();
    assert!(p.parse(b"*2\r\n$1\r\na\r\n").is_ok());
    assert!(p.parse(b"*2\r\n$1\r\na\r\nX\r\n").is_err());
    assert_eq!(p.state, State::Idle);
    assert_eq!(one(b"PING\r\n"), cmd(&[b"PING"]));
    let Ok(Parsed::Command { command, .. }) = p.parse(b"PING\r\n") else {
        panic!("no command")
    };
    assert!(command.is("ping"));
}

#[test]
fn broken_contract_does_not_panic() {
    let mut p = Parser::new();
    assert!(p.parse(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\n").is_ok());
    // Shorter, unrelated input: the request is started over.
    let Ok(Parsed::Command { command, .. }) = p.parse(b"PING\r\n") else {
        panic!("no command")
    };
    assert!(command.is("ping"));
    assert!(p.parse(b"*1\r\n$1").is_ok());
    assert!(p.parse(b"").is_ok());
    assert!(p.parse(b"x").is_ok());
}

#[test]
fn large_commands_do_not_pin_memory() {
    let mut big = b"*5000\r\n".to_vec();
    for _ in 0..5000 {
        big.extend_from_slice(b"$1\r\nx\r\n");
    }
    assert_eq!(one(&big).len(), 5000);
    let mut p = Parser::new();
    assert!(p.parse(&big).is_ok());
    assert!(p.parse(b"PING\r\n").is_ok());
    assert!(p.spans.capacity() < 5000);
}
