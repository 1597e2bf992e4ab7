//! Server-drawn SVG charts of a device's telemetry: a title, a y axis with "nice" ticks and its
//! unit, a UTC time axis whose labels follow the span, alarm thresholds as dashed lines, and
//! the data as a line (with its min–max band) or as bars. The caller downsamples through the
//! rollups and hands over at most a few hundred [`Bucket`]s, so a year draws as fast as an hour.
//! The output is standalone SVG 1.1: no scripts, no styles, no external fonts.

use std::fmt::Write;

use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChartKind {
    Line,
    Bar,
}

/// One rollup bucket: its start (UTC epoch ms) and the metric's minimum, mean and maximum.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub start_ms: i64,
    pub min: f64,
    pub mean: f64,
    pub max: f64,
}

/// A horizontal line at `value`, labelled ("Carbon monoxide high 50 ppm").
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub label: String,
    pub value: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    pub title: String,
    pub y_label: String,
    pub unit: String,
    pub kind: ChartKind,
    pub from_ms: i64,
    pub to_ms: i64,
    pub bucket_ms: i64,
    pub buckets: Vec<Bucket>,
    pub thresholds: Vec<Threshold>,
    pub width: u32,
    pub height: u32,
}

impl Chart {
    pub fn new(
        title: String,
        y_label: String,
        unit: String,
        kind: ChartKind,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> Chart {
        Chart {
            title,
            y_label,
            unit,
            kind,
            from_ms,
            to_ms,
            bucket_ms,
            buckets: Vec::new(),
            thresholds: Vec::new(),
            width: 800,
            height: 320,
        }
    }

    pub fn with_buckets(mut self, buckets: Vec<Bucket>) -> Chart {
        self.buckets = buckets;
        self
    }

    pub fn with_thresholds(mut self, thresholds: Vec<Threshold>) -> Chart {
        self.thresholds = thresholds;
        self
    }
}

const MINUTE: i64 = 60_000;
const HOUR: i64 = 3_600_000;
const DAY: i64 = 86_400_000;

/// The rollup width (minute, hour or day) that keeps `[from, to)` at `max_buckets` or fewer.
pub fn bucket_ms_for(from_ms: i64, to_ms: i64, max_buckets: i64) -> i64 {
    let span = (to_ms - from_ms).max(1);
    [MINUTE, HOUR].into_iter().find(|w| (span + *w - 1) / *w <= max_buckets.max(1)).unwrap_or(DAY)
}

/// `s` with XML's five special characters as entities, for text and attribute values (SVG,
/// TwiML).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A number for a coordinate: at most 2 decimals, no trailing zeros.
/// Written with integer arithmetic: a year's chart writes a few thousand of these, and float
/// formatting was most of its cost.
struct N(f64);

impl std::fmt::Display for N {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(number_text(self.0, &mut [0; NUMBER_TEXT]))
    }
}

/// Room for the longest [`number_text`]: a sign, 13 digits, a point and two decimals.
const NUMBER_TEXT: usize = 24;

/// `v` rounded to hundredths (halves away from zero), written into the end of `buf` digit by
/// digit, with no formatting machinery (the per-bucket loops of a year's chart write thousands
/// of these); returns where the text starts.
fn number_digits(v: f64, buf: &mut [u8; NUMBER_TEXT]) -> usize {
    let scaled = v * 100.0;
    if !scaled.is_finite() || scaled.abs() > 1e15 {
        buf[NUMBER_TEXT - 1] = b'0';
        return NUMBER_TEXT - 1;
    }
    // A cast truncates toward zero, so adding a half away from zero first rounds; cheaper than
    // `f64::round`, which is a call into libm.
    let h = if scaled >= 0.0 { (scaled + 0.5) as i64 } else { (scaled - 0.5) as i64 };
    let (mut whole, frac) = (h.unsigned_abs() / 100, h.unsigned_abs() % 100);
    let mut at = NUMBER_TEXT;
    let mut put = |b: u8| {
        at -= 1;
        buf[at] = b;
    };
    if frac != 0 {
        if frac % 10 != 0 {
            put(b'0' + (frac % 10) as u8);
        }
        put(b'0' + (frac / 10) as u8);
        put(b'.');
    }
    loop {
        put(b'0' + (whole % 10) as u8);
        whole /= 10;
        if whole == 0 {
            break;
        }
    }
    if h < 0 {
        put(b'-');
    }
    at
}

