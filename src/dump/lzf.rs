//! The LZF decoder that Redis's RDB strings need (`RDB_ENC_LZF`): liblzf's format, read
//! with every offset and length checked against the input and the declared output size,
//! so a hostile payload is an error rather than a panic or a large allocation.

/// The most output one input byte can produce: a back reference of up to 264 bytes is
/// two or three input bytes, so no valid stream expands more than this many times.
/// A declared size above `input.len() * MAX_EXPANSION` cannot be right and is refused
/// before anything is allocated.
const MAX_EXPANSION: usize = 132;

/// Decompresses `input` into exactly `len` bytes, or `None` if the stream is malformed,
/// refers before the start of the output, or does not produce exactly `len` bytes.
///
/// As Redis (whose `lzf_decompress` reports an error as 0 bytes, which then equals a
/// declared length of 0), an empty declared output decodes to an empty string whatever
/// the input holds.
pub(crate) fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    if len == 0 {
        return Some(Vec::new());
    }
    if len > input.len().saturating_mul(MAX_EXPANSION) {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = usize::from(input[ip]);
        ip += 1;
        if ctrl < 32 {
            // A literal run of ctrl + 1 bytes.
            let run = ctrl + 1;
            let literal = input.get(ip..ip + run)?;
            if out.len() + run > len {
                return None;
            }
            out.extend_from_slice(literal);
            ip += run;
        } else {
            // A back reference: length in the top three bits (7 means "more in the next
            // byte"), distance in the low five bits and the next byte.
            let mut run = ctrl >> 5;
            if run == 7 {
                run += usize::from(*input.get(ip)?);
                ip += 1;
            }
            let low = usize::from(*input.get(ip)?);
            ip += 1;
            let distance = ((ctrl & 0x1f) << 8) + low + 1;
            let run = run + 2;
            if out.len() + run > len || distance > out.len() {
                return None;
            }
            // Byte by byte: the source may overlap what this copy writes (a run of one
            // repeated byte is a reference at distance 1).
            let start = out.len() - distance;
            for i in 0..run {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::decompress;

    #[test]
    fn decodes_what_redis_compressed() {
        // Redis 7.0.15's DUMP of "a" * 100 holds this LZF stream (4 bytes for 100).
        let stream = [0x01, 0x61, 0x61, 0xe0, 0x57, 0x00, 0x01, 0x61, 0x61];
        assert_eq!(decompress(&stream, 100), Some(vec![b'a'; 100]));
        let hello = hex("0c68656c6c6f20776f726c642068e00c0b016421");
        assert_eq!(
            decompress(&hello, 36).as_deref(),
            Some(&b"hello world hello world hello world!"[..])
        );
    }

    #[test]
    fn refuses_malformed_streams() {
        // A reference before the start of the output.
        assert_eq!(decompress(&[0x20, 0x00], 3), None);
        // A literal run longer than the input.
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
        // More output than declared, and less.
        assert_eq!(decompress(&[0x01, b'a', b'b'], 1), None);
        assert_eq!(decompress(&[0x01, b'a', b'b'], 3), None);
        // A reference cut short.
        assert_eq!(decompress(&[0x00, b'a', 0xe0], 10), None);
        assert_eq!(decompress(&[0x00, b'a', 0x20], 10), None);
        // A declared size no stream of this length can reach: refused unallocated.
        assert_eq!(decompress(&[0x00, b'a'], usize::MAX), None);
    }

    #[test]
    fn empty_output_is_empty_whatever_the_input() {
        assert_eq!(decompress(&[0xff, 0xff], 0), Some(Vec::new()));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
