//! A person's data, all of it, as a zip; and deleting an account so that nothing of it is left.
//!
//! **Export**: JSON of everything the person and their households hold (profile, households and
//! roles, pets, health records, vaccine series, reminders, weights, the plan, their own life log
//! and sign-ins
//! and audit entries, devices and alarms, the catalog's listings and settings), CSV copies of pets, records and reminders, each
//! device's readings as CSV, the calendar as iCalendar, the original uploaded files, and a
//! manifest listing every other entry with its size and SHA-256. Other members appear as their id
//! and role only. A household the person is a vet of appears as its name and their role: its
//! data is the household's, not theirs. Never: password hashes, MFA secrets, tokens or keys.
//!
//! **Deletion**: refused while the person alone owns a household others belong to. Otherwise the
//! households only they belonged to go with everything in them (files in storage first, then
//! Stripe's subscription and customer, then the rows), and their audit entries stay with the
//! actor replaced by a random tombstone.

use std::io::Write;

use petty_core::accounts::Permission;
use petty_core::care::RecordKind;
use petty_core::ids::{HouseholdId, UserId};
use petty_core::paging::PageRequest;
use petty_core::pets::format_date;
use petty_core::readings::Metric;
use petty_store::{AuditFilter, FileFilter, StoreError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::App;

/// Why an account could not be deleted.
#[derive(Debug)]
pub enum PrivacyError {
    /// The person alone owns a household that has other members.
    SoleOwner,
    Store(StoreError),
    /// Files or Stripe could not be told; nothing was deleted from the database.
    Cleanup(String),
}

impl From<StoreError> for PrivacyError {
    fn from(e: StoreError) -> Self {
        PrivacyError::Store(e)
    }
}

/// A finished export.
pub struct Export {
    /// `petty-export-<userId>-<YYYYMMDD>.zip`.
    pub filename: String,
    pub zip: Vec<u8>,
}

/// Everything of the person's, as a zip.
pub async fn export(app: &App, user_id: UserId) -> Result<Export, StoreError> {
    let now = app.now();
    let user = app.store.get_user(user_id).await?;
    let memberships = app.store.active_memberships(user_id, now).await?;
    let mut out = Zip::new();
    let all = PageRequest { page: 1, page_size: 100_000 };
    let ts = |t: OffsetDateTime| crate::rfc3339::from_ms(petty_store::to_ms(t));

    let mut households = Vec::new();
    let (mut pets_json, mut records_json, mut vaccines_json, mut reminders_json, mut weights_json) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut subscriptions, mut devices_json, mut alarms_json, mut audit_json) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut catalogs_json, mut listings_count) = (Vec::new(), 0usize);
    let mut pets_csv = csv_writer(&[
        "household_id",
        "id",
        "name",
        "species",
        "breed",
        "date_of_birth",
        "sex",
        "neutered",
        "weight_kg",
        "microchip_id",
        "notes",
    ]);
    let mut records_csv = csv_writer(&[
        "household_id",
        "pet_id",
        "id",
        "kind",
        "title",
        "date",
        "vet",
        "cost",
        "vaccine",
        "valid_until",
        "dose",
        "schedule",
        "weight_kg",
        "description",
    ]);
    let mut reminders_csv = csv_writer(&[
        "household_id",
        "id",
        "pet_id",
        "title",
        "due_at",
        "timezone",
        "repeat",
        "status",
        "completed_count",
    ]);
    let mut calendar = String::new();

    for m in &memberships {
        let h = m.household_id;
        if !m.role.allows(Permission::Read) {
            // A vet holds none of the household's data: only that they belong to it.
            households.push(json!({"id": h.0, "name": m.household_name, "role": m.role.as_str()}));
            continue;
        }
        let members = app.store.list_members(h).await?;
        households.push(json!({
            "id": h.0, "name": m.household_name, "role": m.role.as_str(),
            "timezone": app.store.household_zone(h).await?.name(),
            "members": members.iter().map(|x| json!({"userId": x.user.id.0, "role": x.role.as_str()})).collect::<Vec<_>>(),
        }));
        let pets = app.store.list_pets(h, &Default::default(), all).await?.items;
        for p in &pets {
            let pr = &p.profile;
            pets_json.push(json!({
                "household_id": h.0, "id": p.id.0, "name": pr.name, "species": pr.species.as_str(), "breed": pr.breed,
                "date_of_birth": pr.date_of_birth.map(format_date), "birth_precision": pr.birth_precision.as_str(),
                "sex": pr.sex.as_str(), "neutered": pr.neutered, "weight_kg": pr.weight_kg, "microchip_id": pr.microchip_id,
                "notes": pr.notes, "created_at": ts(p.created_at),
            }));
            csv_row(
                &mut pets_csv,
                &[
                    h.0.to_string(),
                    p.id.to_string(),
                    pr.name.clone(),
                    pr.species.as_str().into(),
                    pr.breed.clone().unwrap_or_default(),
                    pr.date_of_birth.map(format_date).unwrap_or_default(),
                    pr.sex.as_str().into(),
                    pr.neutered.map(|n| n.to_string()).unwrap_or_default(),
                    pr.weight_kg.map(|w| w.to_string()).unwrap_or_default(),
                    pr.microchip_id.clone().unwrap_or_default(),
                    pr.notes.clone().unwrap_or_default(),
                ],
            );
            let (_, series) = crate::care::vaccinations(app, h, p).await?;
            for s in series {
                vaccines_json.push(json!({
                    "pet_id": p.id.0, "vaccine": s.vaccine.as_str(), "label": s.label, "last_dose": format_date(s.last_dose),
                    "due_date": format_date(s.due), "status": s.status.as_str(), "record_id": s.record_id,
                }));
            }
        }
        for r in app.store.household_records(h).await? {
            let c = &r.content;
            records_json.push(json!({
                "household_id": h.0, "pet_id": r.pet_id.0, "id": r.id, "kind": c.kind.as_str(), "title": c.title,
                "description": c.description, "date": format_date(c.date), "vet": c.vet,
                "cost": c.cost_cents.map(|x| x as f64 / 100.0), "vaccine": c.vaccine.map(|v| v.as_str()),
                "valid_until": c.valid_until.map(format_date), "dose": c.dose, "schedule": c.schedule,
                "weight_kg": c.weight_kg, "created_at": ts(r.created_at),
            }));
            if c.kind == RecordKind::Weight {
                weights_json.push(json!({"pet_id": r.pet_id.0, "date": format_date(c.date), "weight_kg": c.weight_kg}));
            }
            csv_row(
                &mut records_csv,
                &[
                    h.0.to_string(),
                    r.pet_id.to_string(),
                    r.id.to_string(),
                    c.kind.as_str().into(),
                    c.title.clone(),
                    format_date(c.date),
                    c.vet.clone().unwrap_or_default(),
                    c.cost_cents.map(|x| format!("{:.2}", x as f64 / 100.0)).unwrap_or_default(),
                    c.vaccine.map(|v| v.as_str().to_owned()).unwrap_or_default(),
                    c.valid_until.map(format_date).unwrap_or_default(),
                    c.dose.clone().unwrap_or_default(),
                    c.schedule.clone().unwrap_or_default(),
                    c.weight_kg.map(|w| w.to_string()).unwrap_or_default(),
                    c.description.clone().unwrap_or_default(),
                ],
            );
        }
        let reminders = app.store.list_reminders(h, &Default::default(), now, all).await?.items;
        for r in &reminders {
            let out = crate::care::ReminderOut::at(r, None, ts(r.due_at), now);
            csv_row(
                &mut reminders_csv,
                &[
                    h.0.to_string(),
                    r.id.to_string(),
                    r.content.pet_id.map(|p| p.to_string()).unwrap_or_default(),
                    r.content.title.clone(),
                    out.due_at.clone().unwrap_or_default(),
                    out.timezone.clone(),
                    out.repeat.unwrap_or("").to_owned(),
                    out.status.to_owned(),
                    r.completed_count.to_string(),
                ],
            );
            reminders_json.push(serde_json::to_value(out).unwrap_or(Value::Null));
        }
        let events = crate::calendar::feed_events(app, h, now).await?;
        calendar.push_str(&crate::calendar::feed_ics(&m.household_name, &events).0);
        let status = crate::billing::status(app, h).await?;
        subscriptions
            .push(json!({"household_id": h.0, "tier": status.tier.as_str(), "status": status.status.as_str()}));
        for d in app.store.list_devices(h).await? {
            devices_json.push(
                json!({"household_id": h.0, "id": d.id.0, "name": d.profile.name, "kind": d.profile.kind.as_str(),
                "serial": d.profile.serial, "pet_id": d.profile.pet_id.map(|p| p.0), "created_at": ts(d.created_at)}),
            );
            out.add(&format!("readings/{}.csv", d.id), readings_csv(app, h, d.id).await?.as_bytes());
        }
        let filter = petty_store::AlarmFilter { limit: 100_000, ..Default::default() };
        for a in app.store.list_alarms(h, &filter).await? {
            alarms_json.push(serde_json::to_value(crate::alarms::AlarmOut::from(&a)).unwrap_or(Value::Null));
        }
        // The snapshot carries the settings of its version (a settings change moves it).
        let catalog = app.store.catalog(h).await?;
        let settings = &catalog.settings;
        listings_count += catalog.listings.len();
        let listings: Vec<Value> = catalog.listings.iter().map(|l| listing_json(l, &ts)).collect();
        if !listings.is_empty() || settings.public || settings.title.is_some() {
            catalogs_json.push(json!({"household_id": h.0, "public": settings.public, "title": settings.title,
                "listings": listings}));
        }
        let mine = AuditFilter { actor_id: Some(user_id.0), ..Default::default() };
        for e in app.store.list_audit(h, &mine, all).await?.items {
            audit_json.push(json!({"household_id": h.0, "action": e.action, "entity_type": e.entity_type,
                "entity_id": e.entity_id, "at": ts(e.at), "address": e.address}));
        }
        // The uploads as Petty keeps them: the original for a PDF; for an image the copy made
        // from it (the upload itself, with its metadata and location, is not kept).
        for f in app.store.list_files(h, &FileFilter::default(), all).await?.items {
            let stored = match app.files.storage().get(&f.key).await {
                Ok(bytes) => Ok(bytes),
                Err(_) => app.files.storage().get(f.served_key()).await,
            };
            match stored {
                Ok(bytes) => out.add(&format!("files/{}-{}", f.id, f.filename), &bytes),
                Err(e) => {
                    tracing::warn!(file_id = %f.id, error = %e, "a file is missing from storage; left out of an export")
                }
            }
        }
    }
    let logins = app.store.list_logins(user_id, all).await?.items;
    let profile = json!({
        "user": {"id": user.id.0, "email": user.email, "display_name": user.display_name, "created_at": ts(user.created_at),
                 "timezone": app.store.user_zone(user_id).await?.name(),
                 "email_verified_at": user.email_verified_at.and_then(ts)},
        "mfaEnabled": crate::mfa::is_enabled(app, user_id).await?,
        "households": households,
    });
    // What the Pet Management profile keeps beside the account (names, phone, photo).
    let mut profile = profile;
    if let Some(p) = app.store.petmgmt_profile(user_id).await? {
        profile["user"]["first_name"] = json!(p.first_name);
        profile["user"]["last_name"] = json!(p.last_name);
        profile["user"]["phone"] = json!(p.phone);
        profile["user"]["photo_url"] = json!(p.photo_url);
    }
    let pretty = |v: &Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    out.add("profile.json", &pretty(&profile));
    out.add("pets.json", &pretty(&json!(pets_json)));
    out.add("health_records.json", &pretty(&json!(records_json)));
    out.add("vaccinations.json", &pretty(&json!(vaccines_json)));
    out.add("reminders.json", &pretty(&json!(reminders_json)));
    out.add("weights.json", &pretty(&json!(weights_json)));
    out.add("subscription.json", &pretty(&json!(subscriptions)));
    out.add(
        "logins.json",
        &pretty(&json!(
            logins
                .iter()
                .map(|l| json!({"at": ts(l.at), "ip": l.origin.address,
        "client": l.origin.user_agent, "outcome": l.outcome}))
                .collect::<Vec<_>>()
        )),
    );
    // The person's own life log, with `event_data` and `context` as they were sent.
    let life = app
        .store
        .list_life_events(
            petty_core::lifelog::Subject::Person(user_id),
            crate::lifelog::ANY_HOUSEHOLD,
            &Default::default(),
            all,
        )
        .await?
        .items;
    let life_json: Vec<crate::lifelog::LifeEventOut> = life.iter().map(crate::lifelog::LifeEventOut::from).collect();
    // What Petty concluded from it: insights (dismissed ones too) and the models' scores.
    let insights = app
        .store
        .list_life_insights(user_id, &petty_store::InsightFilter { include_dismissed: true, ..Default::default() }, all)
        .await?
        .items;
    let insights_json: Vec<crate::lifelog::InsightOut> =
        insights.iter().map(crate::lifelog::InsightOut::from).collect();
    out.add("life_insights.json", &pretty(&json!(insights_json)));
    let models = crate::lifelog::person_metrics(app, user_id).await?;
    out.add("life_models.json", &pretty(&json!(models)));
    out.add("life_events.json", &pretty(&json!(life_json)));
    out.add("audit_log.json", &pretty(&json!(audit_json)));
    out.add("devices.json", &pretty(&json!(devices_json)));
    out.add("alarms.json", &pretty(&json!(alarms_json)));
    out.add("catalog.json", &pretty(&json!(catalogs_json)));
    out.add("calendar.ics", calendar.as_bytes());
    out.add("pets.csv", &pets_csv.into_inner().unwrap_or_default());
    out.add("health_records.csv", &records_csv.into_inner().unwrap_or_default());
    out.add("reminders.csv", &reminders_csv.into_inner().unwrap_or_default());
    let counts = json!({"households": memberships.len(), "pets": pets_json.len(), "health_records": records_json.len(),
        "reminders": reminders_json.len(), "devices": devices_json.len(), "alarms": alarms_json.len(),
        "life_events": life.len(), "life_insights": insights.len(), "catalog_listings": listings_count});
    let day = format_date(now.date()).replace('-', "");
    let zip = out.finish(&json!({"format": "petty-export", "version": 1, "exportedAt": ts(now), "userId": user_id.0,
        "counts": counts}));
    Ok(Export { filename: format!("petty-export-{}-{day}.zip", user_id.0), zip })
}

