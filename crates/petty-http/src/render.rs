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

/// A 200 with a JSON body that is already serialised.
pub(crate) struct JsonBody(pub Bytes);

impl IntoResponse for JsonBody {
    fn into_response(self) -> Response {
        static JSON: HeaderValue = HeaderValue::from_static("application/json");
        (StatusCode::OK, [(header::CONTENT_TYPE, JSON.clone())], self.0).into_response()
    }
}
