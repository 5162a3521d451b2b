//! A subject as an operator, a mail server or the API spells it: parsing
//! never panics, and a parsed subject's canonical form parses back to
//! itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_protocol::Subject;

fuzz_target!(|text: &str| {
    let Ok(subject) = text.parse::<Subject>() else {
        return;
    };
    let canonical = subject.to_string();
    assert_eq!(canonical.parse::<Subject>().ok(), Some(subject));
});
