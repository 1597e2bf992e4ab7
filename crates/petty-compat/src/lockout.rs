//! The profiles' sign-in lockout, over the failed sign-ins Petty records (wrong passwords and
//! wrong codes of untrusted clients, from any edge, per email): the failure that makes `failures`
//! within `window` refuses further attempts for `window` after it. Both the Pet Management and
//! the AURORA_LIFE contracts ask for this on top of Petty's own throttles.

use petty_http::AppState;
use petty_store::{FailureScope, StoreError};
use time::{Duration, OffsetDateTime};

/// How long the account keyed `key` (an email, as Petty records failures) is still locked for,
/// in whole seconds (rounded up), or `None` when an attempt may be judged now.
pub(crate) async fn locked_for(
    state: &AppState,
    key: &str,
    failures: u32,
    window: Duration,
    now: OffsetDateTime,
) -> Result<Option<u64>, StoreError> {
    let recent = state.store.signin_failures(FailureScope::Account, key, now - window * 2).await?;
    let Some(latest) = recent.latest.filter(|l| *l + window > now) else { return Ok(None) };
    // Nothing is recorded while locked, so the latest failure is the one that locked it.
    let run = state.store.signin_failures(FailureScope::Account, key, latest - window).await?;
    if run.count < failures {
        return Ok(None);
    }
    let wait = latest + window - now;
    Ok(Some(u64::try_from(wait.whole_seconds()).unwrap_or(0).saturating_add(u64::from(wait.subsec_nanoseconds() > 0))))
}
