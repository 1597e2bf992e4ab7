//! The pet catalog: a household's listings, numbered from 1 in its catalog and never reused, its
//! settings (public or not, a title), and full-text matching over name, breed and description
//! (FTS5 on SQLite, a `tsvector` on PostgreSQL; both match each word as a word prefix, and the
//! ranking is the core's, so both engines answer alike).
//!
//! Searches are answered from a snapshot of the household's listings ([`Store::catalog`]),
//! kept per version: every change moves `catalogs.version` in its own transaction, and each
//! search reads that version first, so a snapshot is never older than the last committed
//! change on any node.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use petty_core::catalog::{Index, Listing, ListingContent, Sex, Size, Status};
use petty_core::ids::{HouseholdId, ListingId, UserId};
use sqlx::FromRow;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, from_ms, on_pool, to_ms};

/// The most households whose snapshots are kept; the least recently used goes first.
const SNAPSHOTS_MAX: usize = 64;

/// A household's catalog settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatalogSettings {
    /// Anyone may read the catalog, without signing in.
    pub public: bool,
    /// The name the public page shows ("Riverside Shelter").
    pub title: Option<String>,
}

/// A household's listings at one version.
#[derive(Debug)]
pub struct CatalogSnapshot {
    pub version: i64,
    pub settings: CatalogSettings,
    /// By number.
    pub listings: Vec<Listing>,
    /// The listings packed for searching, in the same order.
    pub index: Index,
}

/// Snapshots by household, with a use stamp for eviction.
#[derive(Debug, Default)]
pub(crate) struct Snapshots {
    map: Mutex<HashMap<HouseholdId, (Arc<CatalogSnapshot>, u64)>>,
    uses: std::sync::atomic::AtomicU64,
}

impl Snapshots {
    fn get(&self, household: HouseholdId, version: i64) -> Option<Arc<CatalogSnapshot>> {
        let stamp = self.uses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut map = self.map.lock().ok()?;
        let (snapshot, used) = map.get_mut(&household)?;
        if snapshot.version != version {
            return None;
        }
        *used = stamp;
        Some(snapshot.clone())
    }

    fn put(&self, household: HouseholdId, snapshot: Arc<CatalogSnapshot>) {
        let stamp = self.uses.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let Ok(mut map) = self.map.lock() else { return };
        if map.len() >= SNAPSHOTS_MAX
            && !map.contains_key(&household)
            && let Some(oldest) = map.iter().min_by_key(|(_, (_, used))| *used).map(|(h, _)| *h)
        {
            map.remove(&oldest);
        }
        map.insert(household, (snapshot, stamp));
    }
}

#[derive(FromRow)]
struct ListingRow {
    id: Uuid,
    household_id: Uuid,
    number: i64,
    name: String,
    species: String,
    breed: String,
    age_months: Option<i64>,
    size: Option<String>,
    sex: Option<String>,
    color: Option<String>,
    coat: Option<String>,
    good_with_children: Option<bool>,
    good_with_dogs: Option<bool>,
    good_with_cats: Option<bool>,
    house_trained: Option<bool>,
    special_needs: Option<bool>,
    weight_kg: Option<f64>,
    price_cents: Option<i64>,
    currency: String,
    status: String,
    location: Option<String>,
    /// A JSON array of addresses.
    photos: Option<String>,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

macro_rules! listing_columns {
    () => {
        "id, household_id, number, name, species, breed, age_months, size, sex, color, coat, \
         good_with_children, good_with_dogs, good_with_cats, house_trained, special_needs, weight_kg, \
         price_cents, currency, status, location, photos, description, created_at, updated_at"
    };
}

impl ListingRow {
    fn into_listing(self) -> Result<Listing> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("catalog listing {}: {what}", self.id));
        let content = ListingContent {
            species: self.species,
            breed: self.breed,
            age_months: self.age_months.map(|m| u32::try_from(m).map_err(|_| corrupt("age_months"))).transpose()?,
            size: self.size.map(|s| Size::parse("size", &s).map_err(|_| corrupt("size"))).transpose()?,
            sex: self.sex.map(|s| Sex::parse("sex", &s).map_err(|_| corrupt("sex"))).transpose()?,
            color: self.color,
            coat: self.coat,
            good_with_children: self.good_with_children,
            good_with_dogs: self.good_with_dogs,
            good_with_cats: self.good_with_cats,
            house_trained: self.house_trained,
            special_needs: self.special_needs,
            weight_kg: self.weight_kg,
            price_cents: self.price_cents,
            currency: self.currency,
            status: Status::parse("status", &self.status).map_err(|_| corrupt("status"))?,
            location: self.location,
            photos: match self.photos.as_deref() {
                None => Vec::new(),
                Some(json) => serde_json::from_str(json).map_err(|_| corrupt("photos"))?,
            },
            description: self.description,
            name: self.name,
        };
        Ok(Listing {
            id: ListingId(self.id),
            household_id: HouseholdId(self.household_id),
            number: self.number,
            facts: content.facts(),
            content,
            created_at: from_ms(self.created_at)?,
            updated_at: from_ms(self.updated_at)?,
        })
    }
}

