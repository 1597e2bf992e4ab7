//! What an owner publishes about a pet, behind an unguessable link that ends when they say so:
//!
//! - **The care passport**: the pet's vaccination summary as JSON signed with the server's
//!   Ed25519 key over its canonical form (object keys sorted, no spaces: RFC 8785 for the
//!   strings and integers it holds), with the public key at `/.well-known/petty-passport-key`.
//!   A kennel or a vet checks it without an account; one changed byte fails.
//! - **The lost-pet page**: photo, description, the owner's message, the last known location
//!   only if the owner allows it, and a form whose report reaches the household through the
//!   alarm channels without showing the finder anyone's phone or address.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use petty_core::accounts::Actor;
use petty_core::alarm::Severity;
use petty_core::ids::{HouseholdId, PetId};
use petty_core::pets::{Pet, format_date};
use petty_store::{NewAlarm, PetShare, ShareKind, StoreError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

use crate::App;

/// The server's passport key, derived from its secret so every node of a cluster signs alike
/// and a restart keeps the key.
pub struct PassportKey {
    signing: SigningKey,
}

impl PassportKey {
    pub fn from_secret(secret: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"petty passport signing key v1\0");
        hasher.update(secret);
        let seed: [u8; 32] = hasher.finalize().into();
        PassportKey { signing: SigningKey::from_bytes(&seed) }
    }

    pub fn public(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// A short name for the key: the first 8 bytes of the SHA-256 of the public key, as hex.
    pub fn key_id(&self) -> String {
        key_id(&self.public())
    }

    /// The public key as a JSON Web Key (RFC 8037).
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "OKP",
            "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(self.public().as_bytes()),
            "kid": self.key_id(),
            "use": "sig",
            "alg": "EdDSA",
        })
    }

    /// Signs `document`'s canonical form; answers the signature (base64url).
    pub fn sign(&self, document: &Value) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.sign(canonical(document).as_bytes()).to_bytes())
    }
}

