//! Fuzz target: the ACL rule parser (`ACL SETUSER` modifiers, ACL file lines, selectors)
//! must never panic, and a user it accepts must describe itself (`ACL LIST`) in rules
//! that, applied to a new user, give back the same description (but for one quirk of
//! Redis's, kept on purpose and explained below).
//!
//! Input layout: the text up to the first newline is the user name, the rest the rules
//! (split on whitespace, as an ACL file line). Non-UTF-8 input is skipped: names and
//! rules are text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use redcon::auth::Acl;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let (name, rules) = text.split_once('\n').unwrap_or(("u", text));
    if name.is_empty() || name.contains(char::is_whitespace) {
        return;
    }
    let acl = Acl::new();
    if acl.set_user(name, rules).is_err() {
        // Refused as a whole: the user is left as it was (here: not created).
        assert!(name == "default" || !acl.users().iter().any(|u| u == name));
        return;
    }
    let prefix = format!("user {name} ");
    let line = acl
        .list()
        .into_iter()
        .find(|l| l.starts_with(&prefix))
        .expect("the user is listed");
    let described = &line[prefix.len()..];
    // Redis's own quirk, kept: `%R~*` and `%W~*` merge into one `*` pattern with both
    // rights, described as `~*`, which reads back as all keys: the user's other key
    // patterns are then dropped (or refused, after it). Such a description is not
    // compared.
    let words: Vec<&str> = described
        .split(' ')
        .map(|w| w.trim_start_matches('(').trim_end_matches(')'))
        .collect();
    let merged_star = words.contains(&"~*")
        && words
            .iter()
            .any(|w| *w != "~*" && (w.starts_with('~') || w.starts_with('%')));
    // Also Redis's: a parenthesis inside a selector (in a pattern) reads back as the
    // selector's end.
    if merged_star || parens_in_selector(rules) {
        return;
    }
    let again = Acl::new();
    again
        .set_user("copy", described)
        .expect("a description is valid rules");
    let copy = again
        .list()
        .into_iter()
        .find(|l| l.starts_with("user copy "))
        .expect("the copy is listed");
    assert_eq!(&copy["user copy ".len()..], described);
});

/// Whether a selector in `rules` holds a `(` or `)` besides its own two.
fn parens_in_selector(rules: &str) -> bool {
    let mut open = false;
    for word in rules.split_ascii_whitespace() {
        let mut body = word;
        if !open {
            if let Some(rest) = body.strip_prefix('(') {
                open = true;
                body = rest;
            }
        }
        if !open {
            continue;
        }
        if let Some(rest) = body.strip_suffix(')') {
            open = false;
            body = rest;
        }
        if body.contains(['(', ')']) {
            return true;
        }
    }
    false
}