/// The FTS5 query for words matched as prefixes, all of them (`"gold"* AND "retr"*`). The words
/// are letters and digits only (`petty_core::catalog::search_terms`), quoted all the same.
fn fts5_query(terms: &[String]) -> String {
    terms.iter().map(|t| format!("\"{}\"*", t.replace('"', ""))).collect::<Vec<_>>().join(" AND ")
}

/// The `to_tsquery('simple', …)` text for the same words (`gold:* & retr:*`).
fn tsquery(terms: &[String]) -> String {
    terms
        .iter()
        .map(|t| t.chars().filter(|c| c.is_alphanumeric()).collect::<String>())
        .filter(|t| !t.is_empty())
        .map(|t| format!("{t}:*"))
        .collect::<Vec<_>>()
        .join(" & ")
}

macro_rules! bind_content {
    ($query:expr, $c:expr) => {
        $query
            .bind(&$c.name)
            .bind(&$c.species)
            .bind(&$c.breed)
            .bind($c.age_months.map(i64::from))
            .bind($c.size.map(|s| s.as_str()))
            .bind($c.sex.map(|s| s.as_str()))
            .bind(&$c.color)
            .bind(&$c.coat)
            .bind($c.good_with_children)
            .bind($c.good_with_dogs)
            .bind($c.good_with_cats)
            .bind($c.house_trained)
            .bind($c.special_needs)
            .bind($c.weight_kg)
            .bind($c.price_cents)
            .bind(&$c.currency)
            .bind($c.status.as_str())
            .bind(&$c.location)
            .bind(serde_json::Value::from($c.photos.clone()).to_string())
            .bind(&$c.description)
    };
}

/// Moves the household's catalog version (creating its row), answering the number a new listing
/// gets when `numbered`.
const BUMP: &str = "INSERT INTO catalogs (household_id, next_number, version) VALUES ($1, 2, 1) \
     ON CONFLICT (household_id) DO UPDATE SET next_number = catalogs.next_number + $2, version = catalogs.version + 1 \
     RETURNING next_number";

impl Store {
    /// The household's catalog version and settings (version 0 before any listing).
    pub async fn catalog_state(&self, household_id: HouseholdId) -> Result<(i64, CatalogSettings)> {
        const SQL: &str = "SELECT version, public, title FROM catalogs WHERE household_id = $1";
        let row: Option<(i64, bool, Option<String>)> = if let Some(fast) = &self.fast {
            let household = household_id.0.into_bytes();
            fast.with(|conn| {
                let mut statement = conn.prepare_cached(SQL)?;
                let mut rows = statement.query([&household[..]])?;
                match rows.next()? {
                    Some(row) => Ok(Some((row.get(0)?, row.get(1)?, row.get(2)?))),
                    None => Ok(None),
                }
            })?
        } else {
            on_pool!(read, self, |pool| sqlx::query_as(SQL).bind(household_id.0).fetch_optional(pool).await?)
        };
        Ok(row.map_or((0, CatalogSettings::default()), |(version, public, title)| {
            (version, CatalogSettings { public, title })
        }))
    }

