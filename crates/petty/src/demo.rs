//! `petty serve --demo`: a household that looks lived in, made by the simulator.
//!
//! The Demo Household (Amsterdam's time zone) has two dogs and a cat, each wearing a collar,
//! and an air monitor in the living room. Fourteen days of their readings are replayed through
//! [`petty_app::App::ingest`], the one way a reading enters Petty, with the application's clock
//! following the replay, so the alarm rules, the geofences and the behaviour analysis judge
//! them as they would have live. Bella has a restless night three days ago and slipped out
//! through the gate two days ago (a geofence exit); the air monitor had a carbon monoxide
//! incident four days ago, whose alarm the owner acknowledged. The household also has two
//! contacts, vaccinations with the reminders they make, and two reminders of its own.
//!
//! Everything derives from one seed and the moment the demo is made, so two demos made at the
//! same minute are the same. While the server runs the devices keep sending (unless
//! `[demo] live_devices = false`), through the same function.

use std::time::Duration;

use anyhow::{Context, anyhow};
use petty_app::App;
use petty_app::Sender;
use petty_core::accounts::{Actor, ActorKind, Email, NewPassword, Role};
use petty_core::alarm::{AlarmState, Policy, TrailActor};
use petty_core::care::RawRecord;
use petty_core::devices::{DeviceProfile, RawDeviceProfile};
use petty_core::geofence::{Fence, FenceRules, RawFence};
use petty_core::ids::{HouseholdId, PetId, UserId};
use petty_core::pets::{PetProfile, RawPetProfile};
use petty_core::readings::Reading;
use petty_core::recurrence::Zone;
use petty_core::reminders::RawReminder;
use petty_http::ingest::ReadingIn;
use petty_sim::air::AirMonitor;
use petty_sim::collar::Collar;
use petty_sim::{Scenario, SimDevice};
use petty_store::{AlarmFilter, Device, NewContact, NewUser, Store};
use time::OffsetDateTime;

pub(crate) const DEMO_EMAIL: &str = "demo@petty.local";
pub(crate) const DEMO_PASSWORD: &str = "petty-demo-password";
const ZONE: &str = "Europe/Amsterdam";
/// Every random choice of the demo's devices comes from this.
const SEED: u64 = 0x5E77_2026;
const HISTORY_DAYS: i64 = 14;
const MINUTE_MS: i64 = 60_000;
/// The household's home, near the Vondelpark.
const HOME: (f64, f64) = (52.3584, 4.8680);
/// Readings replayed at a time: the alarm rules judge after each step.
const STEP_MS: i64 = 6 * 3_600_000;
/// Around the CO incident the replay moves in small steps, so its alarm is live when raised.
const FINE_STEP_MS: i64 = 5 * MINUTE_MS;

/// One of the demo's devices: its serial, how it is simulated, and which pet wears it.
struct Plan {
    serial: &'static str,
    name: &'static str,
    pet: Option<usize>,
    interval_secs: u32,
}

const PLANS: [Plan; 4] = [
    Plan { serial: "DEMO-COLLAR-BELLA", name: "Bella's collar", pet: Some(0), interval_secs: 60 },
    Plan { serial: "DEMO-COLLAR-ROCKY", name: "Rocky's collar", pet: Some(1), interval_secs: 60 },
    Plan { serial: "DEMO-COLLAR-MISO", name: "Miso's collar", pet: Some(2), interval_secs: 60 },
    Plan { serial: "DEMO-AIR-LIVING", name: "Living room air", pet: None, interval_secs: 60 },
];

/// The demo household's devices, as the live sender needs them.
pub(crate) struct DemoHousehold {
    pub household_id: HouseholdId,
    devices: Vec<Option<Device>>,
    utc_offset_secs: i32,
}

