//! The second factor's use cases: set up (a new secret, kept sealed until a code proves the
//! app has it), turn on (the backup codes, shown once), check a code (at sign-in and for a
//! sensitive action: each TOTP step once, each backup code once), turn off.
//!
//! Keeping secrets: the TOTP secret is sealed (encrypt-then-MAC: a keystream and a tag, both
//! HMAC-SHA256 under keys derived from the server secret, with a random nonce per seal), so a
//! dump of the database alone does not give it away; backup codes are stored as HMAC-SHA256
//! under another derived key and the user's id, never in clear.

use hmac::{Hmac, KeyInit, Mac};
use petty_core::ids::UserId;
use petty_core::mfa::{self as rules, MfaCode};
use petty_store::StoreError;
use sha2::Sha256;

use crate::App;

type HmacSha256 = Hmac<Sha256>;

const SEAL_VERSION: u8 = 1;
const NONCE: usize = 16;
const TAG: usize = 16;

/// The keys derived from the server secret.
pub struct MfaKeys {
    encrypt: [u8; 32],
    authenticate: [u8; 32],
    backup: [u8; 32],
}

impl std::fmt::Debug for MfaKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaKeys(..)")
    }
}

fn prf(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl MfaKeys {
    pub fn derive(server_secret: &[u8]) -> Self {
        Self {
            encrypt: prf(server_secret, &[b"petty-mfa-seal-encrypt-v1"]),
            authenticate: prf(server_secret, &[b"petty-mfa-seal-authenticate-v1"]),
            backup: prf(server_secret, &[b"petty-mfa-backup-code-v1"]),
        }
    }

    /// Seals a secret of at most 32 bytes: version, nonce, ciphertext, tag.
    pub fn seal(&self, secret: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE] = rand::random();
        let stream = prf(&self.encrypt, &[&nonce]);
        let mut out = Vec::with_capacity(1 + NONCE + secret.len() + TAG);
        out.push(SEAL_VERSION);
        out.extend_from_slice(&nonce);
        out.extend(secret.iter().zip(stream.iter()).map(|(a, b)| a ^ b));
        let tag = prf(&self.authenticate, &[&out]);
        out.extend_from_slice(&tag[..TAG]);
        out
    }

    /// The secret inside `sealed`, if it was sealed with these keys and not changed since.
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 1 + NONCE + TAG || sealed[0] != SEAL_VERSION || sealed.len() > 1 + NONCE + 32 + TAG {
            return None;
        }
        let (body, tag) = sealed.split_at(sealed.len() - TAG);
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.authenticate).ok()?;
        mac.update(body);
        mac.verify_truncated_left(tag).ok()?;
        let stream = prf(&self.encrypt, &[&body[1..1 + NONCE]]);
        Some(body[1 + NONCE..].iter().zip(stream.iter()).map(|(a, b)| a ^ b).collect())
    }

    /// How a backup code is stored: keyed, and bound to its user.
    pub fn backup_code_hash(&self, user_id: UserId, code: &str) -> Vec<u8> {
        prf(&self.backup, &[user_id.0.as_bytes(), code.as_bytes()]).to_vec()
    }
}

/// Why an MFA use case said no.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    #[error("multi-factor authentication is already on")]
    AlreadyEnabled,
    #[error("multi-factor authentication is not on")]
    NotEnabled,
    #[error("no setup is waiting: start with the setup step")]
    NoSetup,
    /// The code is wrong, already used or too old.
    #[error("the code is not valid")]
    InvalidCode,
    #[error(transparent)]
    Invalid(#[from] petty_core::Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A secret waiting for its first code.
#[derive(Clone)]
pub struct Setup {
    /// Base32, 32 characters: what a person types into an app that cannot scan.
    pub secret: String,
    /// What an authenticator app scans.
    pub otpauth_url: String,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Setup(..)")
    }
}

fn unix_secs(app: &App) -> u64 {
    u64::try_from(app.now().unix_timestamp()).unwrap_or(0)
}

/// Whether the user has MFA on.
pub async fn is_enabled(app: &App, user_id: UserId) -> Result<bool, StoreError> {
    Ok(app.store.mfa_record(user_id).await?.enabled())
}

/// Starts a setup: a new secret, kept sealed until [`enable`] sees a code of it. A second
/// setup replaces the first.
pub async fn setup(app: &App, user_id: UserId, account: &str) -> Result<Setup, MfaError> {
    if app.store.mfa_record(user_id).await?.enabled() {
        return Err(MfaError::AlreadyEnabled);
    }
    let secret: [u8; rules::SECRET_BYTES] = rand::random();
    app.store.set_pending_mfa_secret(user_id, &app.mfa.seal(&secret)).await?;
    Ok(Setup { secret: rules::secret_base32(&secret), otpauth_url: rules::otpauth_url(account, &secret) })
}

