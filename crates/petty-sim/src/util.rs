//! Small numeric helpers shared by the device models.

use rand::RngExt;
use rand::rngs::StdRng;

pub(crate) const MINUTE_MS: i64 = 60_000;
pub(crate) const HOUR_MS: i64 = 60 * MINUTE_MS;
pub(crate) const DAY_MS: i64 = 24 * HOUR_MS;

/// Mixes a seed and a stream number into a new seed (SplitMix64's finaliser).
pub(crate) fn mix(seed: u64, stream: u64) -> u64 {
    let mut z = seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A roughly normal number with mean 0 and standard deviation `sd` (sum of uniforms).
pub(crate) fn noise(rng: &mut StdRng, sd: f64) -> f64 {
    let s: f64 = (0..4).map(|_| rng.random::<f64>()).sum::<f64>() - 2.0;
    // Four uniforms have variance 4/12.
    s * sd * 3f64.sqrt()
}

/// `x` rounded to `places` decimals.
pub(crate) fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// The local day number and the millisecond within it.
pub(crate) fn local_day(ts_ms: i64, utc_offset_ms: i64) -> (i64, i64) {
    let local = ts_ms + utc_offset_ms;
    (local.div_euclid(DAY_MS), local.rem_euclid(DAY_MS))
}

/// Moves `(lat, lon)` by `north_m` and `east_m` metres.
pub(crate) fn offset(lat: f64, lon: f64, north_m: f64, east_m: f64) -> (f64, f64) {
    let dlat = north_m / 111_320.0;
    let dlon = east_m / (111_320.0 * lat.to_radians().cos().max(0.01));
    (lat + dlat, lon + dlon)
}

#[cfg(test)]
/// Metres between two nearby points (equirectangular approximation).
pub(crate) fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let north = (b.0 - a.0) * 111_320.0;
    let east = (b.1 - a.1) * 111_320.0 * a.0.to_radians().cos();
    (north * north + east * east).sqrt()
}