pub fn key_id(key: &VerifyingKey) -> String {
    Sha256::digest(key.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Whether `signature` (base64url) is `key`'s over `document`'s canonical form.
pub fn verify(key: &VerifyingKey, document: &Value, signature: &str) -> bool {
    let Ok(bytes) = URL_SAFE_NO_PAD.decode(signature.trim()) else { return false };
    let Ok(sig) = Signature::from_slice(&bytes) else { return false };
    key.verify(canonical(document).as_bytes(), &sig).is_ok()
}

/// The canonical JSON of a value: object members sorted by key (by UTF-16 code units, as RFC
/// 8785 says; the same as byte order for the keys Petty writes), no insignificant space.
pub fn canonical(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String((*k).clone()).to_string());
                out.push(':');
                write_canonical(&map[*k], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Makes a new link for a pet's passport or lost page (the old link stops working); answers
/// the link's token.
pub async fn publish(
    app: &App,
    actor: &Actor,
    pet_id: PetId,
    kind: ShareKind,
    show_location: bool,
    message: Option<&str>,
) -> Result<(String, PetShare), StoreError> {
    let (token, hash) = crate::secrets::new_secret(match kind {
        ShareKind::Passport => "pp_",
        ShareKind::Lost => "lost_",
    });
    let share = app
        .store
        .put_share(actor.household_id, pet_id, kind, &hash, show_location, message, actor.user_id(), app.now())
        .await?;
    let what = match kind {
        ShareKind::Passport => "passport",
        ShareKind::Lost => "lost_page",
    };
    let who = crate::audit::Who::actor(actor, None);
    crate::audit::record(app, &who, "publish", what, pet_id, &crate::audit::no_detail()).await?;
    Ok((token, share))
}

/// The share a link opens, with its pet.
pub async fn open(
    app: &App,
    token: &str,
    kind: ShareKind,
) -> Result<Option<(PetShare, std::sync::Arc<Pet>)>, StoreError> {
    let Some(share) = app.store.share_by_token(&crate::secrets::secret_hash(token), kind).await? else {
        return Ok(None);
    };
    match app.store.get_pet(share.household_id, share.pet_id).await {
        Ok(pet) => Ok(Some((share, pet))),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The passport's document as of now: the pet, each vaccine series (its latest dose, vet and
/// due date), who issued it and when.
pub async fn passport_document(app: &App, share: &PetShare, pet: &Pet) -> Result<Value, StoreError> {
    let (_, series) = crate::care::vaccinations(app, share.household_id, pet).await?;
    let records =
        app.store.records_of_kind(share.household_id, Some(pet.id), petty_core::care::RecordKind::Vaccination).await?;
    let vet_of = |id: uuid::Uuid| records.iter().find(|r| r.id == id).and_then(|r| r.content.vet.clone());
    let p = &pet.profile;
    let issued = crate::rfc3339::from_ms(petty_store::to_ms(app.now())).unwrap_or_default();
    Ok(json!({
        "type": "petty-vaccination-passport",
        "version": 1,
        "passport_id": share.id,
        "issuer": app.notifier.public_url(),
        "issued_at": issued,
        "key_id": app.passport_key().key_id(),
        "pet": {
            "name": p.name,
            "species": p.species.as_str(),
            "breed": p.breed,
            "sex": p.sex.as_str(),
            "date_of_birth": p.date_of_birth.map(|d| p.birth_precision.show(d)),
            "microchip_id": p.microchip_id,
        },
        "vaccinations": series.iter().map(|s| json!({
            "vaccine": s.vaccine.as_str(),
            "label": s.label,
            "last_dose": format_date(s.last_dose),
            "due_date": format_date(s.due),
            "vet": vet_of(s.record_id),
        })).collect::<Vec<_>>(),
    }))
}

/// The most finder reports one lost page takes in an hour.
pub const FOUND_REPORTS_PER_HOUR: i64 = 5;
pub const FOUND_MESSAGE_MAX: usize = 1000;
pub const FOUND_CONTACT_MAX: usize = 200;

/// Why a finder's report was not passed on.
#[derive(Debug)]
pub enum FoundError {
    Invalid(petty_core::Invalid),
    /// The page has had its share of reports this hour.
    TooMany,
    Store(StoreError),
}

impl From<StoreError> for FoundError {
    fn from(e: StoreError) -> Self {
        FoundError::Store(e)
    }
}

/// Passes a finder's report to the household as a critical alarm on the pet, escalated through
/// its contacts like any other (SMS, calls, email, webhooks). The finder's words and how to
/// reach them go to the household; nothing of the household goes back.
pub async fn report_found(
    app: &App,
    share: &PetShare,
    pet: &Pet,
    message: &str,
    contact: Option<&str>,
) -> Result<(), FoundError> {
    let mut c = petty_core::validation::Collector::new();
    let message = c.take(petty_core::validation::required_text("message", message, FOUND_MESSAGE_MAX));
    let contact = c.take(petty_core::validation::optional_text("contact", contact, FOUND_CONTACT_MAX));
    c.finish().map_err(FoundError::Invalid)?;
    let (Some(message), Some(contact)) = (message, contact) else {
        return Err(FoundError::Invalid(petty_core::Invalid::one("message", "required", "message is required")));
    };
    let now = app.now();
    if !app.store.note_found_report(share.id, now - Duration::hours(1), FOUND_REPORTS_PER_HOUR, now).await? {
        return Err(FoundError::TooMany);
    }
    let name = &pet.profile.name;
    let reach = contact.map(|c| format!(" They can be reached at: {c}.")).unwrap_or_default();
    let new = NewAlarm {
        rule_id: None,
        source: format!("pet:{}", pet.id),
        alarm_type: "pet_found".to_owned(),
        device_id: None,
        pet_id: Some(pet.id),
        severity: Severity::Critical,
        title: format!("Someone found {name}"),
        message: format!("A finder wrote on {name}'s lost-pet page: \"{message}\".{reach}"),
        value: None,
        evidence: Vec::new(),
        at_ms: petty_store::to_ms(now),
        quiet: false,
    };
    let (alarm, fresh) = crate::alarms::raise(app, share.household_id, &new).await?;
    if !fresh {
        // The household already knows someone found the pet: this report goes to them live.
        crate::alarms::publish(app, &alarm, "updated").await;
    }
    Ok(())
}

/// The pet's last known position, if its collars reported one in the last 7 days.
pub async fn last_location(
    app: &App,
    household_id: HouseholdId,
    pet_id: PetId,
) -> Result<Option<(f64, f64, OffsetDateTime)>, StoreError> {
    let now = app.now();
    let mut best: Option<(f64, f64, OffsetDateTime)> = None;
    for device in app.store.pet_devices(household_id, pet_id).await? {
        let readings = app
            .store
            .newest_readings(household_id, device.id, now - Duration::days(7), now + Duration::minutes(5), 500)
            .await?;
        if let Some(r) = readings.iter().rev().find(|r| r.reading.location.is_some())
            && let Some(loc) = &r.reading.location
            && best.is_none_or(|b| r.reading.ts > b.2)
        {
            best = Some((loc.lat, loc.lon, r.reading.ts));
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_and_drops_space() {
        let v = json!({"b": 1, "a": {"d": [1, "x"], "c": null}, "é": "ü\"q"});
        assert_eq!(canonical(&v), r#"{"a":{"c":null,"d":[1,"x"]},"b":1,"é":"ü\"q"}"#);
    }

    #[test]
    fn a_signature_verifies_and_one_changed_byte_does_not() {
        let key = PassportKey::from_secret(b"a server secret of some length");
        let doc = json!({"pet": {"name": "Rex"}, "vaccinations": [{"vaccine": "rabies", "due_date": "2027-05-20"}]});
        let sig = key.sign(&doc);
        assert!(verify(&key.public(), &doc, &sig));
        let tampered =
            json!({"pet": {"name": "Rex"}, "vaccinations": [{"vaccine": "rabies", "due_date": "2028-05-20"}]});
        assert!(!verify(&key.public(), &tampered, &sig));
        assert_eq!(key.key_id(), PassportKey::from_secret(b"a server secret of some length").key_id(), "stable");
        assert!(!verify(&PassportKey::from_secret(b"another").public(), &doc, &sig));
    }
}
