//! Writing iCalendar (RFC 5545): content lines ending in CRLF, folded at 75 octets without
//! splitting a character, and TEXT values escaped.

use time::{Date, OffsetDateTime};

/// A calendar being written, one content line at a time.
#[derive(Debug, Default)]
pub struct IcsWriter {
    out: String,
}

impl IcsWriter {
    pub fn new() -> Self {
        Self { out: String::with_capacity(16 * 1024) }
    }

    /// `NAME:value` as given (already escaped or not TEXT), folded.
    pub fn line(&mut self, name: &str, value: &str) {
        let start = self.out.len();
        self.out.push_str(name);
        self.out.push(':');
        self.out.push_str(value);
        if self.out.len() - start > 75 {
            // Rare: refold what was just written.
            let line = self.out.split_off(start);
            fold_into(&mut self.out, &line);
        } else {
            self.out.push_str("\r\n");
        }
    }

    /// `NAME:value` with value escaped as TEXT.
    pub fn text(&mut self, name: &str, value: &str) {
        if value.bytes().any(|b| matches!(b, b'\\' | b';' | b',') || b < 0x20 || b == 0x7f) {
            self.line(name, &escape_text(value));
        } else {
            self.line(name, value);
        }
    }

    /// `NAME:YYYYMMDDTHHMMSSZ`.
    pub fn stamp(&mut self, name: &str, at: OffsetDateTime) {
        self.out.push_str(name);
        self.out.push(':');
        push_stamp(&mut self.out, at);
        self.out.push_str("\r\n");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Appends `YYYYMMDDTHHMMSSZ` without formatting machinery (a feed writes thousands).
fn push_stamp(out: &mut String, at: OffsetDateTime) {
    let at = at.to_offset(time::UtcOffset::UTC);
    let year = u32::try_from(at.year()).unwrap_or(0) % 10_000;
    let mut buf = [0u8; 16];
    let digits = |buf: &mut [u8], value: u32, width: usize| {
        let mut v = value;
        for slot in buf[..width].iter_mut().rev() {
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    digits(&mut buf[0..4], year, 4);
    digits(&mut buf[4..6], u32::from(u8::from(at.month())), 2);
    digits(&mut buf[6..8], u32::from(at.day()), 2);
    buf[8] = b'T';
    digits(&mut buf[9..11], u32::from(at.hour()), 2);
    digits(&mut buf[11..13], u32::from(at.minute()), 2);
    digits(&mut buf[13..15], u32::from(at.second()), 2);
    buf[15] = b'Z';
    out.push_str(std::str::from_utf8(&buf).unwrap_or("19700101T000000Z"));
}

/// Appends `line` to `out` folded at 75 octets: CRLF and a space before each continuation,
/// never inside a UTF-8 character.
fn fold_into(out: &mut String, line: &str) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// Escapes `\`, `;`, `,` and newlines of a TEXT value; drops other control characters.
pub fn escape_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// `YYYYMMDDTHHMMSSZ`.
pub fn utc_stamp(at: OffsetDateTime) -> String {
    let mut out = String::with_capacity(16);
    push_stamp(&mut out, at);
    out
}

/// `YYYYMMDD`.
pub fn date_value(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year(), u8::from(date.month()), date.day())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn long_lines_fold_at_75_octets_without_splitting_characters() {
        let mut w = IcsWriter::new();
        let summary = "é".repeat(60);
        w.text("SUMMARY", &summary);
        let out = w.finish();
        for physical in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(physical.len() <= 75, "{} octets: {physical:?}", physical.len());
        }
        let unfolded = out.replace("\r\n ", "");
        assert_eq!(unfolded, format!("SUMMARY:{summary}\r\n"));
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(escape_text("a\\b;c,d\r\ne\nf\u{7}"), "a\\\\b\\;c\\,d\\ne\\nf");
    }

    #[test]
    fn stamps() {
        assert_eq!(utc_stamp(datetime!(2024-03-08 09:05:07 +01:00)), "20240308T080507Z");
        assert_eq!(date_value(time::macros::date!(2024 - 03 - 22)), "20240322");
    }
}
