//! The readings API's and MQTT's JSON body: parsed as the edge parses it, then every reading
//! through `Reading::parse`. Nothing may panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petty_core::readings::Reading;
use petty_http::extract::parse_json;
use petty_http::ingest::{MqttIn, ReadingIn};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let now = datetime!(2026-12-05 12:00 UTC);
    if let Ok(message) = parse_json::<MqttIn>(data) {
        let _ = Reading::parse(&message.raw(), now);
        for reading in message.readings.iter().flatten() {
            let _ = Reading::parse(&reading.raw(), now);
        }
    }
    if let Ok(one) = parse_json::<ReadingIn>(data) {
        let _ = Reading::parse(&one.raw(), now);
    }
});
