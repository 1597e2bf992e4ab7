//! Tests of the device models: determinism, Petty's ranges, and the shape of a day.

use petty_core::readings::{METRIC_COUNT, Metric, RawLocation, RawReading, RawTime, Reading};
use serde_json::Value;

use crate::collar::HEART_SHIFT_BPM;
use crate::util::{DAY_MS, HOUR_MS, distance_m, local_day};
use crate::{DeviceKind, Fleet, Sample};

/// 2026-11-22T00:00:00Z, a local midnight in UTC.
const START: i64 = 1_795_305_600_000;

/// A reading in the ingest format as the server reads it (every field is known).
fn raw(reading: &Value) -> RawReading {
    let obj = reading.as_object().expect("an object");
    let mut values = [None; METRIC_COUNT];
    for (key, value) in obj {
        match key.as_str() {
            "ts" | "seq" | "location" | "accel" => {}
            name => {
                let metric = Metric::from_name(name).unwrap_or_else(|| panic!("unknown field {name}"));
                values[metric.index()] = Some(value.as_f64().expect("a number"));
            }
        }
    }
    RawReading {
        ts: Some(RawTime::EpochMs(obj["ts"].as_i64().expect("ts"))),
        seq: obj["seq"].as_i64(),
        values,
        location: obj.get("location").map(|l| RawLocation {
            lat: l["lat"].as_f64(),
            lon: l["lon"].as_f64(),
            accuracy_m: l["accuracy_m"].as_f64(),
        }),
        extra: Vec::new(),
        accel: obj.get("accel").map(|a| {
            let axis =
                |k: &str| a[k].as_array().map(|v| v.iter().filter_map(Value::as_f64).collect()).unwrap_or_default();
            petty_core::readings::RawAccel { hz: a["hz"].as_f64(), x: axis("x"), y: axis("y"), z: axis("z") }
        }),
    }
}

fn value(s: &Sample, key: &str) -> f64 {
    s.reading[key].as_f64().unwrap_or_else(|| panic!("{key} missing"))
}

#[test]
fn collars_with_an_accelerometer_send_windows_that_ingest_reduces_to_features() {
    let now = petty_core::readings::from_epoch_ms(START + 2 * DAY_MS).unwrap();
    let opts = crate::FleetOptions { accel_hz: Some(25), ..crate::FleetOptions::default() };
    let mut fleet = Fleet::with_options(3, 1, 0, START, &opts);
    let samples = fleet.until(START + 2 * 3_600_000).remove(0);
    assert!(samples.len() >= 100);
    for s in &samples {
        assert_eq!(s.reading["accel"]["x"].as_array().map(Vec::len), Some(50), "25 Hz for 2 s");
        let parsed = Reading::parse(&raw(&s.reading), now).unwrap_or_else(|e| panic!("{e} in {}", s.reading));
        for name in petty_core::behaviour::features::ACCEL_EXTRA {
            assert!(parsed.extra.get(name).is_some_and(|v| v.is_finite()), "{name} in {:?}", parsed.extra);
        }
        let features = petty_core::behaviour::AccelFeatures::from_extra(&parsed.extra).unwrap();
        assert!((0.5..3.0).contains(&features.mag_mean), "about 1 g of gravity: {features:?}");
    }
}

#[test]
fn every_reading_of_a_day_parses_for_several_seeds() {
    let now = petty_core::readings::from_epoch_ms(START + 2 * DAY_MS).unwrap();
    for seed in [0, 1, 2, 42, 1234, u64::MAX] {
        let mut fleet = Fleet::new(seed, 4, 3, START);
        for (device, samples) in fleet.until(START + DAY_MS).into_iter().enumerate() {
            assert!(samples.len() >= 1400, "a day at 60 s or 30 s intervals");
            for (i, s) in samples.iter().enumerate() {
                let parsed = Reading::parse(&raw(&s.reading), now)
                    .unwrap_or_else(|e| panic!("seed {seed} device {device}: {e} in {}", s.reading));
                assert_eq!(parsed.ts_ms(), s.ts_ms);
                assert_eq!(parsed.seq, Some(i as i64));
                // Collars stay within the ranges of a healthy dog.
                if let Some(t) = parsed.value(Metric::TemperatureC) {
                    assert!((38.0..=39.2).contains(&t), "{t}");
                }
                let rssi = parsed.value(Metric::Rssi).unwrap();
                assert!((-90.0..=-40.0).contains(&rssi), "{rssi}");
                if let Some(l) = parsed.location {
                    // 3-8 m outdoors; indoors 1 to 2.5 times the home's 4-15 m.
                    assert!((3.0..=37.5).contains(&l.accuracy_m.unwrap()));
                }
            }
        }
    }
}

