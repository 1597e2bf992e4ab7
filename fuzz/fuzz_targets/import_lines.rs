//! An import file, CSV or JSON lines (the first byte chooses), read line by line as
//! `POST /api/v1/import` and `petty import` read it. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use petty_http::import::{Format, ImportReader};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, file)) = data.split_first() else { return };
    let format = if choice % 2 == 0 { Format::Csv } else { Format::JsonLines };
    let Ok(mut reader) = ImportReader::new(file, format, datetime!(2026-12-05 12:00 UTC)) else { return };
    // Every line is an item or a counted rejection; the reader ends on its own.
    for _ in 0..100_000 {
        match reader.next_item() {
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break,
        }
    }
});
