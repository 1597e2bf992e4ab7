//! The Petty profile's collar payload (`POST /compat/petty/ingest`): JSON, the seed's lenient
//! types and checks, then a canonical reading. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let _ = petty_compat::petty::decode_collar_reading(data, datetime!(2026-12-05 12:00 UTC));
});