#[test]
fn the_same_seed_gives_the_same_readings_however_the_span_is_cut() {
    let mut a = Fleet::new(7, 3, 2, START);
    let mut b = Fleet::new(7, 3, 2, START);
    let whole = a.until(START + 6 * HOUR_MS);
    let mut pieces: Vec<Vec<Sample>> = b.until(START + HOUR_MS);
    for (i, more) in b.until(START + 6 * HOUR_MS).into_iter().enumerate() {
        pieces[i].extend(more);
    }
    assert_eq!(whole, pieces);
    let names: Vec<_> = a.devices().iter().map(|d| (d.name().to_owned(), d.kind())).collect();
    assert_eq!(names[0], ("sim-collar-001".to_owned(), DeviceKind::Collar));
    assert_eq!(names[4], ("sim-air-002".to_owned(), DeviceKind::AirMonitor));

    let mut c = Fleet::new(8, 3, 2, START);
    assert_ne!(whole, c.until(START + 6 * HOUR_MS), "another seed, other readings");
}

#[test]
fn intervals_are_sixty_and_thirty_seconds() {
    let mut fleet = Fleet::new(3, 1, 1, START);
    let all = fleet.until(START + HOUR_MS);
    for (samples, step) in all.iter().zip([60_000, 30_000]) {
        assert!(samples[0].ts_ms >= START && samples[0].ts_ms < START + step);
        assert!(samples.windows(2).all(|w| w[1].ts_ms - w[0].ts_ms == step));
        assert!(samples.last().unwrap().ts_ms <= START + HOUR_MS);
    }
    assert!((fleet.readings_per_sec() - (1.0 / 60.0 + 1.0 / 30.0)).abs() < 1e-9);
}