/// [`number_digits`] as text.
fn number_text(v: f64, buf: &mut [u8; NUMBER_TEXT]) -> &str {
    let at = number_digits(v, buf);
    std::str::from_utf8(&buf[at..]).unwrap_or("0")
}

/// Appends [`number_text`] of `v`, a byte at a time (all ASCII: no UTF-8 check per number).
fn push_number(s: &mut String, v: f64) {
    let mut buf = [0; NUMBER_TEXT];
    let at = number_digits(v, &mut buf);
    for &b in &buf[at..] {
        s.push(char::from(b));
    }
}

/// Appends one point of a path: `M` or `L`, then `x y`.
fn push_point(s: &mut String, command: char, x: f64, y: f64) {
    s.push(command);
    push_number(s, x);
    s.push(' ');
    push_number(s, y);
}

/// Ticks 1-2-5 × 10^k covering `[lo, hi]`, about `target` of them.
fn nice_ticks(lo: f64, hi: f64, target: usize) -> (f64, f64, f64) {
    let span = (hi - lo).max(1e-9);
    let raw = span / target.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    ((lo / step).floor() * step, (hi / step).ceil() * step, step)
}

fn label_value(v: f64, step: f64) -> String {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    format!("{v:.decimals$}")
}

fn utc(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

fn time_label(ms: i64, span: i64, first: bool) -> String {
    let Some(t) = utc(ms) else { return String::new() };
    let (mo, d) = (u8::from(t.month()), t.day());
    if span <= 2 * DAY {
        if first || (t.hour() == 0 && t.minute() == 0) {
            format!("{mo:02}-{d:02} {:02}:{:02}", t.hour(), t.minute())
        } else {
            format!("{:02}:{:02}", t.hour(), t.minute())
        }
    } else if span <= 90 * DAY {
        format!("{mo:02}-{d:02}")
    } else {
        format!("{}-{mo:02}", t.year())
    }
}

/// A time step giving 4–8 ticks over `span`.
fn time_step(span: i64) -> i64 {
    const STEPS: [i64; 16] = [
        MINUTE,
        5 * MINUTE,
        15 * MINUTE,
        30 * MINUTE,
        HOUR,
        2 * HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        DAY,
        2 * DAY,
        7 * DAY,
        14 * DAY,
        30 * DAY,
        91 * DAY,
        365 * DAY,
    ];
    STEPS.into_iter().find(|s| span / s <= 7).unwrap_or(365 * DAY)
}

/// The chart as an SVG document.
pub fn render_svg(chart: &Chart) -> String {
    let (w, h) = (f64::from(chart.width.max(200)), f64::from(chart.height.max(120)));
    let (left, right, top, bottom) = (64.0, 16.0, 40.0, 40.0);
    let (pw, ph) = (w - left - right, h - top - bottom);
    let from = chart.from_ms;
    let to = if chart.to_ms > from { chart.to_ms } else { from + chart.bucket_ms.max(1) };
    let span = to - from;
    let buckets: Vec<Bucket> = chart
        .buckets
        .iter()
        .copied()
        .filter(|b| b.min.is_finite() && b.mean.is_finite() && b.max.is_finite())
        .filter(|b| b.start_ms + chart.bucket_ms > from && b.start_ms < to)
        .collect();
    let thresholds: Vec<&Threshold> = chart.thresholds.iter().filter(|t| t.value.is_finite()).collect();

    // The y range: the data and every threshold; from 0 when nothing is negative.
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for b in &buckets {
        lo = lo.min(b.min).min(b.mean);
        hi = hi.max(b.max).max(b.mean);
    }
    for t in &thresholds {
        lo = lo.min(t.value);
        hi = hi.max(t.value);
    }
    if !lo.is_finite() {
        (lo, hi) = (0.0, 1.0);
    }
    if lo >= 0.0 {
        lo = 0.0;
    }
    if hi - lo < 1e-9 {
        hi = lo + 1.0;
    }
    let (y0, y1, ystep) = nice_ticks(lo, hi, 5);
    let x = |ms: i64| left + (ms - from) as f64 / span as f64 * pw;
    let y = |v: f64| top + ph - (v - y0) / (y1 - y0) * ph;

    let unit = if chart.unit.is_empty() { String::new() } else { format!(" ({})", chart.unit) };
    let axis_label = format!("{}{unit}", chart.y_label);
    let (vmin, vmax) =
        buckets.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), k| (a.min(k.min), b.max(k.max)));
    let desc = if buckets.is_empty() {
        format!("No data from {} to {} (UTC).", time_label(from, span, true), time_label(to, span, true))
    } else {
        format!(
            "{} buckets from {} to {} (UTC); lowest {}{u}, highest {}{u}.",
            buckets.len(),
            time_label(from, span, true),
            time_label(to, span, true),
            N(vmin),
            N(vmax),
            u = if chart.unit.is_empty() { String::new() } else { format!(" {}", chart.unit) }
        )
    };

    let mut s = String::with_capacity(4096 + buckets.len() * 80);
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" \
         role=\"img\" aria-labelledby=\"chart-title chart-desc\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title id=\"chart-title\">{t}</title><desc id=\"chart-desc\">{d}</desc>\
         <rect width=\"{W}\" height=\"{H}\" fill=\"#ffffff\"/>\
         <text x=\"{cx}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\" fill=\"#1f2933\">{t}</text>",
        W = N(w),
        H = N(h),
        t = xml_escape(&chart.title),
        d = xml_escape(&desc),
        cx = N(w / 2.0),
    );
    // Y grid, ticks and labels.
    let mut v = y0;
    let mut guard = 0;
    while v <= y1 + ystep * 1e-6 && guard < 50 {
        let yy = N(y(v));
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{r}\" y1=\"{yy}\" y2=\"{yy}\" stroke=\"#e4e7eb\"/>\
             <text x=\"{lx}\" y=\"{yy}\" dy=\"4\" text-anchor=\"end\" fill=\"#52606d\">{lab}</text>",
            l = N(left),
            r = N(left + pw),
            lx = N(left - 6.0),
            lab = label_value(v, ystep)
        );
        v += ystep;
        guard += 1;
    }
    // X ticks on round UTC times.
    let step = time_step(span);
    let mut tick = from.div_euclid(step) * step;
    if tick < from {
        tick += step;
    }
    let mut first = true;
    while tick <= to {
        let xx = N(x(tick));
        let _ = write!(
            s,
            "<line x1=\"{xx}\" x2=\"{xx}\" y1=\"{t}\" y2=\"{b}\" stroke=\"#f0f2f4\"/>\
             <text x=\"{xx}\" y=\"{ly}\" text-anchor=\"middle\" fill=\"#52606d\">{lab}</text>",
            t = N(top),
            b = N(top + ph + 4.0),
            ly = N(top + ph + 18.0),
            lab = xml_escape(&time_label(tick, span, first))
        );
        first = false;
        tick += step;
    }
    // Axes and their labels.
    let _ = write!(
        s,
        "<line x1=\"{l}\" x2=\"{l}\" y1=\"{t}\" y2=\"{b}\" stroke=\"#7b8794\"/>\
         <line x1=\"{l}\" x2=\"{r}\" y1=\"{b}\" y2=\"{b}\" stroke=\"#7b8794\"/>\
         <text transform=\"translate(16 {my}) rotate(-90)\" text-anchor=\"middle\" fill=\"#323f4b\">{al}</text>\
         <text x=\"{mx}\" y=\"{ty}\" text-anchor=\"middle\" fill=\"#323f4b\">Time (UTC)</text>",
        l = N(left),
        r = N(left + pw),
        t = N(top),
        b = N(top + ph),
        my = N(top + ph / 2.0),
        al = xml_escape(&axis_label),
        mx = N(left + pw / 2.0),
        ty = N(h - 4.0),
    );

    if buckets.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#7b8794\">No data in this range</text>",
            N(left + pw / 2.0),
            N(top + ph / 2.0)
        );
    } else {
        match chart.kind {
            ChartKind::Bar => {
                let bw = (chart.bucket_ms as f64 / span as f64 * pw * 0.8).max(1.0);
                let base = y(y0.max(0.0).min(y1));
                s.push_str("<g fill=\"#3e7cb1\">");
                for b in &buckets {
                    let cx = x(b.start_ms + chart.bucket_ms / 2);
                    let top_y = y(b.mean).min(base);
                    let height = (y(b.mean) - base).abs();
                    s.push_str("<rect x=\"");
                    push_number(&mut s, cx - bw / 2.0);
                    s.push_str("\" y=\"");
                    push_number(&mut s, top_y);
                    s.push_str("\" width=\"");
                    push_number(&mut s, bw);
                    s.push_str("\" height=\"");
                    push_number(&mut s, height);
                    s.push_str("\"/>");
                }
                s.push_str("</g>");
            }
            ChartKind::Line => {
                // Runs of buckets without gaps; a gap over 1.5 buckets breaks the line.
                let mut runs: Vec<&[Bucket]> = Vec::new();
                let mut start = 0;
                for i in 1..=buckets.len() {
                    let gap = i == buckets.len()
                        || (buckets[i].start_ms - buckets[i - 1].start_ms) as f64 > 1.5 * chart.bucket_ms as f64;
                    if gap {
                        runs.push(&buckets[start..i]);
                        start = i;
                    }
                }
                let mid = |b: &Bucket| x(b.start_ms + chart.bucket_ms / 2);
                for run in &runs {
                    if run.len() > 1 && run.iter().any(|b| b.max > b.min) {
                        s.push_str("<path d=\"");
                        for (i, b) in run.iter().enumerate() {
                            push_point(&mut s, if i == 0 { 'M' } else { 'L' }, mid(b), y(b.max));
                        }
                        for b in run.iter().rev() {
                            push_point(&mut s, 'L', mid(b), y(b.min));
                        }
                        s.push_str("Z\" fill=\"#3e7cb1\" fill-opacity=\"0.18\" stroke=\"none\"/>");
                    }
                }
                let mut line = String::with_capacity(buckets.len() * 16);
                for run in &runs {
                    if run.len() == 1 {
                        let b = run[0];
                        let _ = write!(
                            s,
                            "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"#1f5f99\"/>",
                            N(mid(&b)),
                            N(y(b.mean))
                        );
                        continue;
                    }
                    for (i, b) in run.iter().enumerate() {
                        push_point(&mut line, if i == 0 { 'M' } else { 'L' }, mid(b), y(b.mean));
                    }
                }
                if !line.is_empty() {
                    let _ = write!(s, "<path d=\"{line}\" fill=\"none\" stroke=\"#1f5f99\" stroke-width=\"1.8\"/>");
                }
            }
        }
    }
    for t in &thresholds {
        let yy = N(y(t.value));
        let _ = write!(
            s,
            "<line x1=\"{l}\" x2=\"{r}\" y1=\"{yy}\" y2=\"{yy}\" stroke=\"#c62828\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{r}\" y=\"{yy}\" dy=\"-4\" text-anchor=\"end\" fill=\"#c62828\">{lab}</text>",
            l = N(left),
            r = N(left + pw),
            lab = xml_escape(&t.label)
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_are_written_to_hundredths_without_trailing_zeros() {
        let cases = [
            (0.0, "0"),
            (-0.0, "0"),
            (-0.004, "0"),
            (0.005, "0.01"),
            (1.0, "1"),
            (1.5, "1.5"),
            (1.05, "1.05"),
            (12.349, "12.35"),
            (-3.1, "-3.1"),
            (-0.07, "-0.07"),
            (100.0, "100"),
            (1234567.891, "1234567.89"),
            (f64::NAN, "0"),
            (f64::INFINITY, "0"),
            (2e14, "0"),
        ];
        for (v, want) in cases {
            assert_eq!(N(v).to_string(), want, "{v}");
            let mut s = String::from("x");
            push_number(&mut s, v);
            assert_eq!(s, format!("x{want}"), "{v}");
        }
        let mut path = String::new();
        push_point(&mut path, 'M', 64.0, 12.5);
        push_point(&mut path, 'L', 65.25, -1.0);
        assert_eq!(path, "M64 12.5L65.25 -1");
    }

    const T0: i64 = 1_763_769_600_000; // 2025-11-22T00:00Z

    fn chart(kind: ChartKind, from: i64, to: i64, values: &[(i64, f64)]) -> Chart {
        let bucket = bucket_ms_for(from, to, 400);
        Chart::new("CO in the car".into(), "CO".into(), "ppm".into(), kind, from, to, bucket).with_buckets(
            values.iter().map(|&(t, v)| Bucket { start_ms: t, min: v - 1.0, mean: v, max: v + 1.0 }).collect(),
        )
    }

    /// Every opened element is closed, in order.
    fn balanced(svg: &str) -> bool {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let Some(j) = rest[i..].find('>') else { return false };
            let tag = &rest[i + 1..i + j];
            rest = &rest[i + j + 1..];
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop().as_deref() != Some(name) {
                    return false;
                }
            } else if !tag.ends_with('/') && !tag.starts_with('?') {
                stack.push(tag.split_whitespace().next().unwrap_or("").to_owned());
            }
        }
        stack.is_empty()
    }

    fn ticks_y(svg: &str) -> Vec<f64> {
        svg.split("text-anchor=\"end\" fill=\"#52606d\">")
            .skip(1)
            .filter_map(|p| p.split('<').next()?.parse().ok())
            .collect()
    }

    #[test]
    fn a_line_chart_has_its_title_unit_threshold_and_balanced_tags() {
        let values: Vec<(i64, f64)> = (0..60).map(|i| (T0 + i * MINUTE, (i % 20) as f64)).collect();
        let c = chart(ChartKind::Line, T0, T0 + HOUR, &values)
            .with_thresholds(vec![Threshold { label: "Alarm 50 ppm".into(), value: 50.0 }]);
        let svg = render_svg(&c);
        assert!(balanced(&svg), "{svg}");
        assert!(svg.contains("<title id=\"chart-title\">CO in the car</title>"));
        assert!(svg.contains("CO (ppm)"));
        assert!(svg.contains("Alarm 50 ppm") && svg.contains("stroke-dasharray"));
        let top = ticks_y(&svg).into_iter().fold(f64::MIN, f64::max);
        assert!(top >= 50.0, "the y axis reaches the threshold above all data: {top}");
        assert!(ticks_y(&svg).contains(&0.0), "ppm starts at 0");
    }

    #[test]
    fn a_gap_breaks_the_line_and_nan_is_never_drawn() {
        let mut values: Vec<(i64, f64)> = (0..10).map(|i| (T0 + i * MINUTE, 5.0)).collect();
        values.extend((30..40).map(|i| (T0 + i * MINUTE, 6.0)));
        values.push((T0 + 45 * MINUTE, f64::NAN));
        let svg = render_svg(&chart(ChartKind::Line, T0, T0 + HOUR, &values));
        let line = svg.split("stroke-width=\"1.8\"").next().unwrap();
        let d = line.rsplit("<path d=\"").next().unwrap();
        assert_eq!(d.matches('M').count(), 2, "two runs: {d}");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn bars_are_one_rect_per_bucket_and_no_data_says_so() {
        let values: Vec<(i64, f64)> = (0..24).map(|i| (T0 + i * HOUR, i as f64)).collect();
        let svg = render_svg(&chart(ChartKind::Bar, T0, T0 + 2 * DAY, &values));
        // One rect is the background.
        assert_eq!(svg.matches("<rect").count(), 25);
        let empty = render_svg(&chart(ChartKind::Line, T0, T0 + HOUR, &[]));
        assert!(empty.contains("No data in this range") && balanced(&empty));
    }

    #[test]
    fn titles_are_escaped_and_odd_ranges_do_not_panic() {
        let mut c = chart(ChartKind::Line, T0, T0, &[(T0, 1.0)]);
        c.title = "Bella's <CO> & \"air\"".into();
        let svg = render_svg(&c);
        assert!(svg.contains("Bella&#39;s &lt;CO&gt; &amp; &quot;air&quot;"));
        assert!(balanced(&svg));
    }

    #[test]
    fn time_labels_follow_the_span() {
        let six_hours = render_svg(&chart(ChartKind::Line, T0, T0 + 6 * HOUR, &[]));
        assert!(six_hours.contains(">11-22 00:00<") && six_hours.contains(">02:00<"), "{six_hours}");
        let month = render_svg(&chart(ChartKind::Line, T0, T0 + 30 * DAY, &[]));
        assert!(month.contains(">12-04<") && !month.contains(":00<"), "{month}");
        let year = render_svg(&chart(ChartKind::Line, T0, T0 + 365 * DAY, &[]));
        assert!(year.contains(">2026-"), "{year}");
    }

    #[test]
    fn coordinates_are_written_with_at_most_two_decimals() {
        let shown: Vec<String> =
            [1.0, 1.5, 1.25, -2.05, 0.001, 123.456, -0.5].iter().map(|v| N(*v).to_string()).collect();
        assert_eq!(shown, ["1", "1.5", "1.25", "-2.05", "0", "123.46", "-0.5"]);
    }

    #[test]
    fn buckets_are_chosen_so_a_chart_stays_small() {
        assert_eq!(bucket_ms_for(T0, T0 + HOUR, 400), MINUTE);
        assert_eq!(bucket_ms_for(T0, T0 + 7 * DAY, 400), HOUR);
        assert_eq!(bucket_ms_for(T0, T0 + 365 * DAY, 400), DAY);
        let values: Vec<(i64, f64)> = (0..500).map(|i| (T0 + i * MINUTE, (i % 37) as f64)).collect();
        let svg = render_svg(&chart(ChartKind::Line, T0, T0 + 500 * MINUTE, &values));
        assert!(svg.len() < 60_000, "{}", svg.len());
    }
}
