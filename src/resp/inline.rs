//! Splitting an inline (telnet-style) request line into arguments, byte for byte as
//! Redis's `sdssplitargs` does.
//!
//! Unquoted arguments are borrowed from the line; an argument with a quoted part is
//! unescaped into the parser's scratch space.

use super::command::Span;
use crate::error::ProtocolError;

/// C's `isspace` in the "C" locale: what `sdssplitargs` skips between arguments and
/// accepts after a closing quote.
#[inline]
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// What ends an unquoted argument. Narrower than [`is_space`]: `ECHO\va` is one argument.
#[inline]
fn ends_token(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Splits `line` (without its line ending) into `spans`, unescaping quoted arguments into
/// `scratch`. Spans into the line are offsets from the start of `line`.
///
/// `sdssplitargs` walks a C string, so it stops at the first NUL byte: the rest of the
/// line is ignored, and a quote still open there is unbalanced. This does the same.
///
/// # Errors
/// [`ProtocolError::UnbalancedQuotes`] for an unterminated quote or a closing quote
/// followed by anything but whitespace.
pub(crate) fn split(
    line: &[u8],
    spans: &mut Vec<Span>,
    scratch: &mut Vec<u8>,
) -> Result<(), ProtocolError> {
    let line = match memchr::memchr(0, line) {
        Some(nul) => &line[..nul],
        None => line,
    };
    let mut p = 0;
    loop {
        while line.get(p).is_some_and(|&b| is_space(b)) {
            p += 1;
        }
        if p >= line.len() {
            return Ok(());
        }
        let start = p;
        while line
            .get(p)
            .is_some_and(|&b| !ends_token(b) && b != b'"' && b != b'\'')
        {
            p += 1;
        }
        let quote = match line.get(p) {
            Some(&q @ (b'"' | b'\'')) => q,
            // End of line or a separator: a plain argument, borrowed from the line. The
            // separator itself is skipped as whitespace on the next turn.
            _ => {
                spans.push(Span {
                    start,
                    end: p,
                    in_scratch: false,
                });
                continue;
            }
        };
        // A quote may open mid-argument (`ab"c d"` is `abc d`); whatever came before it
        // is kept, and the closing quote ends the argument.
        let from = scratch.len();
        scratch.extend_from_slice(&line[start..p]);
        p = if quote == b'"' {
            double_quoted(line, p + 1, scratch)?
        } else {
            single_quoted(line, p + 1, scratch)?
        };
        spans.push(Span {
            start: from,
            end: scratch.len(),
            in_scratch: true,
        });
    }
}

/// Checks what follows a closing quote at `close` and returns where scanning resumes.
#[inline]
fn after_closing_quote(line: &[u8], close: usize) -> Result<usize, ProtocolError> {
    match line.get(close + 1) {
        Some(&b) if !is_space(b) => Err(ProtocolError::UnbalancedQuotes),
        _ => Ok(close + 1),
    }
}

/// Unescapes a double-quoted section starting at `p` (just past the opening quote):
/// `\xHH`, `\n \r \t \b \a`, and `\c` for any other `c`.
fn double_quoted(line: &[u8], mut p: usize, out: &mut Vec<u8>) -> Result<usize, ProtocolError> {
    loop {
        match line.get(p) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'"') => return after_closing_quote(line, p),
            Some(b'\\') => {
                let hex = (hex_value(line.get(p + 2)), hex_value(line.get(p + 3)));
                match (line.get(p + 1), hex) {
                    (Some(b'x'), (Some(hi), Some(lo))) => {
                        out.push(hi << 4 | lo);
                        p += 4;
                    }
                    (Some(&c), _) => {
                        out.push(match c {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 0x08,
                            b'a' => 0x07,
                            other => other,
                        });
                        p += 2;
                    }
                    // A backslash ending the line is an ordinary byte; the quote is
                    // then unterminated.
                    (None, _) => {
                        out.push(b'\\');
                        p += 1;
                    }
                }
            }
            Some(&c) => {
                out.push(c);
                p += 1;
            }
        }
    }
}

/// Copies a single-quoted section starting at `p` (just past the opening quote); only
/// `\'` is an escape.
fn single_quoted(line: &[u8], mut p: usize, out: &mut Vec<u8>) -> Result<usize, ProtocolError> {
    loop {
        match line.get(p) {
            None => return Err(ProtocolError::UnbalancedQuotes),
            Some(b'\\') if line.get(p + 1) == Some(&b'\'') => {
                out.push(b'\'');
                p += 2;
            }
            Some(b'\'') => return after_closing_quote(line, p),
            Some(&c) => {
                out.push(c);
                p += 1;
            }
        }
    }
}