/// The secret of a pending setup, for showing its QR code again.
pub async fn pending(app: &App, user_id: UserId, account: &str) -> Result<Option<Setup>, StoreError> {
    let record = app.store.mfa_record(user_id).await?;
    Ok(record.pending_secret.as_deref().and_then(|sealed| app.mfa.open(sealed)).map(|secret| Setup {
        secret: rules::secret_base32(&secret),
        otpauth_url: rules::otpauth_url(account, &secret),
    }))
}

/// Turns MFA on with a code of the pending setup's secret; answers the backup codes, which are
/// shown this once.
pub async fn enable(app: &App, user_id: UserId, code: &str) -> Result<Vec<String>, MfaError> {
    let record = app.store.mfa_record(user_id).await?;
    if record.enabled() {
        return Err(MfaError::AlreadyEnabled);
    }
    let sealed = record.pending_secret.ok_or(MfaError::NoSetup)?;
    let secret = app.mfa.open(&sealed).ok_or(MfaError::NoSetup)?;
    let MfaCode::Totp(code) = MfaCode::parse("code", code)? else { return Err(MfaError::InvalidCode) };
    let step = rules::matching_step(&secret, &code, unix_secs(app)).ok_or(MfaError::InvalidCode)?;
    let step = i64::try_from(step).map_err(|_| MfaError::InvalidCode)?;
    let codes: Vec<String> = (0..rules::BACKUP_CODES).map(|_| rules::format_backup_code(rand::random())).collect();
    let hashes: Vec<Vec<u8>> = codes.iter().map(|c| app.mfa.backup_code_hash(user_id, c)).collect();
    if !app.store.enable_mfa(user_id, &sealed, step, &hashes, app.now()).await? {
        return Err(MfaError::InvalidCode);
    }
    tracing::info!(%user_id, "multi-factor authentication turned on");
    Ok(codes)
}

/// How a second factor was proved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Totp,
    BackupCode,
}

/// Checks a code of a user with MFA on, spending it: a TOTP code's step (and every older one)
/// cannot be used again, a backup code is gone. `InvalidCode` for anything else, including a
/// malformed code; `NotEnabled` when the user has no MFA.
pub async fn verify(app: &App, user_id: UserId, code: &str) -> Result<Proof, MfaError> {
    let record = app.store.mfa_record(user_id).await?;
    if !record.enabled() {
        return Err(MfaError::NotEnabled);
    }
    let Ok(code) = MfaCode::parse("mfa_code", code) else { return Err(MfaError::InvalidCode) };
    match code {
        MfaCode::Totp(code) => {
            let secret = record.secret.as_deref().and_then(|s| app.mfa.open(s)).ok_or_else(|| {
                StoreError::Corrupt(format!("the MFA secret of user {user_id} does not open with this server's key"))
            })?;
            let step = rules::matching_step(&secret, &code, unix_secs(app)).ok_or(MfaError::InvalidCode)?;
            let step = i64::try_from(step).map_err(|_| MfaError::InvalidCode)?;
            if step <= record.last_step || !app.store.accept_mfa_step(user_id, step).await? {
                return Err(MfaError::InvalidCode);
            }
            Ok(Proof::Totp)
        }
        MfaCode::Backup(code) => {
            let hash = app.mfa.backup_code_hash(user_id, &code);
            if app.store.use_backup_code(user_id, &hash, app.now()).await? {
                tracing::info!(%user_id, "a backup code was used");
                Ok(Proof::BackupCode)
            } else {
                Err(MfaError::InvalidCode)
            }
        }
    }
}

/// Turns MFA off (the caller has checked the password and a code).
pub async fn disable(app: &App, user_id: UserId) -> Result<(), StoreError> {
    app.store.disable_mfa(user_id).await?;
    tracing::info!(%user_id, "multi-factor authentication turned off");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_keys_and_unchanged() {
        let keys = MfaKeys::derive(b"a server secret of some length, 0123456789");
        let secret = [42u8; 20];
        let sealed = keys.seal(&secret);
        assert_eq!(keys.open(&sealed).unwrap(), secret);
        assert!(!sealed.windows(20).any(|w| w == secret), "the secret is not in clear");
        assert_ne!(keys.seal(&secret), sealed, "a new nonce each time");
        for i in 0..sealed.len() {
            let mut changed = sealed.clone();
            changed[i] ^= 1;
            assert!(keys.open(&changed).is_none(), "byte {i}");
        }
        assert!(MfaKeys::derive(b"another server secret, 0123456789abcdef").open(&sealed).is_none());
        assert!(keys.open(&[]).is_none());
        assert!(keys.open(&[1; 200]).is_none());
    }

    #[test]
    fn backup_code_hashes_are_keyed_and_bound_to_their_user() {
        let keys = MfaKeys::derive(b"a server secret of some length, 0123456789");
        let (ana, bob) = (UserId::new(), UserId::new());
        let a = keys.backup_code_hash(ana, "abcd-ef23");
        assert_eq!(a, keys.backup_code_hash(ana, "abcd-ef23"));
        assert_ne!(a, keys.backup_code_hash(bob, "abcd-ef23"));
        assert_ne!(a, MfaKeys::derive(b"another server secret, 0123456789abcdef").backup_code_hash(ana, "abcd-ef23"));
    }
}
