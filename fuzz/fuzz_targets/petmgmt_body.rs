//! The Pet Management profile's body decoders (`POST /compat/petmgmt/api/v1/pets` and
//! `.../health-records`): JSON read in body order, the contract's checks, then Petty's. Nothing
//! may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use time::macros::date;

fuzz_target!(|data: &[u8]| {
    let _ = petty_compat::petmgmt::decode_bodies(data, date!(2026 - 12 - 05));
});
