//! The Car-Bon profile's query strings (`/compat/carbon/...?item_id=...&Temp=...`), decoded as
//! the web framework does (URL form encoding into a map) and then by every route's decoder.
//! Nothing may panic, and a reading that is accepted keeps the values that were sent.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use petty_compat::carbon_params as params;
use petty_core::readings::Metric;
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    let Ok(p) = serde_urlencoded::from_bytes::<HashMap<String, String>>(data) else { return };
    if let Ok(sent) = params::reading(&p) {
        if let Ok(reading) = sent.to_reading(datetime!(2026-12-05 12:00 UTC)) {
            assert_eq!(reading.value(Metric::AmbientTempC), Some(sent.temp));
            assert_eq!(reading.value(Metric::HumidityPct), Some(sent.hum));
            assert_eq!(reading.value(Metric::CoRaw), Some(sent.co));
        }
    }
    let _ = params::item_range(&p);
    if let Ok(chart) = params::graph(&p) {
        assert!(chart.from_ms < chart.to_ms, "a chart's range runs forwards");
    }
    let _ = params::new_user(&p);
    let _ = params::sms_message(&p);
    if let Some(raw) = p.get("timestamp") {
        let _ = params::path_second(raw);
    }
});
