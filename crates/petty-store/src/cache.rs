//! A read-through cache of hot rows for the embedded (SQLite) backend.
//!
//! In embedded mode this process is the only writer of the database file, and every write goes
//! through the [`Store`](crate::Store), which updates the cache in the same call, so the cache
//! can never be stale. On PostgreSQL other nodes write too, so there is no pet cache there;
//! device tokens, members' standing and API keys are cached on both, see [`SharedCache`].
//! Entries are keyed by household as well as id: a lookup is scoped like the SQL it replaces.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use petty_core::ids::{HouseholdId, PetId, UserId};

use crate::accounts::Standing;
use crate::devices::DeviceCredential;
use petty_core::pets::Pet;

/// Enough for every pet of a few thousand households; past it the cache starts over.
const MAX_ENTRIES: usize = 20_000;

#[derive(Debug, Default)]
pub(crate) struct ReadCache {
    inner: Mutex<Pets>,
}

#[derive(Debug, Default)]
struct Pets {
    rows: HashMap<(HouseholdId, PetId), Arc<Pet>>,
    /// Bumped by every change, so a read that started before a change cannot put the old row
    /// back after the change forgot it.
    generation: u64,
}

impl ReadCache {
    /// The cached pet, or the generation to hand back to [`ReadCache::put_pet_read`].
    pub(crate) fn pet(&self, household_id: HouseholdId, id: PetId) -> Result<Arc<Pet>, u64> {
        let Ok(pets) = self.inner.lock() else { return Err(u64::MAX) };
        pets.rows.get(&(household_id, id)).cloned().ok_or(pets.generation)
    }

    /// Keeps a pet read from the database, unless something changed since the read began.
    pub(crate) fn put_pet_read(&self, pet: &Arc<Pet>, generation: u64) {
        if let Ok(mut pets) = self.inner.lock()
            && pets.generation == generation
        {
            if pets.rows.len() >= MAX_ENTRIES {
                pets.rows.clear();
            }
            pets.rows.insert((pet.household_id, pet.id), Arc::clone(pet));
        }
    }

    /// Called after a household was deleted: none of its pets is served again.
    pub(crate) fn forget_household(&self, household_id: HouseholdId) {
        if let Ok(mut pets) = self.inner.lock() {
            pets.rows.retain(|(h, _), _| *h != household_id);
            pets.generation += 1;
        }
    }

    /// Called after a committed change to the pet.
    pub(crate) fn forget_pet(&self, household_id: HouseholdId, id: PetId) {
        if let Ok(mut pets) = self.inner.lock() {
            pets.rows.remove(&(household_id, id));
            pets.generation += 1;
        }
    }
}

/// Rows that authenticate every request, kept across the writes that change them: device
/// tokens by hash (every reading a device sends is authenticated by its token) and members'
/// standing (every request with an access token is checked against it).
///
/// On SQLite this process makes every change, and forgets the entries after each one. On
/// PostgreSQL other nodes make changes too: every change is announced with `NOTIFY`
/// (`DEVICE_CHANNEL`, `STANDING_CHANNEL`), and the cache is only used while this node is
/// listening. When the listening connection is lost the cache is switched off and emptied until
/// it is back, so a token revoked on another node can never be honoured from memory here.
#[derive(Debug)]
pub(crate) struct SharedCache<K, V> {
    entries: Mutex<Entries<K, V>>,
    live: AtomicBool,
}

#[derive(Debug)]
struct Entries<K, V> {
    map: HashMap<K, V>,
    /// Bumped by every change, so a lookup that began before it cannot store its answer after.
    generation: u64,
}

/// Device tokens found by hash.
pub(crate) type DeviceTokenCache = SharedCache<Vec<u8>, DeviceCredential>;

/// A member's standing in a household (`None`: not a member), by user and household.
pub(crate) type StandingCache = SharedCache<(UserId, HouseholdId), Option<Standing>>;

/// Live API keys by hash, forgotten with members' standing (on its channel): a key's scope
/// follows its maker's role and membership.
pub(crate) type ApiKeyCache = SharedCache<Vec<u8>, crate::accounts::CachedApiKey>;

/// The PostgreSQL channel on which device changes are announced.
pub(crate) const DEVICE_CHANNEL: &str = "petty_device_tokens";

/// The PostgreSQL channel on which changes to memberships and token stamps are announced.
pub(crate) const STANDING_CHANNEL: &str = "petty_standing";

/// What a listener on a channel does with a cache.
pub(crate) trait Invalidate: Send + Sync {
    fn forget(&self);
    fn set_live(&self, live: bool);
}

impl<K: Eq + Hash, V: Clone> SharedCache<K, V> {
    /// `live`: used from the start (SQLite), or only once `set_live(true)` (PostgreSQL).
    pub(crate) fn new(live: bool) -> Self {
        Self { entries: Mutex::new(Entries { map: HashMap::new(), generation: 0 }), live: AtomicBool::new(live) }
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.entries.lock().ok()?.map.get(key).cloned()
    }

    /// The generation to hand back to [`SharedCache::put`], if the cache is in use.
    pub(crate) fn generation(&self) -> Option<u64> {
        if !self.live.load(Ordering::Acquire) {
            return None;
        }
        self.entries.lock().ok().map(|t| t.generation)
    }

    /// Keeps a row read from the database, unless anything changed since the read began.
    pub(crate) fn put(&self, key: K, found: V, generation: u64) {
        if let Ok(mut entries) = self.entries.lock()
            && entries.generation == generation
        {
            if entries.map.len() >= MAX_ENTRIES {
                entries.map.clear();
            }
            entries.map.insert(key, found);
        }
    }

    /// Changes every kept entry in place (for a column that no check depends on).
    pub(crate) fn update_each(&self, mut change: impl FnMut(&mut V)) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.map.values_mut().for_each(&mut change);
        }
    }
}

impl<K: Send, V: Send> Invalidate for SharedCache<K, V> {
    /// Called after any committed change. Such changes are rare (a device's token, a member
    /// removed, a sign-out), so forgetting everything keeps this simple and obviously right.
    fn forget(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.map.clear();
            entries.generation += 1;
        }
    }

    /// Switches the cache on (listening again: start empty) or off (no longer listening).
    fn set_live(&self, live: bool) {
        if live {
            self.forget();
            self.live.store(true, Ordering::Release);
        } else {
            self.live.store(false, Ordering::Release);
            self.forget();
        }
    }
}
