//! Pets, always read and written within one household.

use std::sync::Arc;

use petty_core::ids::{HouseholdId, PetId};
use petty_core::paging::{Page, PageRequest};
use petty_core::pets::{Pet, PetProfile, format_date, parse_date};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Result, Store, StoreError, from_ms, on_pool, to_ms};

/// Narrows a household's pet list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PetFilter {
    /// Only this species.
    pub species: Option<petty_core::pets::Species>,
    /// Name contains this text, ignoring case.
    pub name_contains: Option<String>,
    /// Name, breed or microchip contains this text, ignoring case.
    pub text_contains: Option<String>,
    /// Only the pets the household shares with this member (a vet).
    pub shared_with: Option<petty_core::ids::UserId>,
}

#[derive(FromRow)]
struct PetRow {
    id: Uuid,
    household_id: Uuid,
    name: String,
    species: String,
    breed: Option<String>,
    date_of_birth: Option<String>,
    birth_precision: String,
    sex: String,
    neutered: String,
    weight_kg: Option<f64>,
    microchip_id: Option<String>,
    photo_url: Option<String>,
    notes: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl PetRow {
    /// A row in `pet_columns!` order, read through rusqlite.
    fn from_sqlite(row: &rusqlite::Row<'_>) -> rusqlite::Result<PetRow> {
        Ok(PetRow {
            id: crate::fastread::uuid(row, 0)?,
            household_id: crate::fastread::uuid(row, 1)?,
            name: row.get(2)?,
            species: row.get(3)?,
            breed: row.get(4)?,
            date_of_birth: row.get(5)?,
            sex: row.get(6)?,
            weight_kg: row.get(7)?,
            microchip_id: row.get(8)?,
            photo_url: row.get(9)?,
            notes: row.get(10)?,
            created_at: row.get(11)?,
            updated_at: row.get(12)?,
            birth_precision: row.get(13)?,
            neutered: row.get(14)?,
        })
    }

    fn into_pet(self) -> Result<Pet> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("pet {}: {what}", self.id));
        Ok(Pet {
            id: PetId(self.id),
            household_id: HouseholdId(self.household_id),
            profile: PetProfile {
                species: self.species.parse().map_err(|_| corrupt("species"))?,
                sex: self.sex.parse().map_err(|_| corrupt("sex"))?,
                date_of_birth: self
                    .date_of_birth
                    .as_deref()
                    .map(|d| parse_date("date_of_birth", d))
                    .transpose()
                    .map_err(|_| corrupt("date_of_birth"))?,
                birth_precision: self.birth_precision.parse().map_err(|_| corrupt("birth_precision"))?,
                neutered: match self.neutered.as_str() {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                },
                name: self.name,
                breed: self.breed,
                weight_kg: self.weight_kg,
                microchip_id: self.microchip_id,
                photo_url: self.photo_url,
                notes: self.notes,
            },
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

macro_rules! pet_columns {
    () => {
        "id, household_id, name, species, breed, date_of_birth, sex, weight_kg, microchip_id, \
                           photo_url, notes, created_at, updated_at, birth_precision, neutered"
    };
}

/// The name as stored for search and ordering: lower-cased here, in Rust, because SQLite's
/// `LOWER()` only knows A–Z.
fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// `yes`, `no` or `unknown`, as the `neutered` column keeps it.
fn neutered_text(neutered: Option<bool>) -> &'static str {
    match neutered {
        Some(true) => "yes",
        Some(false) => "no",
        None => "unknown",
    }
}

/// Binds the profile's fields as `$3`..`$11`, in `pet_columns!` order (insert and update share it).
macro_rules! bind_profile {
    ($query:expr, $profile:expr) => {
        $query
            .bind(&$profile.name)
            .bind($profile.species.as_str())
            .bind(&$profile.breed)
            .bind($profile.date_of_birth.map(format_date))
            .bind($profile.sex.as_str())
            .bind($profile.weight_kg)
            .bind(&$profile.microchip_id)
            .bind(&$profile.photo_url)
            .bind(&$profile.notes)
    };
}

/// The `WHERE` clause of a pet listing: household, then optional species, name and text
/// filters (`$1`..`$4`); [`shared_condition`] narrows it to a vet's pets (`$5`).
macro_rules! pet_condition {
    () => {
        "household_id = $1 AND ($2 IS NULL OR species = $2) AND ($3 IS NULL OR name_key LIKE $3 ESCAPE '\\') \
         AND ($4 IS NULL OR name_key LIKE $4 ESCAPE '\\' OR LOWER(COALESCE(breed, '')) LIKE $4 ESCAPE '\\' \
         OR LOWER(COALESCE(microchip_id, '')) LIKE $4 ESCAPE '\\')"
    };
}

/// Only the pets shared with the member `$5` (a vet).
macro_rules! shared_condition {
    () => {
        " AND id IN (SELECT pet_id FROM vet_shares WHERE household_id = $1 AND user_id = $5)"
    };
}

impl Store {
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn create_pet(
        &self,
        household_id: HouseholdId,
        profile: &PetProfile,
        now: OffsetDateTime,
    ) -> Result<Pet> {
        let id = PetId::new();
        let at = to_ms(now);
        on_pool!(write, self, |pool| {
            let query = sqlx::query(concat!(
                "INSERT INTO pets (",
                pet_columns!(),
                ", name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13, $14, $15)"
            ))
            .bind(id.0)
            .bind(household_id.0);
            bind_profile!(query, profile)
                .bind(at)
                .bind(profile.birth_precision.as_str())
                .bind(neutered_text(profile.neutered))
                .bind(name_key(&profile.name))
                .execute(pool)
                .await?;
        });
        Ok(Pet { id, household_id, profile: profile.clone(), created_at: from_ms(at)?, updated_at: from_ms(at)? })
    }

    /// The pet, if it belongs to this household; `NotFound` otherwise.
    ///
    /// A shared snapshot: on SQLite, reads of an unchanged pet return the same `Arc`, so a
    /// caller may keep work derived from it (a rendered body) and reuse it while
    /// `Arc::ptr_eq` says the pet is still the one it was derived from.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %id))]
    pub async fn get_pet(&self, household_id: HouseholdId, id: PetId) -> Result<Arc<Pet>> {
        let generation = match self.cache.as_ref().map(|c| c.pet(household_id, id)) {
            Some(Ok(pet)) => return Ok(pet),
            Some(Err(generation)) => Some(generation),
            None => None,
        };
        let row: PetRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!("SELECT ", pet_columns!(), " FROM pets WHERE household_id = $1 AND id = $2"))
                .bind(household_id.0)
                .bind(id.0)
                .fetch_one(pool)
                .await?
        });
        let pet = Arc::new(row.into_pet()?);
        if let (Some(cache), Some(generation)) = (&self.cache, generation) {
            cache.put_pet_read(&pet, generation);
        }
        Ok(pet)
    }

    /// One page of the household's pets, by name.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn list_pets(
        &self,
        household_id: HouseholdId,
        filter: &PetFilter,
        page: PageRequest,
    ) -> Result<Page<Pet>> {
        let species = filter.species.map(|s| s.as_str());
        let name = filter.name_contains.as_deref().map(like_pattern);
        let text = filter.text_contains.as_deref().map(like_pattern);
        let shared_with = filter.shared_with.map(|u| u.0);
        if let Some(fast) = &self.fast {
            // Two statements each, so that the common list carries no vet condition at all.
            const COUNT: [&str; 2] = [
                concat!("SELECT COUNT(*) FROM pets WHERE ", pet_condition!()),
                concat!("SELECT COUNT(*) FROM pets WHERE ", pet_condition!(), shared_condition!()),
            ];
            const ROWS: [&str; 2] = [
                concat!(
                    "SELECT ",
                    pet_columns!(),
                    " FROM pets WHERE ",
                    pet_condition!(),
                    " ORDER BY name_key, id LIMIT $5 OFFSET $6"
                ),
                concat!(
                    "SELECT ",
                    pet_columns!(),
                    " FROM pets WHERE ",
                    pet_condition!(),
                    shared_condition!(),
                    " ORDER BY name_key, id LIMIT $6 OFFSET $7"
                ),
            ];
            let household = &household_id.0.as_bytes()[..];
            let shared = shared_with.as_ref().map(|u| &u.as_bytes()[..]);
            let (limit, offset) = (page.limit(), page.offset());
            let mut params: Vec<&dyn rusqlite::ToSql> = vec![&household, &species, &name, &text];
            if let Some(user) = &shared {
                params.push(user);
            }
            let which = usize::from(shared.is_some());
            let (total, rows) = fast.with(|conn| {
                let total: i64 = conn.prepare_cached(COUNT[which])?.query_row(params.as_slice(), |row| row.get(0))?;
                params.extend([&limit as &dyn rusqlite::ToSql, &offset]);
                let rows = conn
                    .prepare_cached(ROWS[which])?
                    .query_map(params.as_slice(), PetRow::from_sqlite)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((total, rows))
            })?;
            return Ok(Page {
                items: rows.into_iter().map(PetRow::into_pet).collect::<Result<_>>()?,
                total: total as u64,
                request: page,
            });
        }
        let (total, rows): (i64, Vec<PetRow>) = on_pool!(read, self, |pool| {
            // PostgreSQL plans `$5 IS NULL` away; one statement serves both.
            macro_rules! maybe_shared {
                () => {
                    " AND ($5 IS NULL OR id IN (SELECT pet_id FROM vet_shares WHERE household_id = $1 AND user_id = $5))"
                };
            }
            let total =
                sqlx::query_scalar(concat!("SELECT COUNT(*) FROM pets WHERE ", pet_condition!(), maybe_shared!()))
                    .bind(household_id.0)
                    .bind(species)
                    .bind(name.as_deref())
                    .bind(text.as_deref())
                    .bind(shared_with)
                    .fetch_one(pool)
                    .await?;
            let rows = sqlx::query_as(concat!(
                "SELECT ",
                pet_columns!(),
                " FROM pets WHERE ",
                pet_condition!(),
                maybe_shared!(),
                " ORDER BY name_key, id LIMIT $6 OFFSET $7"
            ))
            .bind(household_id.0)
            .bind(species)
            .bind(name.as_deref())
            .bind(text.as_deref())
            .bind(shared_with)
            .bind(page.limit())
            .bind(page.offset())
            .fetch_all(pool)
            .await?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(PetRow::into_pet).collect::<Result<_>>()?,
            total: total as u64,
            request: page,
        })
    }

    /// The household's pets with this microchip number (as stored: compact, upper-case).
    pub async fn pets_with_microchip(&self, household_id: HouseholdId, microchip_id: &str) -> Result<Vec<PetId>> {
        let ids: Vec<Uuid> = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT id FROM pets WHERE household_id = $1 AND microchip_id = $2 ORDER BY id")
                .bind(household_id.0)
                .bind(microchip_id)
                .fetch_all(pool)
                .await?
        });
        Ok(ids.into_iter().map(PetId).collect())
    }

    /// Replaces the pet's profile; `NotFound` if it is not this household's.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %id))]
    pub async fn update_pet(
        &self,
        household_id: HouseholdId,
        id: PetId,
        profile: &PetProfile,
        now: OffsetDateTime,
    ) -> Result<Pet> {
        let row: PetRow = on_pool!(write, self, |pool| {
            let query = sqlx::query_as(concat!(
                "UPDATE pets SET name = $3, species = $4, breed = $5, date_of_birth = $6, sex = $7, weight_kg = $8, \
                 microchip_id = $9, photo_url = $10, notes = $11, updated_at = $12, name_key = $13, \
                 birth_precision = $14, neutered = $15 \
                 WHERE household_id = $1 AND id = $2 RETURNING ",
                pet_columns!()
            ))
            .bind(household_id.0)
            .bind(id.0);
            bind_profile!(query, profile)
                .bind(to_ms(now))
                .bind(name_key(&profile.name))
                .bind(profile.birth_precision.as_str())
                .bind(neutered_text(profile.neutered))
                .fetch_one(pool)
                .await?
        });
        if let Some(cache) = &self.cache {
            cache.forget_pet(household_id, id);
        }
        row.into_pet()
    }

    /// Deletes the pet; `NotFound` if it is not this household's.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, pet_id = %id))]
    pub async fn delete_pet(&self, household_id: HouseholdId, id: PetId) -> Result<()> {
        let done = on_pool!(write, self, |pool| {
            sqlx::query("DELETE FROM pets WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id.0)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if let Some(cache) = &self.cache {
            cache.forget_pet(household_id, id);
        }
        if done == 1 { Ok(()) } else { Err(StoreError::NotFound) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(super::like_pattern("Be%l_a\\"), "%be\\%l\\_a\\\\%");
    }
}
