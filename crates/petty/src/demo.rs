//! `petty serve --demo`: a household to look at straight away.

use petty_core::accounts::{Email, NewPassword};
use petty_core::pets::{PetProfile, RawPetProfile};
use petty_store::{NewUser, PetFilter, Store};
use time::OffsetDateTime;

pub(crate) const DEMO_EMAIL: &str = "demo@petty.local";
pub(crate) const DEMO_PASSWORD: &str = "petty-demo-password";

/// Creates the demo owner and two pets, unless the demo user is already there.
pub(crate) async fn seed(store: &Store) -> anyhow::Result<()> {
    let email = Email::parse("email", DEMO_EMAIL)?;
    if store.user_credentials_by_email(&email).await?.is_some() {
        tracing::info!("demo household already present: sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}");
        return Ok(());
    }
    let password = NewPassword::parse("password", DEMO_PASSWORD, None)?;
    let password_hash = petty_http::hash_password(&password).map_err(|e| anyhow::anyhow!("{}", e.message))?;
    let now = OffsetDateTime::now_utc();
    let user = NewUser { email, display_name: "Demo Owner".to_owned(), password_hash };
    let (owner, membership) = store.register_owner(&user, "The Demo Household", now).await?;
    // The demo's address receives no mail; it signs in under any verification policy.
    store.mark_email_verified(owner.id, now).await?;
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
            notes: Some("Loves fetch; anxious during thunderstorms.".into()),
            ..Default::default()
        },
        RawPetProfile {
            name: "Miso".into(),
            species: "cat".into(),
            breed: Some("British Shorthair".into()),
            date_of_birth: Some("2019-09-12".into()),
            sex: Some("male".into()),
            weight_kg: Some(5.2),
            notes: Some("Indoor cat. Kidney diet.".into()),
            ..Default::default()
        },
    ];
    for raw in &pets {
        store.create_pet(membership.household_id, &PetProfile::parse(raw, today)?, now).await?;
    }
    let count = store.list_pets(membership.household_id, &PetFilter::default(), Default::default()).await?.total;
    tracing::info!(pets = count, "demo household created: sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}");
    Ok(())
}