    /// The household's listings as of now, from a snapshot of the current version.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn catalog(&self, household_id: HouseholdId) -> Result<Arc<CatalogSnapshot>> {
        let (version, settings) = self.catalog_state(household_id).await?;
        if let Some(snapshot) = self.catalogs.get(household_id, version) {
            return Ok(snapshot);
        }
        let rows: Vec<ListingRow> = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                listing_columns!(),
                " FROM catalog_listings WHERE household_id = $1 ORDER BY number"
            ))
            .bind(household_id.0)
            .fetch_all(pool)
            .await?
        });
        let listings = rows.into_iter().map(ListingRow::into_listing).collect::<Result<Vec<_>>>()?;
        // The rows may be newer than `version` (a change committed between the two reads): the
        // snapshot is then kept under the older version and replaced at the next search.
        let index = Index::build(&listings);
        let snapshot = Arc::new(CatalogSnapshot { version, settings, listings, index });
        self.catalogs.put(household_id, snapshot.clone());
        Ok(snapshot)
    }

    /// The numbers of the household's listings whose name, breed or description has a word
    /// starting with each of `terms` (all of them). No terms match nothing.
    pub async fn catalog_text_matches(&self, household_id: HouseholdId, terms: &[String]) -> Result<HashSet<i64>> {
        if terms.is_empty() {
            return Ok(HashSet::new());
        }
        let numbers: Vec<i64> = match &self.backend {
            crate::Backend::Sqlite { read, .. } => {
                sqlx::query_scalar(
                    "SELECT l.number FROM catalog_text JOIN catalog_listings l ON l.seq = catalog_text.rowid \
                     WHERE catalog_text MATCH $1 AND l.household_id = $2",
                )
                .bind(fts5_query(terms))
                .bind(household_id.0)
                .fetch_all(read)
                .await?
            }
            crate::Backend::Postgres(pool) => {
                let query = tsquery(terms);
                if query.is_empty() {
                    return Ok(HashSet::new());
                }
                sqlx::query_scalar(
                    "SELECT number FROM catalog_listings \
                     WHERE household_id = $1 AND search @@ to_tsquery('simple'::regconfig, $2)",
                )
                .bind(household_id.0)
                .bind(query)
                .fetch_all(pool)
                .await?
            }
        };
        Ok(numbers.into_iter().collect())
    }

    /// Adds a listing with the household's next number.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id))]
    pub async fn create_listing(
        &self,
        household_id: HouseholdId,
        content: &ListingContent,
        created_by: Option<UserId>,
        now: OffsetDateTime,
    ) -> Result<Listing> {
        let id = ListingId::new();
        let at = to_ms(now);
        let number: i64 = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let next: i64 = sqlx::query_scalar(BUMP).bind(household_id.0).bind(1_i64).fetch_one(&mut *tx).await?;
            let number = next - 1;
            let query = sqlx::query(concat!(
                "INSERT INTO catalog_listings (",
                listing_columns!(),
                ", created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
                 $17, $18, $19, $20, $21, $22, $23, $24, $24, $25)"
            ))
            .bind(id.0)
            .bind(household_id.0)
            .bind(number);
            bind_content!(query, content).bind(at).bind(created_by.map(|u| u.0)).execute(&mut *tx).await?;
            tx.commit().await?;
            number
        });
        Ok(Listing {
            id,
            household_id,
            number,
            facts: content.facts(),
            content: content.clone(),
            created_at: from_ms(at)?,
            updated_at: from_ms(at)?,
        })
    }

    /// The listing, if it is in this household's catalog.
    pub async fn get_listing(&self, household_id: HouseholdId, id: ListingId) -> Result<Listing> {
        let row: ListingRow = on_pool!(read, self, |pool| {
            sqlx::query_as(concat!(
                "SELECT ",
                listing_columns!(),
                " FROM catalog_listings WHERE household_id = $1 AND id = $2"
            ))
            .bind(household_id.0)
            .bind(id.0)
            .fetch_one(pool)
            .await?
        });
        row.into_listing()
    }

    /// Replaces a listing's content.
    #[tracing::instrument(level = "debug", skip_all, fields(household_id = %household_id, listing_id = %id))]
    pub async fn update_listing(
        &self,
        household_id: HouseholdId,
        id: ListingId,
        content: &ListingContent,
        now: OffsetDateTime,
    ) -> Result<Listing> {
        let at = to_ms(now);
        let row: ListingRow = on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let query = sqlx::query_as(concat!(
                "UPDATE catalog_listings SET name = $3, species = $4, breed = $5, age_months = $6, size = $7, \
                 sex = $8, color = $9, coat = $10, good_with_children = $11, good_with_dogs = $12, \
                 good_with_cats = $13, house_trained = $14, special_needs = $15, weight_kg = $16, \
                 price_cents = $17, currency = $18, status = $19, location = $20, photos = $21, \
                 description = $22, updated_at = $23 WHERE household_id = $1 AND id = $2 RETURNING ",
                listing_columns!()
            ))
            .bind(household_id.0)
            .bind(id.0);
            let row: ListingRow = bind_content!(query, content).bind(at).fetch_one(&mut *tx).await?;
            sqlx::query(BUMP).bind(household_id.0).bind(0_i64).execute(&mut *tx).await?;
            tx.commit().await?;
            row
        });
        row.into_listing()
    }

    /// Removes a listing; its number is not given again.
    pub async fn delete_listing(&self, household_id: HouseholdId, id: ListingId) -> Result<()> {
        on_pool!(write, self, |pool| {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query("DELETE FROM catalog_listings WHERE household_id = $1 AND id = $2")
                .bind(household_id.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            sqlx::query(BUMP).bind(household_id.0).bind(0_i64).execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The households that have a catalog (have listed something, or set its settings).
    pub async fn catalog_households(&self) -> Result<Vec<HouseholdId>> {
        let ids: Vec<Uuid> = on_pool!(read, self, |pool| {
            sqlx::query_scalar("SELECT household_id FROM catalogs ORDER BY household_id").fetch_all(pool).await?
        });
        Ok(ids.into_iter().map(HouseholdId).collect())
    }

    /// Makes the household's catalog public or private, and names it.
    pub async fn set_catalog_settings(&self, household_id: HouseholdId, settings: &CatalogSettings) -> Result<()> {
        on_pool!(write, self, |pool| {
            sqlx::query(
                "INSERT INTO catalogs (household_id, next_number, version, public, title) VALUES ($1, 1, 1, $2, $3) \
                 ON CONFLICT (household_id) DO UPDATE SET public = $2, title = $3, version = catalogs.version + 1",
            )
            .bind(household_id.0)
            .bind(settings.public)
            .bind(&settings.title)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
