//! The AURORA_LIFE profile's event body decoder (`POST /compat/aurora/api/v1/events` and each
//! item of a batch): FastAPI's reading (JSON, field types), then the contract's rules. Nothing
//! may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let _ = petty_compat::aurora::decode_event_body(data, datetime!(2026-12-05 12:00 UTC));
});