/// A catalog listing as the export holds it: every field, its photos by their addresses (an
/// uploaded photo's bytes are under `files/`).
fn listing_json(l: &petty_core::catalog::Listing, ts: &impl Fn(OffsetDateTime) -> Option<String>) -> Value {
    let c = &l.content;
    json!({
        "id": l.id.0, "number": l.number, "name": c.name, "species": c.species, "breed": c.breed,
        "age_months": c.age_months, "size": c.size.map(|s| s.as_str()), "sex": c.sex.map(|s| s.as_str()),
        "color": c.color, "coat": c.coat, "good_with_children": c.good_with_children,
        "good_with_dogs": c.good_with_dogs, "good_with_cats": c.good_with_cats, "house_trained": c.house_trained,
        "special_needs": c.special_needs, "weight_kg": c.weight_kg, "price": c.price(), "currency": c.currency,
        "status": c.status.as_str(), "location": c.location, "photos": c.photos, "description": c.description,
        "created_at": ts(l.created_at), "updated_at": ts(l.updated_at),
    })
}

async fn readings_csv(
    app: &App,
    household: HouseholdId,
    device: petty_core::ids::DeviceId,
) -> Result<String, StoreError> {
    let mut out = String::from("ts,metric,value\n");
    let mut after = None;
    loop {
        let (page, next) = app
            .store
            .readings(
                household,
                device,
                petty_core::readings::EARLIEST,
                OffsetDateTime::now_utc() + time::Duration::days(1),
                after,
                5000,
            )
            .await?;
        for r in &page {
            let at = crate::rfc3339::from_ms(petty_store::to_ms(r.reading.ts)).unwrap_or_default();
            for m in Metric::ALL {
                if let Some(v) = r.reading.value(m) {
                    out.push_str(&format!("{at},{},{v}\n", m.name()));
                }
            }
            if let Some(l) = &r.reading.location {
                out.push_str(&format!("{at},lat,{}\n{at},lon,{}\n", l.lat, l.lon));
            }
        }
        match next {
            Some(n) if !page.is_empty() => after = Some(n),
            _ => break,
        }
    }
    Ok(out)
}