/// Makes the demo household unless it is there already, and answers it.
pub(crate) async fn seed(app: &App) -> anyhow::Result<DemoHousehold> {
    let store = &app.store;
    let email = Email::parse("email", DEMO_EMAIL)?;
    let zone = Zone::parse("timezone", ZONE)?;
    if let Some(existing) = store.user_credentials_by_email(&email).await? {
        tracing::info!("demo household already present: sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}");
        let memberships = store.active_memberships(existing.user.id, app.now()).await?;
        let membership = memberships.first().context("the demo owner has no household")?;
        return household(store, membership.household_id, &zone).await;
    }
    let began = std::time::Instant::now();
    let end = minute_floor(app.now());
    let start = end - time::Duration::days(HISTORY_DAYS);
    app.clock.set(start);

    let password = NewPassword::parse("password", DEMO_PASSWORD, None)?;
    let password_hash = petty_http::hash_password(&password).map_err(|e| anyhow!("{}", e.message))?;
    let user = NewUser { email, display_name: "Demo Owner".to_owned(), password_hash };
    let (owner, membership) = store.register_owner(&user, "The Demo Household", start).await?;
    let household_id = membership.household_id;
    // The demo's address receives no mail; it signs in under any verification policy.
    store.mark_email_verified(owner.id, start).await?;
    store.set_household_zone(household_id, &zone).await?;
    store.set_user_zone(owner.id, &zone).await?;
    let actor = Actor { household_id, kind: ActorKind::User { user_id: owner.id, role: Role::Owner } };

    let pets = make_pets(store, household_id, start).await?;
    let devices = make_devices(store, household_id, &pets, start).await?;
    make_settings(store, household_id, owner.id, start).await?;
    make_care(app, &actor, &pets, &zone, end).await?;

    let offset = utc_offset_secs(&zone, end);
    let start_ms = petty_store::to_ms(start);
    let incident_ms = at_local(&zone, end, -4, 19, 10);
    let mut sims = simulated(start_ms, offset, incident_ms, true);
    replay(app, household_id, owner.id, &devices, &mut sims, (start_ms, petty_store::to_ms(end)), incident_ms).await?;
    tracing::debug!(took_ms = began.elapsed().as_millis() as u64, "the demo's fortnight is replayed");
    app.clock.set(end);
    while petty_jobs::analysis::run_once(app, end).await? > 0 {}
    app.clock.set(OffsetDateTime::now_utc());

    tracing::info!(
        pets = pets.len(),
        devices = devices.len(),
        days = HISTORY_DAYS,
        took_ms = began.elapsed().as_millis() as u64,
        "demo household created: sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}"
    );
    Ok(DemoHousehold { household_id, devices: devices.into_iter().map(Some).collect(), utc_offset_secs: offset })
}

/// The existing demo household's devices, found by their serials (one deleted is left alone).
async fn household(store: &Store, household_id: HouseholdId, zone: &Zone) -> anyhow::Result<DemoHousehold> {
    let mut devices = Vec::new();
    for plan in &PLANS {
        let found = store.device_by_serial(plan.serial).await?.filter(|d| d.household_id == household_id);
        devices.push(found);
    }
    Ok(DemoHousehold { household_id, devices, utc_offset_secs: utc_offset_secs(zone, OffsetDateTime::now_utc()) })
}

/// The demo's simulated devices, in [`PLANS`]' order, from `start_ms` on. With `history`, the
/// anomalies of the fortnight are in: a restless night, an escape, a CO incident.
fn simulated(start_ms: i64, offset: i32, incident_ms: i64, history: bool) -> Vec<SimDevice> {
    let collar = |i: u64, scenario: Scenario| {
        Collar::new(SEED ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15), HOME, offset)
            .with_accel(Some(petty_sim::collar::AccelWindow::new(10, 2.0)))
            .with_scenario(scenario)
    };
    let bella = if history {
        // Days count from the first (day 0, fourteen days ago).
        Scenario { restless_night_days: vec![11], wander: vec![(12, 14)], ..Scenario::default() }
    } else {
        Scenario::default()
    };
    let miso = Scenario { housebound: true, ..Scenario::default() };
    let incidents: &[i64] = if history { &[incident_ms] } else { &[] };
    let air = AirMonitor::scripted(SEED ^ 4u64.wrapping_mul(0x9E37_79B9_7F4A_7C15), start_ms, offset, incidents);
    let models = [collar(1, bella), collar(2, Scenario::default()), collar(3, miso)];
    let mut out: Vec<SimDevice> = models
        .into_iter()
        .zip(&PLANS)
        .map(|(model, plan)| SimDevice::collar(plan.name, plan.interval_secs, start_ms, model))
        .collect();
    out.push(SimDevice::air_monitor(PLANS[3].name, PLANS[3].interval_secs, start_ms, air));
    out
}

