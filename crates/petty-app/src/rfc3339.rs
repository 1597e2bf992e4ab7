//! Timestamps in JSON: RFC 3339 in UTC with milliseconds (`2026-11-22T06:15:35.123Z`), the
//! precision the store keeps. Written by hand because `time`'s general formatter cost more than
//! the rest of a pet's serialisation; read with `time`'s parser, which accepts any offset.
//!
//! Use as `#[serde(serialize_with = "petty_app::rfc3339::serialize")]` or
//! `#[serde(with = "petty_app::rfc3339::option")]`.

use serde::Serializer;
use time::{OffsetDateTime, UtcOffset};

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, or `None` for a year outside 0000–9999.
pub fn format(t: OffsetDateTime) -> Option<[u8; 24]> {
    let t = t.to_offset(UtcOffset::UTC);
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, u8::from(t.month()).into());
    put(8, 2, t.day().into());
    put(11, 2, t.hour().into());
    put(14, 2, t.minute().into());
    put(17, 2, t.second().into());
    put(20, 3, t.millisecond().into());
    Some(out)
}

/// Epoch milliseconds as RFC 3339 text; `None` out of range.
pub fn from_ms(ms: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()?;
    format(t).and_then(|b| String::from_utf8(b.to_vec()).ok())
}

pub fn serialize<S: Serializer>(t: &OffsetDateTime, serializer: S) -> Result<S::Ok, S::Error> {
    let bytes = format(*t).ok_or_else(|| serde::ser::Error::custom("year outside 0000-9999"))?;
    // Only ASCII digits and separators were written.
    serializer.serialize_str(std::str::from_utf8(&bytes).map_err(serde::ser::Error::custom)?)
}

pub mod option {
    use serde::{Deserializer, Serializer};
    use time::OffsetDateTime;

    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, serializer: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => super::serialize(t, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<OffsetDateTime>, D::Error> {
        time::serde::rfc3339::option::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn formats_utc_with_milliseconds() {
        let text = |t| String::from_utf8(format(t).unwrap().to_vec()).unwrap();
        assert_eq!(text(datetime!(2026-11-22 06:15:35.123 UTC)), "2026-11-22T06:15:35.123Z");
        assert_eq!(text(datetime!(0999-01-02 03:04:05 UTC)), "0999-01-02T03:04:05.000Z");
        assert_eq!(text(datetime!(2026-11-22 01:00:00.5 +02:00)), "2026-11-21T23:00:00.500Z");
        assert!(format(datetime!(-0001-01-01 00:00 UTC)).is_none());
    }

    #[test]
    fn what_it_writes_time_reads_back() {
        let t = datetime!(2024-02-29 23:59:59.999 UTC);
        let text = String::from_utf8(format(t).unwrap().to_vec()).unwrap();
        let back = OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339).unwrap();
        assert_eq!(back, t);
    }
}
