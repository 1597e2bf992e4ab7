//! Mail about an account: a password-reset link, an address-verification link, and the warning
//! an address's owner gets when someone tries to register with it.
//!
//! Each mail is first a row of the account mail queue (`Store::enqueue_account_mail`), so an
//! SMTP outage delays it and loses nothing; [`queue`] then tries to send it at once, in the
//! background, and the outbox job (`petty-jobs`) retries what failed with the notifications'
//! backoff ([`deliver_due`]). A row holds no secret: the token a link carries is made when the
//! mail is sent, and only its hash is kept (`account_tokens`), so neither the queue nor the logs
//! ever hold a working link. Who the mail is for is looked up when it is sent, too: a reset
//! asked for an address without an account is dropped there, never sent.

use petty_core::accounts::Email;
use petty_notify::{SendError, backoff_ms};
use petty_store::{AccountMail, AccountMailKind, AccountMailStatus, StoreError, TokenPurpose};
use uuid::Uuid;

use crate::App;
use crate::secrets::new_secret;

/// Rows claimed at once.
const BATCH: u32 = 16;

/// Queues a mail to `recipient` and tries to send it at once, without waiting for it. Does
/// nothing when no SMTP server is configured, and queues nothing more once the address had its
/// hourly share of mail (`AccountMailSettings::per_address_per_hour`). The caller's answer must
/// not depend on either (it would tell whether an account exists).
pub async fn queue(app: &App, kind: AccountMailKind, recipient: &Email) -> Result<(), StoreError> {
    if !app.notifier.can_email() {
        tracing::debug!(kind = kind.as_str(), "no SMTP server is configured: account mail is not sent");
        return Ok(());
    }
    let per_hour = app.settings.account_mail.per_address_per_hour;
    match app.store.enqueue_account_mail(kind, recipient, app.now(), per_hour).await? {
        Some(id) => {
            let app = app.clone();
            tokio::spawn(async move { send_now(&app, id).await });
        }
        None => tracing::info!(kind = kind.as_str(), "account mail held back: this address had its share this hour"),
    }
    Ok(())
}

/// Sends one queued mail now, unless another sender holds it.
async fn send_now(app: &App, id: Uuid) {
    let lease = lease_ms(app);
    match app.store.claim_account_mail_by_id(id, app.now_ms(), lease).await {
        Ok(Some(mail)) => deliver(app, mail).await,
        Ok(None) => {}
        // The row stays pending: the outbox job sends it.
        Err(e) => tracing::warn!(error = %e, "claiming an account mail failed; the outbox job will send it"),
    }
}

fn lease_ms(app: &App) -> i64 {
    i64::try_from(app.settings.notify.lease.as_millis()).unwrap_or(60_000)
}

/// Sends every account mail due at `now_ms` (the outbox job's pass); answers how many were
/// tried.
pub async fn deliver_due(app: &App, now_ms: i64) -> Result<usize, StoreError> {
    let mut tried = 0;
    loop {
        let batch = app.store.claim_account_mail(now_ms, lease_ms(app), BATCH).await?;
        if batch.is_empty() {
            return Ok(tried);
        }
        tried += batch.len();
        for mail in batch {
            deliver(app, mail).await;
        }
    }
}

/// Composes a claimed mail (making its link's token now), sends it and records how it went.
async fn deliver(app: &App, mail: AccountMail) {
    let now = app.now();
    let outcome = match compose(app, &mail, now).await {
        Ok(Some((subject, body))) => app.notifier.send_email_to(&mail.recipient, &subject, body).await.map(Some),
        Ok(None) => Ok(None),
        Err(e) => Err(SendError::retry(e.to_string())),
    };
    let now_ms = app.now_ms();
    let recorded = match outcome {
        Ok(Some(reply)) => {
            metrics::counter!("petty_account_mail_sent_total", "kind" => mail.kind.as_str()).increment(1);
            app.store.account_mail_finished(mail.id, AccountMailStatus::Sent, Some(&reply), now_ms).await
        }
        Ok(None) => {
            app.store.account_mail_finished(mail.id, AccountMailStatus::Dropped, Some("no account"), now_ms).await
        }
        Err(e) => {
            metrics::counter!("petty_account_mail_failed_total", "kind" => mail.kind.as_str()).increment(1);
            let give_up = e.permanent || mail.attempts >= i64::from(app.settings.notify.max_attempts);
            let retry_at = (!give_up).then(|| now_ms + backoff_ms(&app.settings.notify, mail.attempts));
            // The error names the server or the address, never the link.
            tracing::warn!(
                kind = mail.kind.as_str(), attempt = mail.attempts, give_up, error = %e.message,
                "an account mail was not sent"
            );
            app.store.account_mail_failed(mail.id, &e.message, retry_at).await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the row is claimed again: sent at least once, never lost.
        tracing::warn!(error = %e, "recording an account mail's delivery failed");
    }
}

/// The subject and body of a mail, its link's token made and its hash stored; `None` when
/// there is nothing to send (no account at the address, or an address already verified).
async fn compose(
    app: &App,
    mail: &AccountMail,
    now: time::OffsetDateTime,
) -> Result<Option<(String, String)>, StoreError> {
    let Ok(email) = Email::parse("email", &mail.recipient) else { return Ok(None) };
    let Some(account) = app.store.user_credentials_by_email(&email).await? else { return Ok(None) };
    let user = account.user;
    let settings = &app.settings.account_mail;
    let (purpose, ttl, page, prefix) = match mail.kind {
        AccountMailKind::PasswordReset => (TokenPurpose::PasswordReset, settings.reset_ttl, "reset-password", "pr_"),
        AccountMailKind::VerifyEmail if user.email_verified_at.is_some() => return Ok(None),
        AccountMailKind::VerifyEmail => (TokenPurpose::VerifyEmail, settings.verify_ttl, "verify-email", "ev_"),
        AccountMailKind::RegistrationAttempt => {
            let public_url = app.notifier.public_url();
            return Ok(Some(petty_notify::account_email(mail.kind, None, public_url, "")));
        }
    };
    let (token, hash) = new_secret(prefix);
    let expires_at = now + ttl;
    app.store.insert_account_token(purpose, &hash, user.id, &user.email, expires_at, now).await?;
    let public_url = app.notifier.public_url();
    let link = format!("{public_url}/{page}?token={token}");
    Ok(Some(petty_notify::account_email(mail.kind, Some(&link), public_url, &spoken_duration(ttl))))
}

/// "1 hour", "2 days", "30 minutes": how long a link works, as a mail says it.
fn spoken_duration(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    let (n, unit) = if secs >= 86_400 && secs % 86_400 == 0 {
        (secs / 86_400, "day")
    } else if secs >= 3600 && secs % 3600 == 0 {
        (secs / 3600, "hour")
    } else {
        (secs.div_ceil(60).max(1), "minute")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_are_said_in_words() {
        assert_eq!(spoken_duration(Duration::from_secs(3600)), "1 hour");
        assert_eq!(spoken_duration(Duration::from_secs(2 * 86_400)), "2 days");
        assert_eq!(spoken_duration(Duration::from_secs(90 * 60)), "90 minutes");
        assert_eq!(spoken_duration(Duration::from_secs(10)), "1 minute");
    }
}