/// Replays the devices' readings from `span.0` to `span.1` through [`App::ingest`], with the
/// clock following, judging the alarm rules after every step; the owner acknowledges the CO
/// alarms within five minutes of their raising.
async fn replay(
    app: &App,
    household_id: HouseholdId,
    owner: UserId,
    devices: &[Device],
    sims: &mut [SimDevice],
    span: (i64, i64),
    incident_ms: i64,
) -> anyhow::Result<()> {
    let fine = (incident_ms - 30 * MINUTE_MS)..(incident_ms + 3 * 3_600_000);
    let monitor = devices.last().context("the demo's air monitor")?;
    let mut t = span.0;
    while t < span.1 {
        let step = match t {
            t if fine.contains(&t) => FINE_STEP_MS,
            // Up to the incident's window, then through it in small steps.
            t if t < fine.start => STEP_MS.min(fine.start - t),
            _ => STEP_MS,
        };
        t = (t + step).min(span.1);
        app.clock.set(petty_store::from_ms(t)?);
        for (device, sim) in devices.iter().zip(sims.iter_mut()) {
            send_until(app, household_id, device, sim, t).await?;
        }
        petty_jobs::alarms::run_once(app).await;
        // The owner is home and answers each of the monitor's alarms within minutes.
        if fine.contains(&t) {
            acknowledge_co(app, household_id, owner, monitor).await?;
        }
    }
    Ok(())
}

/// Sends `sim`'s readings up to `until_ms` as `device`; answers how many were sent.
async fn send_until(
    app: &App,
    household_id: HouseholdId,
    device: &Device,
    sim: &mut SimDevice,
    until_ms: i64,
) -> anyhow::Result<usize> {
    let sender = Sender { household_id, device_id: device.id };
    let mut sent = 0;
    loop {
        let samples = sim.samples_until(until_ms, 1000);
        if samples.is_empty() {
            return Ok(sent);
        }
        sent += samples.len();
        let now = app.now();
        let mut readings = Vec::with_capacity(samples.len());
        for sample in samples {
            // The simulator writes the ingest API's JSON; it is read as that API reads it.
            let body: ReadingIn = serde_json::from_value(sample.reading)?;
            readings.push(Reading::parse(&body.raw(), now).map_err(|e| anyhow!("a simulated reading: {e}"))?);
        }
        app.ingest(sender, readings).await?;
    }
}

/// Acknowledges the air monitor's active alarms.
async fn acknowledge_co(app: &App, household_id: HouseholdId, owner: UserId, monitor: &Device) -> anyhow::Result<()> {
    let filter = AlarmFilter {
        states: vec![AlarmState::Active],
        device_id: Some(monitor.id),
        limit: 50,
        ..AlarmFilter::default()
    };
    let active = app.store.list_alarms(household_id, &filter).await?;
    let note = "Opened every window and switched the boiler off; the engineer comes tomorrow.";
    for alarm in &active {
        let (to, by) = (AlarmState::Acknowledged, TrailActor::User(owner));
        petty_app::alarms::transition(app, household_id, alarm.id, to, by, note).await?;
    }
    Ok(())
}

async fn make_pets(store: &Store, household_id: HouseholdId, now: OffsetDateTime) -> anyhow::Result<Vec<PetId>> {
    let today = now.date();
    let pets = [
        RawPetProfile {
            name: "Bella".into(),
            species: "dog".into(),
            breed: Some("Border Collie".into()),
            date_of_birth: Some("2021-04-30".into()),
            sex: Some("female".into()),
            neutered: Some(true),
            weight_kg: Some(19.5),
            microchip_id: Some("985112003456789".into()),
            notes: Some("Loves fetch; anxious during thunderstorms. Can open the garden gate.".into()),
            ..Default::default()
        },
        RawPetProfile {
            name: "Rocky".into(),
            species: "dog".into(),
            breed: Some("Labrador Retriever".into()),
            date_of_birth: Some("2018-11-02".into()),
            sex: Some("male".into()),
            neutered: Some(true),
            weight_kg: Some(33.0),
            microchip_id: Some("985112009876543".into()),
            notes: Some("Calm; stiff hips in the morning.".into()),
            ..Default::default()
        },
        RawPetProfile {
            name: "Miso".into(),
            species: "cat".into(),
            breed: Some("British Shorthair".into()),
            date_of_birth: Some("2019-09-12".into()),
            sex: Some("male".into()),
            neutered: Some(true),
            weight_kg: Some(5.2),
            notes: Some("Indoor cat. Kidney diet.".into()),
            ..Default::default()
        },
    ];
    let mut ids = Vec::new();
    for raw in &pets {
        ids.push(store.create_pet(household_id, &PetProfile::parse(raw, today)?, now).await?.id);
    }
    Ok(ids)
}

