//! What every handler can reach: the store, the settings, the signing keys and rate limiters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use petty_core::ids::ApiKeyId;

use petty_store::Store;

use crate::auth::Keys;
use crate::config::HttpConfig;
use crate::ratelimit::RateLimiters;

/// Shared by all requests; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<HttpConfig>,
    pub(crate) keys: Arc<Keys>,
    pub(crate) limits: Arc<RateLimiters>,
    /// When this node last recorded each API key's use, so a busy key costs one write a minute.
    pub(crate) api_key_touches: Arc<Mutex<HashMap<ApiKeyId, Instant>>>,
}

impl AppState {
    pub fn new(store: Store, config: HttpConfig) -> Self {
        // Install the metrics recorder before the first request, so no request goes uncounted.
        crate::observability::prometheus();
        let keys = Arc::new(Keys::new(&config));
        let limits = Arc::new(RateLimiters::new(config.rate_limit));
        Self { store, config: Arc::new(config), keys, limits, api_key_touches: Arc::default() }
    }
}
