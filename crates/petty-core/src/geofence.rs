//! Geofences: a named circle or polygon, and a state machine that turns a stream of GPS fixes
//! into "left" and "came back" events without alarming on GPS drift.
//!
//! Distances use a local equirectangular projection around the fence (fences are at most
//! 50 km across, where its error is far below GPS accuracy); circles use the haversine distance.

use crate::validation::{Collector, FieldError, Invalid, required_text};

/// Mean Earth radius, metres.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;
pub const RADIUS_MIN_M: f64 = 10.0;
pub const RADIUS_MAX_M: f64 = 50_000.0;
pub const POINTS_MIN: usize = 3;
pub const POINTS_MAX: usize = 100;
pub const NAME_MAX: usize = 80;

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Circle {
        lat: f64,
        lon: f64,
        radius_m: f64,
    },
    /// Vertices as (lat, lon), not closed (the last is joined to the first).
    Polygon(Vec<(f64, f64)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Fence {
    pub name: String,
    pub shape: Shape,
}

/// A fence as it arrives from the edge. `kind` is `circle` (with `lat`, `lon`, `radius_m`) or
/// `polygon` (with `points`, each (lat, lon)).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawFence {
    pub name: String,
    pub kind: String,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub radius_m: Option<f64>,
    pub points: Option<Vec<(f64, f64)>>,
}

fn check_lat(field: &str, v: Option<f64>) -> Result<f64, Invalid> {
    match v {
        None => Err(Invalid::one(field, "required", format!("{field} is required"))),
        Some(v) if v.is_finite() && (-90.0..=90.0).contains(&v) => Ok(v),
        Some(_) => Err(Invalid::one(field, "out_of_range", format!("{field} must be between -90 and 90"))),
    }
}

fn check_lon(field: &str, v: Option<f64>) -> Result<f64, Invalid> {
    match v {
        None => Err(Invalid::one(field, "required", format!("{field} is required"))),
        Some(v) if v.is_finite() && (-180.0..=180.0).contains(&v) => Ok(v),
        Some(_) => Err(Invalid::one(field, "out_of_range", format!("{field} must be between -180 and 180"))),
    }
}

/// Projects (lat, lon) to metres east and north of `origin` (the local equirectangular
/// projection every distance here uses; the dashboard draws fences with it too).
pub fn project(origin: (f64, f64), p: (f64, f64)) -> (f64, f64) {
    let mut dlon = p.1 - origin.1;
    if dlon > 180.0 {
        dlon -= 360.0;
    } else if dlon < -180.0 {
        dlon += 360.0;
    }
    let x = dlon.to_radians() * origin.0.to_radians().cos() * EARTH_RADIUS_M;
    let y = (p.0 - origin.0).to_radians() * EARTH_RADIUS_M;
    (x, y)
}