#[test]
fn a_collar_sleeps_at_night_and_walks_away_from_home_twice_a_day() {
    for seed in [1, 5, 9] {
        let mut fleet = Fleet::new(seed, 1, 0, START);
        let home = fleet.devices()[0].home().unwrap();
        let traits = fleet.devices()[0].traits().unwrap();
        let day = fleet.until(START + DAY_MS).remove(0);
        let at_hour = |h: i64| day.iter().filter(move |s| local_day(s.ts_ms, 0).1 / HOUR_MS == h);

        let night: Vec<&Sample> = at_hour(0).chain(at_hour(2)).chain(at_hour(4)).collect();
        let asleep = night.iter().filter(|s| s.label == "sleeping").count();
        assert!(asleep * 10 >= night.len() * 9, "a few short wake-ups at most: {asleep} of {}", night.len());
        assert!(night.iter().all(|s| s.label == "sleeping" || s.label == "resting"));
        for s in night.iter().filter(|s| s.label == "sleeping") {
            assert_eq!(value(s, "activity_level"), 0.0);
            // 58–72 bpm for a 25 kg adult, moved by the dog's own heart (small dogs and
            // puppies beat faster), read through a sensor with its own noise (at most 10 bpm).
            let shift = (traits.heart - 1.0) * HEART_SHIFT_BPM;
            let (lo, hi) = (58.0 + shift - 4.0 * traits.pulse_noise, 72.0 + shift + 4.0 * traits.pulse_noise);
            assert!((lo..=hi).contains(&value(s, "heart_rate")), "{} outside {lo}–{hi}", value(s, "heart_rate"));
            // 15 a minute for the average dog, scaled by its own breathing (Rishniw 2012).
            let breath = 15.0 * traits.breath;
            assert!((breath - 10.0..=breath + 10.0).contains(&value(s, "respiration_rate")));
            // A twitch in its sleep may count a step, never more.
            assert!(value(s, "steps") <= 1.0);
        }

        // Zoomies are running at home; play off the lead in a park is on a walk.
        let out = |s: &&Sample| away(s, home) > 60.0;
        let walks: Vec<&Sample> = day
            .iter()
            .filter(|s| s.label == "walking" || (s.label == "running" || s.label == "playing") && out(s))
            .collect();
        assert!(walks.len() >= 55, "two walks of 25 minutes or more: {}", walks.len());
        let morning = walks.iter().filter(|s| local_day(s.ts_ms, 0).1 < 12 * HOUR_MS).count();
        assert!(morning > 0 && morning < walks.len(), "a morning and an evening walk");
        let mut furthest = 0f64;
        // A walk stops to sniff now and then (head down, a few steps): most of its readings
        // are brisk, not all.
        let walking: Vec<&&Sample> = walks.iter().filter(|s| s.label == "walking").collect();
        let brisk = walking.iter().filter(|s| value(s, "activity_level") >= 1.0 && value(s, "steps") > 10.0).count();
        assert!(brisk * 10 >= walking.len() * 6, "{brisk} brisk of {} walking readings", walking.len());
        // Stops to sniff or stand: some walking readings barely move.
        let still = walking.iter().filter(|s| value(s, "steps") <= 10.0).count();
        assert!(still * 20 >= walking.len(), "{still} still of {} walking readings", walking.len());
        // On the walks (walking about the house beats slower).
        for s in walks.iter().filter(|s| s.label != "playing" && out(s)) {
            let (lo, hi) = if s.label == "walking" { (105.0, 145.0) } else { (145.0, 190.0) };
            let noise = 4.0 * traits.pulse_noise;
            let shift = (traits.heart - 1.0) * HEART_SHIFT_BPM;
            let hr = lo + shift - noise..=(hi + shift).min(240.0) + noise;
            assert!(hr.contains(&value(s, "heart_rate")), "{} {} outside {hr:?}", s.label, value(s, "heart_rate"));
            let l = &s.reading["location"];
            furthest = furthest.max(distance_m(home, (l["lat"].as_f64().unwrap(), l["lon"].as_f64().unwrap())));
        }
        assert!(furthest > 300.0, "a walk goes out and around: {furthest} m");

        // Indoors the fix wanders (reflections), but within tens of metres.
        for s in day.iter().filter(|s| !["walking", "running", "playing"].contains(&s.label)) {
            let d = away(s, home);
            assert!(d < 60.0, "{} {d} m from home", s.label);
        }
        let plays = day.iter().filter(|s| s.label == "playing").count();
        assert!(plays >= 10, "play bursts: {plays}");
        let mean_hr = |label: &str| {
            let hr: Vec<f64> = day.iter().filter(|s| s.label == label).map(|s| value(s, "heart_rate")).collect();
            hr.iter().sum::<f64>() / hr.len() as f64
        };
        assert!(mean_hr("sleeping") < mean_hr("resting") && mean_hr("resting") < mean_hr("walking"));
        assert!(mean_hr("walking") < mean_hr("playing") && mean_hr("playing") < mean_hr("running"));
    }
}

#[test]
fn a_collar_battery_drains_about_one_percent_an_hour_and_recharges_overnight() {
    let mut fleet = Fleet::new(11, 1, 0, START);
    let week = fleet.until(START + 7 * DAY_MS).remove(0);
    let battery: Vec<f64> = week.iter().map(|s| value(s, "battery_pct")).collect();
    let first_hour = battery[0] - battery[59];
    assert!((0.5..=2.0).contains(&first_hour), "{first_hour}");
    let charges: Vec<&Sample> =
        week.windows(2).filter(|w| value(&w[1], "battery_pct") > value(&w[0], "battery_pct")).map(|w| &w[1]).collect();
    assert!(!charges.is_empty(), "charged within a week");
    assert!(charges.iter().all(|s| s.label == "sleeping" || s.label == "resting"));
    assert!(battery.iter().all(|b| *b >= 10.0), "never runs flat");
    assert!(battery.contains(&100.0));
}

#[test]
fn a_monitor_has_a_carbon_monoxide_incident_within_a_week() {
    let mut fleet = Fleet::new(1, 0, 1, START);
    let week = fleet.until(START + 7 * DAY_MS).remove(0);
    let peak = week.iter().map(|s| value(s, "co_ppm")).fold(0.0, f64::max);
    assert!(peak > 50.0, "{peak}");
    let incidents = week.windows(2).filter(|w| w[0].label == "normal" && w[1].label != "normal").count();
    assert!((1..=20).contains(&incidents), "{incidents}");
    for s in &week {
        let co = value(s, "co_ppm");
        if s.label == "normal" {
            assert!(co <= 3.0, "{co}");
            let t = value(s, "ambient_temp_c");
            assert!((18.0..=24.0).contains(&t), "{t}");
        } else {
            assert!(co <= 420.0, "{co}");
        }
        assert!((35.0..=60.0).contains(&value(s, "humidity_pct")));
    }
    // Rising takes at least ten minutes: no jump from the baseline to 50 ppm in one step.
    assert!(week.windows(2).all(|w| value(&w[1], "co_ppm") - value(&w[0], "co_ppm") < 50.0));
}

