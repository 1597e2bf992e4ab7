//! Rendered JSON bodies of unchanged snapshots, reused.
//!
//! The store hands out shared snapshots (`Arc<Pet>`): on SQLite, reading an unchanged row
//! returns the same `Arc` until a write replaces it. A body rendered from a snapshot is a pure
//! function of it, so it can be kept beside the snapshot and reused while `Arc::ptr_eq` says
//! the store still hands out that very snapshot. The memo holds the `Arc`, so its address
//! cannot be reused by a newer snapshot while the entry lives. Nothing here can go stale:
//! a changed row is a new `Arc`, which misses and replaces the entry.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::ApiError;

/// More entries than this and the memo starts over.
const MAX_ENTRIES: usize = 10_000;

pub(crate) struct BodyMemo<K, T> {
    entries: Mutex<HashMap<K, (Arc<T>, Bytes)>>,
}

impl<K, T> Default for BodyMemo<K, T> {
    fn default() -> Self {
        Self { entries: Mutex::default() }
    }
}

impl<K: Hash + Eq, T> BodyMemo<K, T> {
    /// The JSON body for `snapshot`: the one rendered before from this very snapshot, or a new
    /// one from `view`. `remember` is false where snapshots are never shared (PostgreSQL), so
    /// the memo is not filled with entries that cannot hit.
    pub(crate) fn json<V: Serialize>(
        &self,
        key: K,
        snapshot: &Arc<T>,
        remember: bool,
        view: impl FnOnce(&T) -> V,
    ) -> Result<Bytes, ApiError> {
        if let Ok(entries) = self.entries.lock()
            && let Some((seen, body)) = entries.get(&key)
            && Arc::ptr_eq(seen, snapshot)
        {
            return Ok(body.clone());
        }
        let body = Bytes::from(serde_json::to_vec(&view(snapshot)).map_err(ApiError::internal)?);
        if remember && let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (Arc::clone(snapshot), body.clone()));
        }
        Ok(body)
    }
}

/// Rendered bodies of answers read from many rows (a page of records), kept under the store's
/// write generation (`Store::write_generation`, SQLite only): an entry is reused only while no
/// write has finished since the generation was read, which was before the rows were, so a
/// body never outlives the data it shows. Entries also age out after `max_age`, because an
/// answer may carry signed links (good for an hour) that must stay usable.
pub(crate) struct GenerationMemo<K> {
    entries: Mutex<HashMap<K, (u64, std::time::Instant, Bytes)>>,
    max_age: std::time::Duration,
}

impl<K: Hash + Eq> GenerationMemo<K> {
    pub(crate) fn new(max_age: std::time::Duration) -> Self {
        Self { entries: Mutex::default(), max_age }
    }

    /// The body kept for `key` under `generation`, if it is still young enough.
    pub(crate) fn get(&self, key: &K, generation: u64) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        let (seen, at, body) = entries.get(key)?;
        (*seen == generation && at.elapsed() < self.max_age).then(|| body.clone())
    }

    /// Keeps `body` for `key`, made from rows read after `generation` was.
    pub(crate) fn put(&self, key: K, generation: u64, body: Bytes) {
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(key, (generation, std::time::Instant::now(), body));
        }
    }
}

/// A 200 with a JSON body that is already serialised.
pub(crate) struct JsonBody(pub Bytes);

impl IntoResponse for JsonBody {
    fn into_response(self) -> Response {
        static JSON: HeaderValue = HeaderValue::from_static("application/json");
        (StatusCode::OK, [(header::CONTENT_TYPE, JSON.clone())], self.0).into_response()
    }
}
