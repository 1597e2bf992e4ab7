//! The public "Movement Sensor Dataset for Dog Behavior Classification" (Vehkaoja et al., Data
//! in Brief 40, 2022; Mendeley Data 10.17632/vxhx934tbn) as labelled collar days, for
//! `petty train --dataset` and `petty eval --dataset`.
//!
//! `DogMoveData.csv` holds, for 45 dogs (one or two tests each), 100 Hz readings of a harness
//! (`ABack_*`, `GBack_*`) and a collar (`ANeck_*`, `GNeck_*`) sensor with up to three behaviour
//! labels (`Behavior_1..3`, `<undefined>` when none). Columns are found by their names, in any
//! order. Only the collar's accelerometer is read (it is what Petty's collars carry): every
//! `every` seconds, a window of `window` seconds of `ANeck_x/y/z` becomes one reading with its
//! accelerometer features, labelled when one behaviour covers at least 75% of the window (the
//! rule of Kumpulainen et al. 2021 on this dataset). A dog's second test is placed a day after
//! its first. The dataset's labels map onto Petty's ([`petty_label`]); sync markers and
//! unlabelled rows label nothing.

use std::io::Read;

use anyhow::{Context, bail};
use petty_core::behaviour::{Behaviour, Sample, accel_features};

/// 2026-11-02T00:00:00Z: the tests are placed from here (their own clocks start at 0).
const BASE_MS: i64 = 1_793_577_600_000;
const DAY_MS: i64 = 86_400_000;
/// Share of a window one behaviour must cover to label it.
const LABEL_COVER: f64 = 0.75;
/// The most samples one window keeps per axis (what a reading may carry).
const MAX_WINDOW: usize = 1024;

/// The dataset's behaviour as one of Petty's, or `None` for what labels nothing here
/// (`<undefined>`, the sync markers, panting: a breathing pattern over a posture, which the
/// posture's own label says).
pub(crate) fn petty_label(label: &str) -> Option<Behaviour> {
    Some(match label.trim() {
        // The dataset has no sleep: lying, sitting and standing are resting.
        "Lying chest" | "Sitting" | "Standing" => Behaviour::Resting,
        // Sniffing happens on the move; Petty's walks include their sniffing stops.
        "Walking" | "Sniffing" => Behaviour::Walking,
        "Trotting" | "Galloping" => Behaviour::Running,
        "Playing" | "Tugging" | "Carrying object" | "Jumping" | "Bowing" => Behaviour::Playing,
        "Pacing" => Behaviour::Pacing,
        "Eating" => Behaviour::Eating,
        "Drinking" => Behaviour::Drinking,
        "Shaking" => Behaviour::Shaking,
        _ => return None,
    })
}

/// How the readings are cut from the 100 Hz stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cut {
    /// Seconds between readings.
    pub every_s: f64,
    /// Seconds of accelerometer each reading carries.
    pub window_s: f64,
}

/// One dog of the dataset: its DogID and its labelled readings, in time order.
pub(crate) type Dog = (String, Vec<(Sample, Behaviour)>);

/// The dataset read: each dog's labelled readings, in time order, and what was left out.
#[derive(Debug, Default)]
pub(crate) struct Dataset {
    /// `(DogID, readings)`, by DogID.
    pub dogs: Vec<Dog>,
    pub rows: u64,
    /// Rows whose numbers did not read.
    pub bad_rows: u64,
    /// Windows without one behaviour over 75% of them.
    pub unlabelled_windows: u64,
}

/// One (dog, test) stretch being cut into windows.
struct Stretch {
    dog: String,
    test: i64,
    last_t: f64,
    hz: Option<f64>,
    next_start: f64,
    start: f64,
    x: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    labels: Vec<Option<Behaviour>>,
}