/// The distance of a collar's sample from `home`, metres.
fn away(s: &Sample, home: (f64, f64)) -> f64 {
    let l = &s.reading["location"];
    distance_m(home, (l["lat"].as_f64().unwrap_or(0.0), l["lon"].as_f64().unwrap_or(0.0)))
}

#[test]
fn a_dog_that_slips_out_roams_kilometres_away_on_that_day_only() {
    use crate::collar::{Collar, Scenario};
    let home = (52.3584, 4.8680);
    let scenario = Scenario { wander: vec![(1, 14)], ..Scenario::default() };
    let collar = Collar::new(7, home, 0).with_scenario(scenario);
    let mut device = crate::SimDevice::collar("Bella", 60, START, collar);
    let days = device.samples_until(START + 3 * DAY_MS - 1, usize::MAX);
    let furthest = |day: i64| {
        days.iter().filter(|s| (s.ts_ms - START).div_euclid(DAY_MS) == day).map(|s| away(s, home)).fold(0.0, f64::max)
    };
    // Ordinary walks stay within about 1.2 km; the escape goes over 2 km, at 14:00-14:50.
    assert!(furthest(0) < 1300.0 && furthest(2) < 1300.0, "{} {}", furthest(0), furthest(2));
    assert!(furthest(1) > 2000.0, "{}", furthest(1));
    let out: Vec<&Sample> = days.iter().filter(|s| away(s, home) > 1300.0).collect();
    assert!(out.iter().all(|s| (14 * HOUR_MS..15 * HOUR_MS).contains(&local_day(s.ts_ms, 0).1)));
    assert!(out.iter().all(|s| s.label == "walking"), "alone, at a walk");
}

#[test]
fn a_housebound_pet_is_never_walked_and_stays_home() {
    use crate::collar::{Collar, Scenario};
    let home = (52.3584, 4.8680);
    let collar = Collar::new(3, home, 0).with_scenario(Scenario { housebound: true, ..Scenario::default() });
    let mut device = crate::SimDevice::collar("Miso", 60, START, collar);
    let days = device.samples_until(START + 3 * DAY_MS - 1, usize::MAX);
    assert_eq!(days.len(), 3 * 1440);
    // Walking about the house and zoomies, never a walk out.
    assert!(days.iter().all(|s| away(s, home) < 60.0));
    let afoot = days.iter().filter(|s| s.label == "walking" || s.label == "running").count();
    assert!(afoot < 3 * 40, "{afoot} minutes afoot in three days");
    assert!(days.iter().any(|s| s.label == "sleeping") && days.iter().any(|s| s.label == "playing"));
}

#[test]
fn a_scripted_monitor_has_its_incidents_and_no_other() {
    let incident = START + DAY_MS + 19 * HOUR_MS;
    let monitor = crate::air::AirMonitor::scripted(4, START, 0, &[incident]);
    let mut device = crate::SimDevice::air_monitor("Living room", 60, START, monitor);
    let week = device.samples_until(START + 7 * DAY_MS, usize::MAX);
    let high: Vec<&Sample> = week.iter().filter(|s| value(s, "co_ppm") > 50.0).collect();
    assert!(!high.is_empty());
    // 20 minutes up, 8 held, 40 down: above 50 ppm only within that hour and a bit.
    assert!(high.iter().all(|s| (incident..incident + 68 * 60_000).contains(&s.ts_ms)));
    let peak = week.iter().map(|s| value(s, "co_ppm")).fold(0.0, f64::max);
    assert!((140.0..230.0).contains(&peak), "{peak}");
    assert!(
        week.iter().filter(|s| s.ts_ms < incident || s.ts_ms > incident + 68 * 60_000).all(|s| s.label == "normal")
    );
}

