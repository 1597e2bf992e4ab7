//! What every handler can reach: the store, the settings, the signing keys and rate limiters.

use std::sync::Arc;

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
}

impl AppState {
    pub fn new(store: Store, config: HttpConfig) -> Self {
        // Install the metrics recorder before the first request, so no request goes uncounted.
        crate::observability::prometheus();
        let keys = Arc::new(Keys::new(&config));
        let limits = Arc::new(RateLimiters::new(config.rate_limit));
        Self { store, config: Arc::new(config), keys, limits }
    }
}
