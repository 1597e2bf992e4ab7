//! What people send on the WebSocket and in feedback: a client's text frame (a JSON command,
//! its topic and resume cursor, decoded as a session decodes it), a topic (`device:{id}`, ...),
//! and an owner's verdict on an episode with its label and note. Nothing may panic, and a topic
//! that parses writes back as the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petty_bus::Topic;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = petty_http::live::check_client_message(text);
    if let Ok(topic) = text.parse::<Topic>() {
        let again: Topic = topic.to_string().parse().expect("a written topic reads back");
        assert_eq!(again, topic);
    }
    let mut parts = text.splitn(3, '\n');
    let (verdict, label, note) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let _ = petty_app::feedback::parse(verdict, label, note);
});