#[test]
fn breeds_come_in_their_shares_and_shape_heart_and_gait_beyond_size() {
    use crate::collar::{Build, Traits};
    let dogs: Vec<Traits> = (0..2000).map(Traits::draw).collect();
    let share = |b: Build| dogs.iter().filter(|t| t.build == b).count() as f64 / dogs.len() as f64;
    for (b, expected) in [
        (Build::Standard, 0.45),
        (Build::ShortLegged, 0.15),
        (Build::Flat, 0.12),
        (Build::Sighthound, 0.08),
        (Build::Working, 0.20),
    ] {
        assert!((share(b) - expected).abs() < 0.04, "{b:?}: {} of dogs, not about {expected}", share(b));
    }
    // What size alone would give, averaged over a group: a short-legged dog steps faster and a
    // sighthound's heart beats slower than a standard dog of its mass.
    let mean = |b: Build, f: &dyn Fn(&Traits) -> f64| {
        let of: Vec<f64> = dogs.iter().filter(|t| t.build == b).map(f).collect();
        of.iter().sum::<f64>() / of.len() as f64
    };
    let cadence = |t: &Traits| t.cadence / (25.0 / t.mass_kg).powf(0.15);
    let heart = |t: &Traits| t.heart / (25.0 / t.mass_kg).powf(0.2);
    assert!(mean(Build::ShortLegged, &cadence) > 1.12 * mean(Build::Standard, &cadence));
    assert!(mean(Build::Sighthound, &heart) < 0.95 * mean(Build::Standard, &heart));
    assert!(mean(Build::Flat, &|t| t.breath) > 1.2 * mean(Build::Standard, &|t| t.breath));
    assert!(dogs.iter().filter(|t| t.build == Build::Working).all(|t| t.mass_kg >= 15.0));
}

#[test]
fn some_walks_have_play_in_a_park_and_some_evenings_zoomies_at_home() {
    let (mut romps, mut zoomies) = (0, 0);
    for seed in 1..=6 {
        let mut fleet = Fleet::new(seed, 1, 0, START);
        let home = fleet.devices()[0].home().unwrap();
        let week = fleet.until(START + 7 * DAY_MS).remove(0);
        romps += week.iter().filter(|s| s.label == "playing" && away(s, home) > 100.0).count();
        zoomies += week.iter().filter(|s| s.label == "running" && away(s, home) < 60.0).count();
    }
    // 84 walks, four in ten with 3 to 8 minutes in a park; about 15 evenings of 1 to 3 minutes.
    assert!(romps >= 60, "{romps} minutes of play away from home");
    assert!(zoomies >= 10, "{zoomies} minutes of running at home");
}

#[test]
fn a_collar_out_of_coverage_sends_what_it_kept_in_one_burst_and_loses_nothing() {
    let opts = crate::FleetOptions { coverage_gaps: true, ..crate::FleetOptions::default() };
    let mut fleet = Fleet::with_options(4, 2, 1, START, &opts);
    let mut arrived: Vec<Vec<(i64, i64, u64)>> = vec![Vec::new(); 3];
    // A minute at a time, as `petty simulate` asks in real time: (sent at, taken at, seq).
    let mut now = START;
    while now < START + 3 * DAY_MS {
        now += 60_000;
        for (i, d) in fleet.devices_mut().iter_mut().enumerate() {
            let seqs = d.samples_until(now, usize::MAX).into_iter().map(|s| (now, s.ts_ms, seq(&s)));
            arrived[i].extend(seqs);
        }
    }
    for (i, d) in fleet.devices_mut().iter_mut().enumerate() {
        arrived[i].extend(d.flush_held().into_iter().map(|s| (now, s.ts_ms, seq(&s))));
    }
    for (i, got) in arrived.iter().enumerate() {
        // Every reading once, in the order taken, whatever the link did.
        assert!(got.iter().enumerate().all(|(k, (_, _, n))| *n == k as u64), "device {i}: a reading lost or reordered");
        let late = got.iter().filter(|(sent, taken, _)| sent - taken > 5 * 60_000).count();
        if i < 2 {
            // Collars: some readings arrive late, many in the same minute.
            let most = got.chunk_by(|a, b| a.0 == b.0).map(<[_]>::len).max().unwrap_or(0);
            assert!(late > 0 && most >= 5, "collar {i}: {late} late, at most {most} in a minute");
        } else {
            assert_eq!(late, 0, "an air monitor has no coverage gaps");
        }
    }
}

fn seq(s: &Sample) -> u64 {
    s.reading["seq"].as_u64().unwrap()
}