async fn make_devices(
    store: &Store,
    household_id: HouseholdId,
    pets: &[PetId],
    now: OffsetDateTime,
) -> anyhow::Result<Vec<Device>> {
    let mut devices = Vec::new();
    for plan in &PLANS {
        let raw = RawDeviceProfile {
            name: plan.name.to_owned(),
            kind: if plan.pet.is_some() { "collar" } else { "air_monitor" }.to_owned(),
            pet_id: plan.pet.and_then(|i| pets.get(i)).map(|p| p.0),
            model: Some(if plan.pet.is_some() { "Petty Collar 2" } else { "Car-Bon ESP32" }.to_owned()),
            expected_interval_secs: Some(i64::from(plan.interval_secs)),
            serial: Some(plan.serial.to_owned()),
            ..RawDeviceProfile::default()
        };
        let profile = DeviceProfile::parse(&raw)?;
        // The simulator sends in-process; its token is never shown (a new one can be made).
        let (_, hash) = petty_app::secrets::new_secret("dk_");
        devices.push(store.create_device(household_id, &profile, &hash, now).await?);
    }
    Ok(devices)
}

/// Contacts, and a geofence around the neighbourhood.
async fn make_settings(
    store: &Store,
    household_id: HouseholdId,
    owner: UserId,
    now: OffsetDateTime,
) -> anyhow::Result<()> {
    let now_ms = petty_store::to_ms(now);
    let contacts = [
        NewContact {
            user_id: Some(owner),
            external_id: None,
            name: "Demo Owner".to_owned(),
            phone: Some("+31612345678".to_owned()),
            email: Some(DEMO_EMAIL.to_owned()),
            role: "member".to_owned(),
            position: 0,
            device_serial: None,
            policy: Policy::default(),
        },
        NewContact {
            user_id: None,
            external_id: None,
            name: "Sam de Vries (neighbour, has a key)".to_owned(),
            phone: Some("+31687654321".to_owned()),
            email: None,
            role: "emergency".to_owned(),
            position: 1,
            device_serial: None,
            policy: Policy::default(),
        },
    ];
    for contact in &contacts {
        store.create_contact(household_id, contact, now_ms).await?;
    }
    let fence = Fence::parse(&RawFence {
        name: "Home and the park".to_owned(),
        kind: "circle".to_owned(),
        lat: Some(HOME.0),
        lon: Some(HOME.1),
        radius_m: Some(1500.0),
        points: None,
    })?;
    store.create_geofence(household_id, &fence, FenceRules::default(), now).await?;
    Ok(())
}

/// Vaccinations (whose boosters become reminders), a check-up, and two reminders.
async fn make_care(app: &App, actor: &Actor, pets: &[PetId], zone: &Zone, now: OffsetDateTime) -> anyhow::Result<()> {
    let day = |days: i64| (now + time::Duration::days(days)).date().to_string();
    let record = |pet: usize, raw: RawRecord| (pet, raw);
    let records = [
        record(
            0,
            RawRecord {
                kind: "vaccination".into(),
                title: Some("Rabies vaccination".into()),
                vaccine: Some("rabies".into()),
                date: day(-340),
                valid_until: Some(day(25)),
                vet: Some("Dierenkliniek De Pijp".into()),
                ..RawRecord::default()
            },
        ),
        record(
            0,
            RawRecord {
                kind: "vaccination".into(),
                title: Some("DHPP booster".into()),
                vaccine: Some("DHPP".into()),
                date: day(-200),
                vet: Some("Dierenkliniek De Pijp".into()),
                ..RawRecord::default()
            },
        ),
        record(
            1,
            RawRecord {
                kind: "visit".into(),
                title: Some("Hips and weight check".into()),
                description: Some("Mild arthritis; keep walks steady, no long runs.".into()),
                date: day(-45),
                vet: Some("Dierenkliniek De Pijp".into()),
                cost: Some(68.0),
                ..RawRecord::default()
            },
        ),
        record(
            2,
            RawRecord {
                kind: "weight".into(),
                title: Some("Weigh-in".into()),
                date: day(-20),
                weight_kg: Some(5.2),
                ..RawRecord::default()
            },
        ),
    ];
    for (pet, raw) in &records {
        let pet_id = *pets.get(*pet).context("demo pet")?;
        petty_app::care::create_record(app, actor, pet_id, raw).await.map_err(|e| anyhow!("{e:?}"))?;
    }
    let local = |days: i64, hour: u8| format!("{}T{hour:02}:00", day(days));
    let reminders = [
        RawReminder {
            pet_id: pets.first().copied(),
            title: "Worming tablet".into(),
            description: Some("With food, half a tablet.".into()),
            at: local(5, 9),
            timezone: Some(zone.name().to_owned()),
            repeat: Some("monthly".into()),
            ..RawReminder::default()
        },
        RawReminder {
            pet_id: pets.get(2).copied(),
            title: "Order kidney diet food".into(),
            at: local(2, 18),
            timezone: Some(zone.name().to_owned()),
            ..RawReminder::default()
        },
    ];
    for raw in &reminders {
        petty_app::care::create_reminder(app, actor, raw).await.map_err(|e| anyhow!("{e:?}"))?;
    }
    Ok(())
}