/// Great-circle distance in metres.
pub fn haversine_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, la2) = (a.0.to_radians(), b.0.to_radians());
    let dla = la2 - la1;
    let dlo = (b.1 - a.1).to_radians();
    let h = (dla / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlo / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

/// The centre of a polygon's corners, in the local projection around its first corner.
/// `points` must not be empty.
pub fn centroid(points: &[(f64, f64)]) -> (f64, f64) {
    let origin = points[0];
    let n = points.len() as f64;
    let (mut x, mut y) = (0.0, 0.0);
    for p in points {
        let (px, py) = project(origin, *p);
        x += px;
        y += py;
    }
    let (x, y) = (x / n, y / n);
    let lat = origin.0 + (y / EARTH_RADIUS_M).to_degrees();
    let lon = origin.1 + (x / (EARTH_RADIUS_M * origin.0.to_radians().cos().max(1e-9))).to_degrees();
    let lon = if lon > 180.0 {
        lon - 360.0
    } else if lon < -180.0 {
        lon + 360.0
    } else {
        lon
    };
    (lat, lon)
}

fn segment_distance(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    let (cx, cy) = (a.0 + t * dx, a.1 + t * dy);
    ((p.0 - cx).powi(2) + (p.1 - cy).powi(2)).sqrt()
}

/// Ray casting: whether `p` is inside the polygon `v` (even-odd rule).
fn inside(p: (f64, f64), v: &[(f64, f64)]) -> bool {
    let mut c = false;
    let mut j = v.len() - 1;
    for i in 0..v.len() {
        let (a, b) = (v[i], v[j]);
        if (a.1 > p.1) != (b.1 > p.1) && p.0 < (b.0 - a.0) * (p.1 - a.1) / (b.1 - a.1) + a.0 {
            c = !c;
        }
        j = i;
    }
    c
}

impl Fence {
    /// Checks every field and reports every problem at once.
    pub fn parse(raw: &RawFence) -> Result<Fence, Invalid> {
        let mut c = Collector::new();
        let name = c.take(required_text("name", &raw.name, NAME_MAX));
        let shape = match raw.kind.trim().to_ascii_lowercase().as_str() {
            "circle" => {
                let lat = c.take(check_lat("lat", raw.lat));
                let lon = c.take(check_lon("lon", raw.lon));
                let radius = c.take(match raw.radius_m {
                    None => Err(Invalid::one("radius_m", "required", "radius_m is required for a circle")),
                    Some(r) if r.is_finite() && (RADIUS_MIN_M..=RADIUS_MAX_M).contains(&r) => Ok(r),
                    Some(_) => Err(Invalid::one(
                        "radius_m",
                        "out_of_range",
                        format!("radius_m must be between {RADIUS_MIN_M} and {RADIUS_MAX_M} metres"),
                    )),
                });
                match (lat, lon, radius) {
                    (Some(lat), Some(lon), Some(radius_m)) => Some(Shape::Circle { lat, lon, radius_m }),
                    _ => None,
                }
            }
            "polygon" => c.take(parse_points(raw.points.as_deref())),
            _ => {
                c.push(FieldError::new("kind", "one_of", "kind must be one of circle, polygon"));
                None
            }
        };
        c.finish()?;
        match (name, shape) {
            (Some(name), Some(shape)) => Ok(Fence { name, shape }),
            _ => Err(Invalid::one("body", "invalid", "the fence could not be read")),
        }
    }

    /// The point the fence is drawn and measured around: a circle's centre, a polygon's centroid.
    pub fn centre(&self) -> (f64, f64) {
        match &self.shape {
            Shape::Circle { lat, lon, .. } => (*lat, *lon),
            Shape::Polygon(points) => centroid(points),
        }
    }

    /// Metres from the fence's edge: positive outside, negative inside.
    pub fn distance_outside_m(&self, lat: f64, lon: f64) -> f64 {
        match &self.shape {
            Shape::Circle { lat: clat, lon: clon, radius_m } => haversine_m((*clat, *clon), (lat, lon)) - radius_m,
            Shape::Polygon(points) => {
                let origin = centroid(points);
                let v: Vec<(f64, f64)> = points.iter().map(|p| project(origin, *p)).collect();
                let p = project(origin, (lat, lon));
                let mut d = f64::INFINITY;
                for i in 0..v.len() {
                    d = d.min(segment_distance(p, v[i], v[(i + 1) % v.len()]));
                }
                if inside(p, &v) { -d } else { d }
            }
        }
    }

    /// Whether the point is inside (or on the edge of) the fence.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.distance_outside_m(lat, lon) <= 0.0
    }
}

fn parse_points(points: Option<&[(f64, f64)]>) -> Result<Shape, Invalid> {
    let Some(points) = points else {
        return Err(Invalid::one("points", "required", "points are required for a polygon"));
    };
    let mut points = points.to_vec();
    if points.len() > 1 && points.first() == points.last() {
        points.pop(); // a closed ring: the last point repeats the first
    }
    if !(POINTS_MIN..=POINTS_MAX).contains(&points.len()) {
        return Err(Invalid::one(
            "points",
            "out_of_range",
            format!("a polygon needs between {POINTS_MIN} and {POINTS_MAX} points (got {})", points.len()),
        ));
    }
    let mut c = Collector::new();
    for (i, p) in points.iter().enumerate() {
        c.take(check_lat(&format!("points[{i}].lat"), Some(p.0)));
        c.take(check_lon(&format!("points[{i}].lon"), Some(p.1)));
    }
    c.finish()?;
    let origin = centroid(&points);
    if points.iter().any(|p| haversine_m(origin, *p) > RADIUS_MAX_M) {
        return Err(Invalid::one(
            "points",
            "too_large",
            format!("every point must be within {} km of the polygon's centre", RADIUS_MAX_M / 1000.0),
        ));
    }
    let v: Vec<(f64, f64)> = points.iter().map(|p| project(origin, *p)).collect();
    let area2: f64 = (0..v.len()).map(|i| v[i].0 * v[(i + 1) % v.len()].1 - v[(i + 1) % v.len()].0 * v[i].1).sum();
    if area2.abs() / 2.0 < 1.0 {
        return Err(Invalid::one("points", "degenerate", "the polygon's points must enclose an area"));
    }
    Ok(Shape::Polygon(points))
}