#[inline]
fn hex_value(b: Option<&u8>) -> Option<u8> {
    match *b? {
        c @ b'0'..=b'9' => Some(c - b'0'),
        c @ b'a'..=b'f' => Some(c - b'a' + 10),
        c @ b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits `line` and returns the arguments, plus whether each came from scratch.
    fn run(line: &[u8]) -> Result<Vec<(Vec<u8>, bool)>, ProtocolError> {
        let mut spans = Vec::new();
        let mut scratch = Vec::new();
        split(line, &mut spans, &mut scratch)?;
        Ok(spans
            .iter()
            .map(|s| {
                let src = if s.in_scratch { &scratch[..] } else { line };
                (src[s.start..s.end].to_vec(), s.in_scratch)
            })
            .collect())
    }

    fn args(line: &[u8]) -> Vec<Vec<u8>> {
        run(line)
            .unwrap_or_else(|e| panic!("{e} for {line:?}"))
            .into_iter()
            .map(|(a, _)| a)
            .collect()
    }

    fn unbalanced(line: &[u8]) {
        assert_eq!(run(line), Err(ProtocolError::UnbalancedQuotes), "{line:?}");
    }

    #[test]
    fn plain_arguments_borrow_the_line() {
        let got = run(b"SET key value").unwrap();
        assert_eq!(
            got,
            vec![
                (b"SET".to_vec(), false),
                (b"key".to_vec(), false),
                (b"value".to_vec(), false)
            ]
        );
    }

    #[test]
    fn whitespace_rules() {
        // isspace is skipped before arguments, including \v and \f...
        assert_eq!(args(b" \t\x0b\x0cPING \t "), vec![b"PING".to_vec()]);
        // ...but only space, \t, \n and \r end an unquoted argument.
        assert_eq!(args(b"ECHO\x0ba"), vec![b"ECHO\x0ba".to_vec()]);
        assert_eq!(args(b"ECHO\x0ca"), vec![b"ECHO\x0ca".to_vec()]);
        assert_eq!(
            args(b"a\rb\nc\td"),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec(), b"d".to_vec()]
        );
        // Bytes above 0x7f are not space in the C locale.
        assert_eq!(
            args(b"ECHO \xa0b"),
            vec![b"ECHO".to_vec(), b"\xa0b".to_vec()]
        );
        assert!(args(b"").is_empty());
        assert!(args(b" \t \r ").is_empty());
    }

    #[test]
    fn double_quote_escapes() {
        assert_eq!(args(br#""\x41\xzz\x4""#), vec![b"Axzzx4".to_vec()]);
        assert_eq!(args(br#""\x4g""#), vec![b"x4g".to_vec()]);
        assert_eq!(args(br#""\X41""#), vec![b"X41".to_vec()]);
        assert_eq!(args(br#""\xfF\x00""#), vec![b"\xff\x00".to_vec()]);
        assert_eq!(args(br#""a\nb\q\"c""#), vec![b"a\nbq\"c".to_vec()]);
        assert_eq!(args(br#""\r\t\b\a\\""#), vec![b"\r\t\x08\x07\\".to_vec()]);
        assert_eq!(args(b"\"a\rb \xff\""), vec![b"a\rb \xff".to_vec()]);
        assert_eq!(args(br#""a\\""#), vec![b"a\\".to_vec()]);
        assert_eq!(run(b"\"\"").unwrap(), vec![(Vec::new(), true)]);
    }

    #[test]
    fn single_quotes_only_escape_the_quote() {
        assert_eq!(args(br"'a\'b'"), vec![b"a'b".to_vec()]);
        assert_eq!(args(br"'a\nb'"), vec![b"a\\nb".to_vec()]);
        assert_eq!(args(br"'a\\b'"), vec![b"a\\\\b".to_vec()]);
        assert_eq!(args(b"'x\"y'"), vec![b"x\"y".to_vec()]);
    }

    #[test]
    fn quotes_open_mid_argument() {
        assert_eq!(
            args(b"ECHO ab\"c d\""),
            vec![b"ECHO".to_vec(), b"abc d".to_vec()]
        );
        assert_eq!(args(b"x'y z' w"), vec![b"xy z".to_vec(), b"w".to_vec()]);
        // An unquoted backslash is literal, and the quote after it still opens.
        assert_eq!(args(b"a\\\"b\""), vec![b"a\\b".to_vec()]);
    }

    #[test]
    fn closing_quote_must_be_followed_by_space_or_end() {
        assert_eq!(args(b"\"a\" b"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(args(b"\"a\"\x0bb"), vec![b"a".to_vec(), b"b".to_vec()]);
        assert_eq!(args(b"\"a\"\r"), vec![b"a".to_vec()]);
        unbalanced(b"ECHO \"a\"b");
        unbalanced(b"ECHO a\"b\"c");
        unbalanced(b"ECHO 'a'\"b\"");
        unbalanced(b"'a''b'");
    }

    #[test]
    fn unterminated_quotes() {
        unbalanced(b"ECHO \"abc");
        unbalanced(b"ECHO 'abc");
        unbalanced(b"ECHO \"abc\\\"");
        unbalanced(b"ECHO 'abc\\'");
        unbalanced(b"ECHO \"a\\");
        unbalanced(b"ECHO \\\"a");
    }

    #[test]
    fn nul_ends_the_line_as_in_a_c_string() {
        assert_eq!(args(b"ECHO a\0b c"), vec![b"ECHO".to_vec(), b"a".to_vec()]);
        assert!(args(b"\0PING").is_empty());
        assert_eq!(args(b"\"a\"\0x"), vec![b"a".to_vec()]);
        unbalanced(b"\"a\0\"");
        unbalanced(b"'a\0'");
    }

    #[test]
    fn scratch_is_shared_between_arguments() {
        let mut spans = Vec::new();
        let mut scratch = Vec::new();
        split(b"\"a\" plain 'bc'", &mut spans, &mut scratch).unwrap();
        assert_eq!(scratch, b"abc");
        assert_eq!(spans.len(), 3);
        assert!(spans[0].in_scratch && !spans[1].in_scratch && spans[2].in_scratch);
        assert_eq!((spans[1].start, spans[1].end), (4, 9));
    }
}
