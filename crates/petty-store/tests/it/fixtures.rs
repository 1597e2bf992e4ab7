//! Builders and a fixed clock shared by the tests: people, households, invitations, secrets, pets.
//!
//! The store takes `now` from its caller, so tests pass times from [`at`] instead of reading the
//! system clock; every time is a whole second, which survives the store's millisecond storage.

use petty_core::accounts::{Email, Role};
use petty_core::ids::{HouseholdId, UserId};
use petty_core::pets::{PetProfile, Sex, Species};
use petty_store::{Membership, NewInvitation, NewUser, Store, User};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// The moment every test starts at.
pub(crate) const T0: OffsetDateTime = datetime!(2026-03-01 09:00 UTC);

/// `T0` plus `minutes`.
pub(crate) fn at(minutes: i64) -> OffsetDateTime {
    T0 + Duration::minutes(minutes)
}

pub(crate) fn email(raw: &str) -> Email {
    Email::parse("email", raw).unwrap_or_else(|e| panic!("{raw:?} is not an email: {e}"))
}

pub(crate) fn new_user(raw_email: &str) -> NewUser {
    let email = email(raw_email);
    let display_name = raw_email.split('@').next().unwrap_or(raw_email).to_owned();
    NewUser { password_hash: format!("$argon2id$v=19$fake${display_name}"), email, display_name }
}

/// A random 32-byte value standing in for the hash of a token, key or invitation secret.
pub(crate) fn secret() -> Vec<u8> {
    [Uuid::new_v4().into_bytes(), Uuid::new_v4().into_bytes()].concat()
}

/// Registers `raw_email` as the owner of a new household named after them.
pub(crate) async fn owner(store: &Store, raw_email: &str) -> (User, Membership) {
    let user = new_user(raw_email);
    let household = format!("{}'s household", user.display_name);
    store.register_owner(&user, &household, T0).await.unwrap_or_else(|e| panic!("registering {raw_email}: {e}"))
}

/// An invitation into `household_id` for `role`, valid for a week from `T0`.
pub(crate) fn invitation(
    household_id: HouseholdId,
    created_by: UserId,
    role: Role,
    token_hash: &[u8],
) -> NewInvitation {
    NewInvitation {
        household_id,
        token_hash: token_hash.to_vec(),
        role,
        ends_at: None,
        email: None,
        created_by,
        expires_at: at(7 * 24 * 60),
    }
}

/// A member of `household_id` (invited by its owner `owner_id` and registered at `at(1)`).
pub(crate) async fn member(
    store: &Store,
    household_id: HouseholdId,
    owner_id: UserId,
    raw_email: &str,
    role: Role,
) -> User {
    let hash = secret();
    store.create_invitation(&invitation(household_id, owner_id, role, &hash), T0).await.expect("create invitation");
    let (user, membership) =
        store.register_with_invitation(&new_user(raw_email), &hash, at(1)).await.expect("register with invitation");
    assert_eq!(membership.household_id, household_id);
    user
}

/// A minimal pet profile.
pub(crate) fn pet(name: &str, species: Species) -> PetProfile {
    PetProfile {
        name: name.to_owned(),
        species,
        breed: None,
        date_of_birth: None,
        birth_precision: petty_core::pets::BirthPrecision::Day,
        sex: Sex::Unknown,
        neutered: None,
        weight_kg: None,
        microchip_id: None,
        photo_url: None,
        notes: None,
    }
}