/// One position report.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fix {
    pub ts_ms: i64,
    pub lat: f64,
    pub lon: f64,
    /// Radius of the uncertainty, metres; unknown is taken as `FenceRules::max_accuracy_m`.
    pub accuracy_m: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FenceRules {
    /// How long a pet must be clearly on the other side before it counts.
    pub dwell_ms: i64,
    /// Fixes less accurate than this are ignored.
    pub max_accuracy_m: f64,
}

impl Default for FenceRules {
    fn default() -> Self {
        Self { dwell_ms: 60_000, max_accuracy_m: 50.0 }
    }
}

/// The longest a collar must stay outside (or back inside) before it counts, in seconds.
pub const DWELL_MAX_SECS: i64 = 3600;
/// The accuracy a fence may ask of positions, in metres.
pub const ACCURACY_MIN_M: f64 = 5.0;
pub const ACCURACY_MAX_M: f64 = 1000.0;

impl FenceRules {
    /// The rules as they arrive from the edge (`None`: the default): `dwell_secs` 0 to
    /// [`DWELL_MAX_SECS`], `max_accuracy_m` [`ACCURACY_MIN_M`] to [`ACCURACY_MAX_M`]. Every
    /// problem at once.
    pub fn parse(dwell_secs: Option<i64>, max_accuracy_m: Option<f64>) -> Result<FenceRules, Invalid> {
        let defaults = FenceRules::default();
        let mut c = Collector::new();
        let dwell = dwell_secs.unwrap_or(defaults.dwell_ms / 1000);
        if !(0..=DWELL_MAX_SECS).contains(&dwell) {
            c.push(FieldError::new("dwell_secs", "out_of_range", format!("dwell_secs must be 0 to {DWELL_MAX_SECS}")));
        }
        let accuracy = max_accuracy_m.unwrap_or(defaults.max_accuracy_m);
        if !(accuracy.is_finite() && (ACCURACY_MIN_M..=ACCURACY_MAX_M).contains(&accuracy)) {
            c.push(FieldError::new(
                "max_accuracy_m",
                "out_of_range",
                format!("max_accuracy_m must be {ACCURACY_MIN_M} to {ACCURACY_MAX_M} metres"),
            ));
        }
        c.finish()?;
        Ok(FenceRules { dwell_ms: dwell * 1000, max_accuracy_m: accuracy })
    }
}

/// Where the pet is with respect to one fence, between fixes. Start with `FenceState::default()`
/// (not yet known): the first usable fix settles it without an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FenceState {
    /// Whether a usable fix has settled the state yet.
    pub known: bool,
    pub inside: bool,
    /// When the pet left (the first fix of the confirmed exit), while outside.
    pub outside_since_ms: Option<i64>,
    /// The first of an unbroken run of fixes clearly on the other side, not yet confirmed.
    pub candidate_since_ms: Option<i64>,
    /// The latest fix taken into account; older fixes arriving late are ignored.
    pub last_fix_ms: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FenceEventKind {
    Exited,
    Entered,
}

impl FenceEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FenceEventKind::Exited => "exited",
            FenceEventKind::Entered => "entered",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FenceEvent {
    pub kind: FenceEventKind,
    /// When it happened: the first fix clearly on the other side.
    pub at_ms: i64,
    pub explanation: String,
}