fn csv_writer(header: &[&str]) -> csv::Writer<Vec<u8>> {
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(Vec::new());
    let _ = w.write_record(header);
    w
}

fn csv_row(w: &mut csv::Writer<Vec<u8>>, row: &[String]) {
    let _ = w.write_record(row);
}

/// The zip being written, and the manifest of what is in it.
struct Zip {
    writer: zip::ZipWriter<std::io::Cursor<Vec<u8>>>,
    files: Vec<Value>,
}

impl Zip {
    fn new() -> Self {
        Zip { writer: zip::ZipWriter::new(std::io::Cursor::new(Vec::new())), files: Vec::new() }
    }

    fn add(&mut self, path: &str, bytes: &[u8]) {
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        let written = self.writer.start_file(path, options).is_ok() && self.writer.write_all(bytes).is_ok();
        if written {
            let sha: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
            self.files.push(json!({"path": path, "bytes": bytes.len(), "sha256": sha}));
        } else {
            tracing::error!(path, "an entry could not be written to an export");
        }
    }

    fn finish(mut self, manifest: &Value) -> Vec<u8> {
        let mut manifest = manifest.clone();
        manifest["files"] = Value::Array(std::mem::take(&mut self.files));
        let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        if self.writer.start_file("manifest.json", options).is_ok() {
            let _ = self.writer.write_all(&serde_json::to_vec_pretty(&manifest).unwrap_or_default());
        }
        self.writer.finish().map(|c| c.into_inner()).unwrap_or_default()
    }
}

/// Deletes the account (its password and second factor already checked by the edge).
pub async fn delete_account(app: &App, user_id: UserId) -> Result<(), PrivacyError> {
    let user = app.store.get_user(user_id).await?;
    let plan = app.store.deletion_plan(user_id).await?;
    if !plan.sole_owner_with_others.is_empty() {
        return Err(PrivacyError::SoleOwner);
    }
    for household in &plan.alone_in {
        crate::files::delete_files_of_household(app, *household)
            .await
            .map_err(|e| PrivacyError::Cleanup(format!("files: {e}")))?;
        crate::billing::forget_household(app, *household)
            .await
            .map_err(|e| PrivacyError::Cleanup(format!("billing: {e:?}")))?;
    }
    let tombstone = app.store.tombstone_audit_actor(user_id).await?;
    let deleted = app.store.delete_account(user_id, &user.email).await.map_err(|e| match e {
        StoreError::Conflict(_) => PrivacyError::SoleOwner,
        other => PrivacyError::Store(other),
    })?;
    tracing::info!(%user_id, %tombstone, households = deleted.len(), "account deleted");
    Ok(())
}
