//! Fuzz target: the glob matcher must never panic or take long, whatever the pattern,
//! and ignoring case must change nothing when no ASCII letter is involved.
//!
//! Input layout: byte 0 is the pattern's length (capped by what follows); the pattern,
//! then the string, follow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redcon::glob::{glob_match, glob_match_nocase};

fuzz_target!(|input: &[u8]| {
    let Some((&len, rest)) = input.split_first() else {
        return;
    };
    let (pattern, string) = rest.split_at(usize::from(len).min(rest.len()));
    let exact = glob_match(pattern, string);
    let folded = glob_match_nocase(pattern, string);
    if !pattern.iter().chain(string).any(u8::is_ascii_alphabetic) {
        assert_eq!(exact, folded);
    }
    // Matching is a single byte compare per step for a literal pattern.
    if !pattern.iter().any(|b| b"*?[\\".contains(b)) && !string.is_empty() {
        assert_eq!(exact, pattern == string);
    }
});