impl Stretch {
    fn new(dog: String, test: i64, t: f64) -> Stretch {
        Stretch {
            dog,
            test,
            last_t: t,
            hz: None,
            next_start: t,
            start: t,
            x: Vec::new(),
            y: Vec::new(),
            z: Vec::new(),
            labels: Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.x.clear();
        self.y.clear();
        self.z.clear();
        self.labels.clear();
    }
}

/// Reads `DogMoveData.csv` from `reader`.
pub(crate) fn read(reader: impl Read, cut: Cut) -> anyhow::Result<Dataset> {
    if !(cut.every_s > 0.0 && cut.window_s > 0.0) {
        bail!("--every and --window must be positive seconds");
    }
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(true).from_reader(reader);
    let headers = csv.headers().context("reading the dataset's header")?.clone();
    let column = |name: &str| {
        headers.iter().position(|h| h.trim() == name).with_context(|| {
            format!(
                "the dataset has no `{name}` column (a DogMoveData.csv has DogID, TestNum, t_sec, ANeck_x, ANeck_y, \
                 ANeck_z and Behavior_1..3); its columns are: {}",
                headers.iter().collect::<Vec<_>>().join(", ")
            )
        })
    };
    let (dog_col, test_col, t_col) = (column("DogID")?, column("TestNum")?, column("t_sec")?);
    let axes = [column("ANeck_x")?, column("ANeck_y")?, column("ANeck_z")?];
    let labels = [Some(column("Behavior_1")?), column("Behavior_2").ok(), column("Behavior_3").ok()];

    let mut out = Dataset::default();
    let mut dogs: std::collections::BTreeMap<String, Vec<(Sample, Behaviour)>> = Default::default();
    let mut stretch: Option<Stretch> = None;
    let mut record = csv::StringRecord::new();
    while csv.read_record(&mut record).context("reading the dataset")? {
        out.rows += 1;
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        let number = |i: usize| field(i).parse::<f64>().ok().filter(|v| v.is_finite());
        let (Some(test), Some(t), Some(x), Some(y), Some(z)) =
            (number(test_col), number(t_col), number(axes[0]), number(axes[1]), number(axes[2]))
        else {
            out.bad_rows += 1;
            continue;
        };
        let dog = field(dog_col);
        if dog.is_empty() {
            out.bad_rows += 1;
            continue;
        }
        // The first of the labels that says something here.
        let label = labels.iter().flatten().find_map(|i| petty_label(field(*i)));
        let test = test as i64;
        let same = stretch.as_ref().is_some_and(|s| {
            s.dog == dog && s.test == test && t > s.last_t && s.hz.is_none_or(|hz| t - s.last_t <= 2.5 / hz)
        });
        if !same {
            // Another dog or test, or a gap in time: the window being cut is dropped.
            stretch = Some(Stretch::new(dog.to_owned(), test, t));
        }
        let Some(s) = stretch.as_mut() else { continue };
        if same && s.hz.is_none() {
            s.hz = Some((1.0 / (t - s.last_t)).round().clamp(1.0, 400.0));
        }
        s.last_t = t;
        if s.x.is_empty() {
            if t + 1e-9 < s.next_start {
                continue;
            }
            s.start = t;
        }
        s.x.push(x);
        s.y.push(y);
        s.z.push(z);
        s.labels.push(label);
        let Some(hz) = s.hz else { continue };
        let want = ((cut.window_s * hz).round() as usize).clamp(8, MAX_WINDOW);
        if s.x.len() < want {
            continue;
        }
        s.next_start = s.start + cut.every_s;
        let mut counts = [0usize; petty_core::behaviour::BEHAVIOUR_COUNT];
        for b in s.labels.iter().flatten() {
            counts[b.index()] += 1;
        }
        let (best, n) = counts.iter().enumerate().max_by_key(|(_, n)| **n).map_or((0, 0), |(i, n)| (i, *n));
        let covered = n as f64 / s.labels.len() as f64;
        match accel_features(hz, &s.x, &s.y, &s.z) {
            Ok(features) if covered >= LABEL_COVER => {
                let ts_ms = BASE_MS + (s.test - 1).max(0) * DAY_MS + (s.start * 1000.0).round() as i64;
                let sample = Sample { ts_ms, accel: Some(features), ..Sample::default() };
                dogs.entry(s.dog.clone()).or_default().push((sample, Behaviour::ALL[best]));
            }
            _ => out.unlabelled_windows += 1,
        }
        s.clear();
    }
    for readings in dogs.values_mut() {
        readings.sort_by_key(|(s, _)| s.ts_ms);
    }
    out.dogs = dogs.into_iter().collect();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::f64::consts::PI;
    use std::fmt::Write as _;

    use super::*;

    /// A small file in the dataset's format (columns in another order than the original's, an
    /// unused gyroscope column, `<undefined>` rows, a sync marker, a bad number): `dogs` dogs,
    /// each walking, lying and trotting, at 100 Hz.
    fn sample_file(dogs: u32) -> String {
        let mut s = String::from(
            "DogID,TestNum,t_sec,Behavior_1,ANeck_z,ANeck_x,ANeck_y,GNeck_x,Behavior_2,Behavior_3,Task,PointEvent\n",
        );
        for dog in 0..dogs {
            let id = 16 + dog;
            // (label, seconds, stride Hz, amplitude, pitch degrees)
            let plan = [
                ("<undefined>", 20.0, 0.0, 0.0, 0.0),
                ("Walking", 90.0, 2.0 + 0.1 * f64::from(dog), 0.3, 0.0),
                ("Synchronization", 5.0, 0.0, 0.0, 0.0),
                ("Lying chest", 90.0, 0.0, 0.0, -10.0),
                ("Trotting", 60.0, 3.2, 0.9, 5.0_f64),
            ];
            let mut t = 0.0;
            for (label, secs, hz, amp, pitch) in plan {
                for i in 0..(secs * 100.0) as usize {
                    let (ts, th) = (i as f64 / 100.0, pitch.to_radians());
                    let wave = amp * (2.0 * PI * hz * ts).sin();
                    let noise = ((i * 7919 + dog as usize * 31) % 97) as f64 / 97.0 * 0.02;
                    let (x, y, z) = (-th.sin() * (1.0 + wave) + noise, 0.1 * wave, th.cos() * (1.0 + wave) - noise);
                    let _ = writeln!(
                        s,
                        "{id},1,{t:.2},{label},{z:.4},{x:.4},{y:.4},0.0,<undefined>,<undefined>,<undefined>,<undefined>"
                    );
                    t += 0.01;
                }
            }
            let _ = writeln!(s, "{id},1,{t:.2},Walking,oops,0,0,0,<undefined>,<undefined>,Task walk,<undefined>");
        }
        s
    }

    #[test]
    fn the_dataset_s_collar_windows_become_labelled_readings() {
        let data = read(sample_file(3).as_bytes(), Cut { every_s: 10.0, window_s: 2.0 }).unwrap();
        assert_eq!(data.dogs.len(), 3);
        assert_eq!(data.bad_rows, 3, "one unreadable number per dog");
        assert_eq!(data.rows, 3 * (26_500 + 1));
        let (id, readings) = &data.dogs[0];
        assert_eq!(id, "16");
        // 265 s cut every 10 s: 27 windows, of which the undefined start (2) and the sync
        // marker's neighbourhood do not label.
        let labels: Vec<Behaviour> = readings.iter().map(|(_, b)| *b).collect();
        let count = |b| labels.iter().filter(|l| **l == b).count();
        assert!((8..=9).contains(&count(Behaviour::Walking)), "{labels:?}");
        assert!((8..=9).contains(&count(Behaviour::Resting)), "lying on the chest is resting: {labels:?}");
        assert!((5..=6).contains(&count(Behaviour::Running)), "trotting is running: {labels:?}");
        assert!(data.unlabelled_windows >= 3 * 2, "{}", data.unlabelled_windows);
        let walking = readings.iter().find(|(_, b)| *b == Behaviour::Walking).unwrap().0;
        let a = walking.accel.unwrap();
        assert!((a.dominant_hz - 2.0).abs() < 0.3, "the stride's frequency survives the cut: {a:?}");
        assert_eq!(walking.ts_ms.rem_euclid(1000), 0);
        assert!(walking.heart_rate.is_none() && walking.steps.is_none(), "the dataset has no such sensors");
    }

    #[test]
    fn one_dog_left_out_at_a_time_scores_every_dog_and_a_model_of_all_carries_its_curves() {
        use petty_core::behaviour::{Confidence, Forest, TrainParams};
        use petty_sim::labelled::{epoch_rows, leave_one_dog_out};

        let data = read(sample_file(4).as_bytes(), Cut { every_s: 5.0, window_s: 2.0 }).unwrap();
        let dogs: Vec<&[(Sample, Behaviour)]> = data.dogs.iter().map(|(_, r)| r.as_slice()).collect();
        let params = TrainParams { trees: 5, ..TrainParams::default() };
        let (e, judged) = leave_one_dog_out(&dogs, &params, 1).unwrap();
        let epochs: usize = dogs.iter().map(|d| epoch_rows(d).len()).sum();
        assert_eq!(e.epochs as usize, epochs, "every labelled minute of every dog is scored once");
        assert_eq!(judged.len(), epochs);
        for b in [Behaviour::Walking, Behaviour::Resting, Behaviour::Running] {
            assert!(e.label(b).support > 0, "{b}: {:?}", e.labels);
        }
        let rows: Vec<_> = dogs.iter().flat_map(|d| epoch_rows(d)).collect();
        let model = Forest::train(&rows, &params, 1).unwrap().with_confidence(Confidence::fit(&judged));
        assert!(model.confidence_curves().is_some());
        assert_eq!(Forest::from_text(&model.to_text()).unwrap(), model);
    }

    #[test]
    fn a_file_without_the_collar_s_columns_says_which() {
        let err = read("DogID,TestNum,t_sec,ABack_x\n16,1,0.0,0.1\n".as_bytes(), Cut { every_s: 10.0, window_s: 2.0 })
            .unwrap_err();
        assert!(err.to_string().contains("no `ANeck_x` column"), "{err}");
    }

    #[test]
    fn labels_map_onto_petty_s() {
        assert_eq!(petty_label("Galloping"), Some(Behaviour::Running));
        assert_eq!(petty_label("Carrying object"), Some(Behaviour::Playing));
        assert_eq!(petty_label("Sniffing"), Some(Behaviour::Walking));
        assert_eq!(petty_label("<undefined>"), None);
        assert_eq!(petty_label("Extra_Synchronization"), None);
        assert_eq!(petty_label("Panting"), None);
    }
}
