//! Fuzz target: the ACL rule parser (`ACL SETUSER` modifiers, ACL file lines) must never
//! panic, and a user it accepts must describe itself (`ACL LIST`) in rules that, applied
//! to a new user, give back the same description.
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