/// Keeps the demo's devices sending, every few seconds, from where each one's readings end
/// (at most six hours back) until the server stops.
pub(crate) async fn keep_sending(app: App, demo: DemoHousehold, mut stopping: tokio::sync::watch::Receiver<bool>) {
    let now_ms = app.now_ms();
    let mut pairs = Vec::new();
    for (plan_index, device) in demo.devices.iter().enumerate() {
        let Some(device) = device else { continue };
        let last = match app.store.latest_reading(demo.household_id, device.id).await {
            Ok(last) => last.map(|r| r.reading.ts_ms()),
            Err(e) => {
                tracing::warn!(error = %e, "the demo's devices stay quiet");
                return;
            }
        };
        let interval_ms = i64::from(PLANS[plan_index].interval_secs) * 1000;
        let from = last.map_or(now_ms, |t| t + interval_ms).max(now_ms - 6 * 3_600_000);
        let mut sims = simulated(from, demo.utc_offset_secs, 0, false);
        pairs.push((device.clone(), sims.swap_remove(plan_index)));
    }
    tracing::info!(devices = pairs.len(), "the demo's devices keep sending ([demo] live_devices = false stops them)");
    loop {
        let now = app.now_ms();
        for (device, sim) in &mut pairs {
            if let Err(e) = send_until(&app, demo.household_id, device, sim, now).await {
                tracing::warn!(error = %e, device = %device.id, "a demo reading was not stored");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
            _ = stopping.changed() => return,
        }
    }
}

fn minute_floor(t: OffsetDateTime) -> OffsetDateTime {
    let ms = petty_store::to_ms(t);
    petty_store::from_ms(ms - ms.rem_euclid(MINUTE_MS)).unwrap_or(t)
}

/// The zone's offset from UTC at `at`, in seconds (the simulator's dogs sleep at local night).
fn utc_offset_secs(zone: &Zone, at: OffsetDateTime) -> i32 {
    let date = zone.date_at(at);
    let noon = zone.at_hour(date, 12).map(|t| (t - date.midnight().assume_utc()).whole_seconds());
    noon.map_or(0, |n| (12 * 3600 - n) as i32)
}

/// `days` (negative: ago) from `now`'s local date, at `hour`:`minute` in the zone, epoch ms.
fn at_local(zone: &Zone, now: OffsetDateTime, days: i64, hour: i8, minute: i64) -> i64 {
    let date = zone.date_at(now) + time::Duration::days(days);
    let at = zone.at_hour(date, hour).unwrap_or(now) + time::Duration::minutes(minute);
    petty_store::to_ms(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn the_offset_follows_the_zone_and_its_summer_time() {
        let zone = Zone::parse("timezone", ZONE).unwrap();
        assert_eq!(utc_offset_secs(&zone, time::macros::datetime!(2026-01-15 12:00 UTC)), 3600);
        assert_eq!(utc_offset_secs(&zone, time::macros::datetime!(2026-07-15 12:00 UTC)), 7200);
        assert_eq!(at_local(&zone, time::macros::datetime!(2026-07-15 12:00 UTC), -1, 19, 10) % DAY_MS, {
            (17 * 60 + 10) * MINUTE_MS
        });
    }
}