/// Takes one fix into account. A fix counts as outside only when it is outside by more than its
/// accuracy radius, and inside only when inside by more than it; anything in between breaks a
/// pending change without making one. A change is confirmed once fixes have stayed clearly on
/// the other side for `dwell_ms`, and dated at the first of them.
pub fn step(fence: &Fence, state: &FenceState, fix: Fix, rules: &FenceRules) -> (FenceState, Option<FenceEvent>) {
    let accuracy = fix.accuracy_m.unwrap_or(rules.max_accuracy_m);
    let usable = accuracy.is_finite()
        && accuracy >= 0.0
        && accuracy <= rules.max_accuracy_m
        && fix.lat.is_finite()
        && fix.lon.is_finite()
        && state.last_fix_ms.is_none_or(|t| fix.ts_ms >= t);
    if !usable {
        return (*state, None);
    }
    let d = fence.distance_outside_m(fix.lat, fix.lon);
    let clearly_out = d > accuracy;
    let clearly_in = d < -accuracy;
    let mut next = FenceState { last_fix_ms: Some(fix.ts_ms), ..*state };

    if !state.known {
        if clearly_out || clearly_in {
            next.known = true;
            next.inside = clearly_in;
            next.outside_since_ms = clearly_out.then_some(fix.ts_ms);
            next.candidate_since_ms = None;
        }
        return (next, None);
    }

    let crossing = if state.inside { clearly_out } else { clearly_in };
    if !crossing {
        next.candidate_since_ms = None;
        return (next, None);
    }
    let since = state.candidate_since_ms.unwrap_or(fix.ts_ms);
    if fix.ts_ms - since < rules.dwell_ms {
        next.candidate_since_ms = Some(since);
        return (next, None);
    }
    next.candidate_since_ms = None;
    next.inside = !state.inside;
    let stayed = (fix.ts_ms - since) as f64 / 1000.0;
    let event = if state.inside {
        next.outside_since_ms = Some(since);
        FenceEvent {
            kind: FenceEventKind::Exited,
            at_ms: since,
            explanation: format!(
                "Left {}: {:.0} m outside its edge (GPS accuracy ±{:.0} m) and still outside {:.0} s later",
                fence.name, d, accuracy, stayed
            ),
        }
    } else {
        let away = state.outside_since_ms.map(|t| since - t);
        next.outside_since_ms = None;
        let away = away.map(|ms| format!(" after {:.0} min away", ms as f64 / 60_000.0)).unwrap_or_default();
        FenceEvent {
            kind: FenceEventKind::Entered,
            at_ms: since,
            explanation: format!(
                "Back inside {}{away}: {:.0} m inside its edge (GPS accuracy ±{:.0} m)",
                fence.name, -d, accuracy
            ),
        }
    };
    (next, Some(event))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAT: f64 = 51.5;
    const LON: f64 = -0.1;
    /// Metres per degree of latitude.
    const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;

    /// A point `north` and `east` metres from (LAT, LON).
    fn at(north: f64, east: f64) -> (f64, f64) {
        (LAT + north / M_PER_DEG, LON + east / (M_PER_DEG * LAT.to_radians().cos()))
    }

    fn circle(radius_m: f64) -> Fence {
        Fence::parse(&RawFence {
            name: "Garden".into(),
            kind: "circle".into(),
            lat: Some(LAT),
            lon: Some(LON),
            radius_m: Some(radius_m),
            points: None,
        })
        .unwrap()
    }

    fn fields(err: &Invalid) -> Vec<(&str, &str)> {
        err.0.iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    fn fix(ts_s: i64, north: f64, acc: f64) -> Fix {
        let (lat, lon) = at(north, 0.0);
        Fix { ts_ms: ts_s * 1000, lat, lon, accuracy_m: Some(acc) }
    }

    fn run(fence: &Fence, fixes: &[Fix]) -> (FenceState, Vec<FenceEvent>) {
        let rules = FenceRules::default();
        let mut state = FenceState::default();
        let mut events = vec![];
        for f in fixes {
            let (s, e) = step(fence, &state, *f, &rules);
            state = s;
            events.extend(e);
        }
        (state, events)
    }

    #[test]
    fn parse_checks_every_field() {
        let err = Fence::parse(&RawFence {
            name: " ".into(),
            kind: "circle".into(),
            lat: Some(91.0),
            lon: None,
            radius_m: Some(5.0),
            points: None,
        })
        .unwrap_err();
        assert_eq!(
            fields(&err),
            [("name", "required"), ("lat", "out_of_range"), ("lon", "required"), ("radius_m", "out_of_range")]
        );
        let err =
            Fence::parse(&RawFence { name: "x".repeat(81), kind: "square".into(), ..Default::default() }).unwrap_err();
        assert_eq!(fields(&err), [("name", "too_long"), ("kind", "one_of")]);
        assert!(Fence::parse(&RawFence { radius_m: Some(50_000.0), ..raw_circle() }).is_ok());
        assert!(Fence::parse(&RawFence { radius_m: Some(50_001.0), ..raw_circle() }).is_err());
        assert!(Fence::parse(&RawFence { radius_m: Some(f64::NAN), ..raw_circle() }).is_err());

        let poly = |points: Vec<(f64, f64)>| {
            Fence::parse(&RawFence {
                name: "Park".into(),
                kind: "Polygon".into(),
                points: Some(points),
                ..Default::default()
            })
        };
        let two = poly(vec![at(0.0, 0.0), at(10.0, 0.0)]).unwrap_err();
        assert_eq!(fields(&two), [("points", "out_of_range")]);
        let many = poly((0..101).map(|i| at((i as f64).sin() * 50.0, (i as f64).cos() * 50.0)).collect()).unwrap_err();
        assert_eq!(fields(&many), [("points", "out_of_range")]);
        let bad = poly(vec![(95.0, 0.0), (0.0, 200.0), (1.0, 1.0)]).unwrap_err();
        assert_eq!(fields(&bad), [("points[0].lat", "out_of_range"), ("points[1].lon", "out_of_range")]);
        let line = poly(vec![at(0.0, 0.0), at(10.0, 0.0), at(20.0, 0.0)]).unwrap_err();
        assert_eq!(fields(&line), [("points", "degenerate")]);
        let huge = poly(vec![(0.0, 0.0), (0.0, 1.0), (1.0, 1.0)]).unwrap_err();
        assert_eq!(fields(&huge), [("points", "too_large")]);
        // A closed ring drops its repeated last point.
        let ring = poly(vec![at(0.0, 0.0), at(0.0, 50.0), at(50.0, 50.0), at(0.0, 0.0)]).unwrap();
        assert!(matches!(ring.shape, Shape::Polygon(ref p) if p.len() == 3));
    }

    fn raw_circle() -> RawFence {
        RawFence {
            name: "Home".into(),
            kind: "circle".into(),
            lat: Some(LAT),
            lon: Some(LON),
            radius_m: Some(100.0),
            points: None,
        }
    }

    #[test]
    fn rules_are_bounded_and_default() {
        assert_eq!(FenceRules::parse(None, None), Ok(FenceRules::default()));
        assert_eq!(FenceRules::parse(Some(0), Some(5.0)), Ok(FenceRules { dwell_ms: 0, max_accuracy_m: 5.0 }));
        let err = FenceRules::parse(Some(3601), Some(f64::NAN)).unwrap_err();
        assert_eq!(fields(&err), [("dwell_secs", "out_of_range"), ("max_accuracy_m", "out_of_range")]);
        assert!(FenceRules::parse(Some(-1), None).is_err());
        assert!(FenceRules::parse(None, Some(1000.1)).is_err());
    }

    #[test]
    fn circle_distances() {
        let f = circle(100.0);
        let (lat, lon) = at(150.0, 0.0);
        assert!((f.distance_outside_m(lat, lon) - 50.0).abs() < 0.5);
        let (lat, lon) = at(0.0, -40.0);
        assert!((f.distance_outside_m(lat, lon) + 60.0).abs() < 0.5);
        assert!(f.contains(LAT, LON));
    }

    #[test]
    fn polygon_containment_including_concave() {
        // A U shape 100 m wide: the notch (x 40–60, y 30–100) is outside.
        let u = vec![
            at(0.0, 0.0),
            at(0.0, 100.0),
            at(100.0, 100.0),
            at(100.0, 60.0),
            at(30.0, 60.0),
            at(30.0, 40.0),
            at(100.0, 40.0),
            at(100.0, 0.0),
        ];
        let f = Fence::parse(&RawFence {
            name: "Yard".into(),
            kind: "polygon".into(),
            points: Some(u),
            ..Default::default()
        })
        .unwrap();
        let d = |n: f64, e: f64| {
            let (lat, lon) = at(n, e);
            f.distance_outside_m(lat, lon)
        };
        assert!((d(10.0, 50.0) + 10.0).abs() < 0.5, "inside the base, 10 m from the bottom edge: {}", d(10.0, 50.0));
        assert!((d(80.0, 50.0) - 10.0).abs() < 0.5, "in the notch, 10 m from either arm: {}", d(80.0, 50.0));
        assert!((d(80.0, 20.0) + 20.0).abs() < 0.5, "inside the left arm: {}", d(80.0, 20.0));
        assert!((d(80.0, 90.0) + 10.0).abs() < 0.5, "inside the right arm: {}", d(80.0, 90.0));
        assert!((d(-30.0, 50.0) - 30.0).abs() < 0.5);
        assert!((d(130.0, 130.0) - 42.43).abs() < 0.5, "diagonal from the corner");
    }

    #[test]
    fn gps_drift_near_a_small_fence_does_not_alarm() {
        let f = circle(15.0);
        // The pet sits at the edge; fixes wander up to ±25 m with 20 m accuracy, and now and
        // then one lands clearly outside.
        let offsets = [0.0, 20.0, 40.0, 10.0, -5.0, 38.0, 25.0, 5.0, 36.0, 30.0, -10.0, 40.0];
        let mut fixes = vec![fix(0, 0.0, 5.0)];
        fixes.extend(offsets.iter().cycle().take(200).enumerate().map(|(i, n)| fix(10 + i as i64 * 10, *n, 20.0)));
        let (state, events) = run(&f, &fixes);
        assert!(events.is_empty(), "{events:?}");
        assert!(state.inside && state.known);
        assert_eq!(state.outside_since_ms, None);
    }

    #[test]
    fn a_walk_out_and_back_is_reported_with_the_right_times() {
        let f = circle(50.0);
        let mut fixes = vec![fix(0, 0.0, 8.0), fix(10, 30.0, 8.0)];
        // Leaves: clearly outside from t = 20 s, on and on.
        fixes.extend((0..10).map(|i| fix(20 + i * 10, 70.0 + i as f64 * 20.0, 8.0)));
        let (state, events) = run(&f, &fixes);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].kind, FenceEventKind::Exited);
        assert_eq!(events[0].at_ms, 20_000);
        assert!(events[0].explanation.starts_with("Left Garden: "), "{}", events[0].explanation);
        assert!(!state.inside);
        assert_eq!(state.outside_since_ms, Some(20_000));

        // Comes back at t = 300 s and stays.
        fixes.extend((0..8).map(|i| fix(300 + i * 15, 0.0, 8.0)));
        let (state, events) = run(&f, &fixes);
        assert_eq!(events.len(), 2);
        assert_eq!((events[1].kind, events[1].at_ms), (FenceEventKind::Entered, 300_000));
        assert!(events[1].explanation.contains("after 5 min away"), "{}", events[1].explanation);
        assert_eq!(
            state,
            FenceState {
                known: true,
                inside: true,
                outside_since_ms: None,
                candidate_since_ms: None,
                last_fix_ms: Some(405_000)
            }
        );
    }

    #[test]
    fn a_short_excursion_is_not_an_exit() {
        let f = circle(50.0);
        let (state, events) = run(
            &f,
            &[fix(0, 0.0, 5.0), fix(10, 80.0, 5.0), fix(40, 90.0, 5.0), fix(60, 10.0, 5.0), fix(90, 80.0, 5.0)],
        );
        assert!(events.is_empty());
        assert_eq!(state.candidate_since_ms, Some(90_000));
    }

    #[test]
    fn poor_accuracy_and_late_fixes_are_ignored() {
        let f = circle(50.0);
        let (s0, _) = run(&f, &[fix(0, 0.0, 5.0)]);
        let rules = FenceRules::default();
        let far = fix(100, 500.0, 80.0);
        assert_eq!(step(&f, &s0, far, &rules), (s0, None));
        let (s1, e) = step(&f, &s0, fix(200, 500.0, 10.0), &rules);
        assert_eq!((s1.candidate_since_ms, e), (Some(200_000), None));
        // Poor fixes in between neither confirm nor break a pending exit.
        assert_eq!(step(&f, &s1, fix(230, 0.0, 200.0), &rules).0, s1);
        assert_eq!(step(&f, &s1, fix(150, 500.0, 10.0), &rules).0, s1, "older than the last fix");
        let (s2, e) = step(&f, &s1, fix(260, 500.0, 10.0), &rules);
        assert_eq!(e.map(|e| (e.kind, e.at_ms)), Some((FenceEventKind::Exited, 200_000)));
        assert!(!s2.inside);
        // Unknown accuracy counts as the worst accepted (50 m): 40 m out is not clear, 60 m is.
        let unknown = Fix { accuracy_m: None, ..fix(300, 90.0, 0.0) };
        assert_eq!(step(&f, &s0, unknown, &rules).0.candidate_since_ms, None);
        let unknown = Fix { accuracy_m: None, ..fix(300, 110.0, 0.0) };
        assert_eq!(step(&f, &s0, unknown, &rules).0.candidate_since_ms, Some(300_000));
    }

    #[test]
    fn the_first_fix_settles_the_state_without_an_event() {
        let f = circle(50.0);
        let (s, e) = run(&f, &[fix(0, 200.0, 5.0)]);
        assert!(e.is_empty());
        assert!(s.known && !s.inside);
        assert_eq!(s.outside_since_ms, Some(0));
        let (s, _) = run(&f, &[fix(0, 50.0, 20.0)]);
        assert!(!s.known, "an unclear fix settles nothing");
        assert_eq!(FenceEventKind::Entered.as_str(), "entered");
    }
}
