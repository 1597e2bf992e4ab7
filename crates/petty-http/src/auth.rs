//! Credentials: argon2id password hashes, HS256 access tokens, trusted-device tokens (signed,
//! naming the account they were issued to: see [`TrustedDevice`]), opaque secrets (refresh tokens, API
//! keys, invitations, sessions) stored only as SHA-256 hashes, and the layer that turns an
//! `Authorization` header into an [`Actor`].

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use petty_core::accounts::{Actor, ActorKind, Permission, Role};
use petty_core::ids::{HouseholdId, TokenFamilyId, UserId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::config::HttpConfig;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Signing and checking of access tokens.
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
    /// Signs trusted-device tokens (HMAC-SHA256 under the server secret, with its own purpose label).
    device_key: Vec<u8>,
    /// Tokens already verified, with what they said and when they expire: a client sends the
    /// same token for up to 15 minutes, and decoding it each time costs more than the lookup.
    /// Keyed by the signature (short, and unique per token); the whole token is compared on a hit.
    verified: Mutex<HashMap<Box<str>, Verified>>,
}

struct Verified {
    token: Box<str>,
    actor: Actor,
    issued_ms: i64,
    family: Option<TokenFamilyId>,
    exp: i64,
}

/// What a valid access token says beyond its actor, for [`check_standing`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Issued {
    /// When it was issued, in Unix milliseconds.
    pub ms: i64,
    /// The sign-in (refresh-token family) it was issued from, when it names one.
    pub family: Option<TokenFamilyId>,
}

/// More verified tokens than this and the cache starts over.
const VERIFIED_CACHE_MAX: usize = 10_000;

/// The claims in an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// The user.
    pub sub: uuid::Uuid,
    /// The household the token acts in.
    pub hid: uuid::Uuid,
    pub role: String,
    pub iat: i64,
    pub exp: i64,
    /// When the membership ends (a sitter's), in Unix seconds: the token stops working then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mex: Option<i64>,
    /// When it was issued, in Unix milliseconds: compared with the user's and the membership's
    /// "tokens valid after" stamps, which a sign-out or password change sets to the millisecond.
    /// Tokens without it count from `iat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ims: Option<i64>,
    /// The refresh-token family (the sign-in) the token was issued from, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fid: Option<uuid::Uuid>,
    pub typ: String,
}

impl Keys {
    pub fn new(config: &HttpConfig) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(&config.jwt_secret),
            decoding: DecodingKey::from_secret(&config.jwt_secret),
            validation,
            access_ttl: config.access_token_ttl,
            device_key: config.jwt_secret.clone(),
            verified: Mutex::new(HashMap::new()),
        }
    }

    pub fn access_ttl(&self) -> Duration {
        self.access_ttl
    }

    /// A signed access token for this user acting in this household.
    pub fn issue_access_token(
        &self,
        user_id: UserId,
        household_id: HouseholdId,
        role: Role,
        membership_ends: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        self.issue_access_token_in(user_id, household_id, role, membership_ends, None, now)
    }

    /// [`Keys::issue_access_token`], naming the sign-in (refresh-token family) it comes from.
    pub fn issue_access_token_in(
        &self,
        user_id: UserId,
        household_id: HouseholdId,
        role: Role,
        membership_ends: Option<OffsetDateTime>,
        family: Option<TokenFamilyId>,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        let iat = now.unix_timestamp();
        let mut exp = iat + self.access_ttl.as_secs() as i64;
        let mex = membership_ends.map(|t| t.unix_timestamp());
        if let Some(mex) = mex {
            exp = exp.min(mex);
        }
        let claims = Claims {
            sub: user_id.0,
            hid: household_id.0,
            role: role.as_str().to_owned(),
            iat,
            exp,
            mex,
            ims: Some((now.unix_timestamp_nanos() / 1_000_000) as i64),
            fid: family.map(|f| f.0),
            typ: "access".to_owned(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(ApiError::internal)
    }

    /// Checks signature, expiry and shape; says which of those failed. A token verified before
    /// is answered from memory until its expiry. Answers the actor and when the token was
    /// issued and from which sign-in, for [`check_standing`].
    pub fn verify_access_token(&self, token: &str) -> Result<(Actor, Issued), ApiError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let signature = token.rsplit('.').next().unwrap_or(token);
        if let Ok(cache) = self.verified.lock()
            && let Some(hit) = cache.get(signature)
            && *hit.token == *token
            && now < hit.exp
        {
            return Ok((hit.actor, Issued { ms: hit.issued_ms, family: hit.family }));
        }
        let (actor, issued, exp) = self.decode_access_token(token)?;
        if let Ok(mut cache) = self.verified.lock() {
            if cache.len() >= VERIFIED_CACHE_MAX {
                cache.retain(|_, hit| now < hit.exp);
                if cache.len() >= VERIFIED_CACHE_MAX {
                    cache.clear();
                }
            }
            let verified = Verified { token: token.into(), actor, issued_ms: issued.ms, family: issued.family, exp };
            cache.insert(signature.into(), verified);
        }
        Ok((actor, issued))
    }

    /// The sign-in (refresh-token family) a valid access token was issued from.
    pub fn family_of(&self, token: &str) -> Option<TokenFamilyId> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).ok()?;
        data.claims.fid.map(TokenFamilyId)
    }

    fn decode_access_token(&self, token: &str) -> Result<(Actor, Issued, i64), ApiError> {
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    ApiError::new(ErrorCode::TokenExpired, "the access token has expired; use your refresh token")
                }
                _ => ApiError::unauthenticated("the access token is not valid"),
            })?;
        let claims = data.claims;
        if claims.typ != "access" {
            return Err(ApiError::unauthenticated("the access token is not valid"));
        }
        let role: Role = claims.role.parse().map_err(|_| ApiError::unauthenticated("the access token is not valid"))?;
        let actor = Actor {
            household_id: HouseholdId(claims.hid),
            kind: ActorKind::User { user_id: UserId(claims.sub), role },
        };
        let issued =
            Issued { ms: claims.ims.unwrap_or(claims.iat.saturating_mul(1000)), family: claims.fid.map(TokenFamilyId) };
        Ok((actor, issued, claims.exp))
    }
}

/// What a trusted-device token says, once its signature holds: OWASP's "device cookie",
/// handed out at every successful sign-in (not to be confused with a collar's `dk_` token). A
/// sign-in that presents one for the account it signs in to is judged by that token's own
/// failed attempts, not by the throttles that hold back strangers, so someone who only knows an
/// email cannot keep its owner out of the devices they already use.
///
/// On the wire: `td_` and the URL-safe base64 of a version byte, the user's id, a random id
/// for the token (what its failures are counted under), the time it was issued (Unix
/// milliseconds, big-endian) and the first 16 bytes of an HMAC-SHA256 over all of that. Nothing
/// is stored: a token is honoured until `signin.trusted_device_ttl` after its issue, and not at
/// all once the account's password has changed since.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedDevice {
    pub user_id: UserId,
    /// Names the token among the account's devices (hex of 16 random bytes in failure keys).
    pub id: [u8; 16],
    pub issued_at: OffsetDateTime,
}

const DEVICE_PREFIX: &str = "td_";
const DEVICE_VERSION: u8 = 1;
const DEVICE_BODY: usize = 1 + 16 + 16 + 8;
const DEVICE_TAG: usize = 16;
/// Longer than any token this server makes; anything longer is not read at all.
pub const TRUSTED_DEVICE_MAX_LEN: usize = 100;

impl TrustedDevice {
    /// The key its failed attempts are counted under.
    pub fn key(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Keys {
    fn device_mac(&self, body: &[u8]) -> Option<hmac::Hmac<sha2::Sha256>> {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.device_key).ok()?;
        mac.update(b"petty-device-token\0");
        mac.update(body);
        Some(mac)
    }

    /// A new trusted-device token for `user_id`, issued at `now`.
    pub fn issue_trusted_device(&self, user_id: UserId, now: OffsetDateTime) -> Result<String, ApiError> {
        use hmac::Mac;
        let mut bytes = Vec::with_capacity(DEVICE_BODY + DEVICE_TAG);
        bytes.push(DEVICE_VERSION);
        bytes.extend_from_slice(user_id.0.as_bytes());
        bytes.extend_from_slice(&rand::random::<[u8; 16]>());
        let issued_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).map_err(ApiError::internal)?;
        bytes.extend_from_slice(&issued_ms.to_be_bytes());
        let mac = self.device_mac(&bytes).ok_or_else(|| ApiError::internal("the trusted-device key is unusable"))?;
        bytes.extend_from_slice(&mac.finalize().into_bytes()[..DEVICE_TAG]);
        Ok(format!("{DEVICE_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// What a presented trusted-device token says, when it is one of this server's (its signature is
    /// checked in constant time); `None` for anything else. Whether it is still honoured for
    /// an account is the caller's to judge (its user, age and the password's last change).
    pub fn read_trusted_device(&self, presented: &str) -> Option<TrustedDevice> {
        use hmac::Mac;
        let presented = presented.trim();
        if presented.len() > TRUSTED_DEVICE_MAX_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(presented.strip_prefix(DEVICE_PREFIX)?).ok()?;
        if bytes.len() != DEVICE_BODY + DEVICE_TAG || bytes[0] != DEVICE_VERSION {
            return None;
        }
        let (body, tag) = bytes.split_at(DEVICE_BODY);
        self.device_mac(body)?.verify_truncated_left(tag).ok()?;
        let user_id = UserId(uuid::Uuid::from_slice(&body[1..17]).ok()?);
        let id: [u8; 16] = body[17..33].try_into().ok()?;
        let issued_ms = i64::from_be_bytes(body[33..41].try_into().ok()?);
        let issued_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(issued_ms) * 1_000_000).ok()?;
        Some(TrustedDevice { user_id, id, issued_at })
    }
}

const PENDING_PREFIX: &str = "mp_";
const PENDING_BODY: usize = 1 + 16 + 16 + 8;

impl Keys {
    fn pending_mac(&self, body: &[u8]) -> Option<hmac::Hmac<sha2::Sha256>> {
        use hmac::{KeyInit, Mac};
        let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.device_key).ok()?;
        mac.update(b"petty-pending-mfa\0");
        mac.update(body);
        Some(mac)
    }

    /// A token that says "this user gave the right password at `now`" for the dashboard's
    /// second sign-in step: signed, and honoured for `accounts::PENDING_MFA_TTL`.
    pub fn issue_pending_mfa(
        &self,
        user_id: UserId,
        household_id: Option<HouseholdId>,
        now: OffsetDateTime,
    ) -> Result<String, ApiError> {
        use hmac::Mac;
        let mut bytes = Vec::with_capacity(PENDING_BODY + DEVICE_TAG);
        bytes.push(DEVICE_VERSION);
        bytes.extend_from_slice(user_id.0.as_bytes());
        bytes.extend_from_slice(household_id.map(|h| h.0).unwrap_or_default().as_bytes());
        let issued_ms = i64::try_from(now.unix_timestamp_nanos() / 1_000_000).map_err(ApiError::internal)?;
        bytes.extend_from_slice(&issued_ms.to_be_bytes());
        let mac = self.pending_mac(&bytes).ok_or_else(|| ApiError::internal("the signing key is unusable"))?;
        bytes.extend_from_slice(&mac.finalize().into_bytes()[..DEVICE_TAG]);
        Ok(format!("{PENDING_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The user (and household asked for) of a pending sign-in token still in its time.
    pub fn read_pending_mfa(&self, presented: &str, now: OffsetDateTime) -> Option<(UserId, Option<HouseholdId>)> {
        use hmac::Mac;
        let presented = presented.trim();
        if presented.len() > TRUSTED_DEVICE_MAX_LEN {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(presented.strip_prefix(PENDING_PREFIX)?).ok()?;
        if bytes.len() != PENDING_BODY + DEVICE_TAG || bytes[0] != DEVICE_VERSION {
            return None;
        }
        let (body, tag) = bytes.split_at(PENDING_BODY);
        self.pending_mac(body)?.verify_truncated_left(tag).ok()?;
        let user_id = UserId(uuid::Uuid::from_slice(&body[1..17]).ok()?);
        let household = uuid::Uuid::from_slice(&body[17..33]).ok()?;
        let issued_ms = i64::from_be_bytes(body[33..41].try_into().ok()?);
        let issued_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(issued_ms) * 1_000_000).ok()?;
        if issued_at > now || now - issued_at > crate::accounts::PENDING_MFA_TTL {
            return None;
        }
        Some((user_id, (!household.is_nil()).then_some(HouseholdId(household))))
    }
}

fn hasher() -> Argon2<'static> {
    // argon2id, 19 MiB, 2 passes, 1 lane: OWASP's recommended minimum.
    Argon2::default()
}

/// An argon2id PHC string for the password.
pub fn hash_password(password: &str) -> Result<String, ApiError> {
    hasher().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(ApiError::internal)
}

/// Whether the password matches the stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    hasher().verify_password(password.as_bytes(), hash).is_ok()
}

/// A hash of a password nobody has, so that signing in as an unknown email costs the same
/// time as signing in with a wrong password.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("petty decoy password, never valid").unwrap_or_default())
}

/// Runs argon2 off the async workers.
pub async fn hash_password_async(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || hash_password(&password)).await.map_err(ApiError::internal)?
}

pub async fn verify_password_async(password: String, hash: String) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await.map_err(ApiError::internal)
}

pub use petty_app::secrets::{new_secret, secret_hash};

/// The outcome of reading the request's credentials, left in its extensions by [`authenticate`].
#[derive(Clone, Debug)]
pub enum Authentication {
    Anonymous,
    Authenticated(Actor),
    /// A device token (`dk_...`): good for sending that device's readings and nothing else.
    Device(petty_store::DeviceCredential),
    /// Credentials were sent but are not valid; protected routes answer with this error.
    Failed {
        code: ErrorCode,
        message: String,
    },
}

/// Reads `Authorization: Bearer <access token or API key>` (or `X-API-Key`) once per request;
/// the edge layer leaves the outcome in the request's extensions. Routes decide whether they
/// need an actor through the [`CurrentActor`] extractor.
pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Authentication {
    let outcome = match credentials(headers) {
        None => return Authentication::Anonymous,
        // The lookups that go to the database are boxed: inline, their futures would make this
        // one (and the edge's, which every request moves) several times larger.
        Some(Credential::ApiKey(key)) => Box::pin(authenticate_api_key(state, key)).await,
        Some(Credential::Bearer(token)) => match state.keys.verify_access_token(token) {
            Ok((actor, issued)) => check_standing(state, actor, issued).await.map(|()| actor),
            Err(e) => Err(e),
        },
        Some(Credential::Device(token)) => {
            return match Box::pin(state.store.find_device_token(&secret_hash(token))).await {
                Ok(Some(device)) => Authentication::Device(device),
                Ok(None) => Authentication::Failed {
                    code: ErrorCode::Unauthenticated,
                    message: "the device token is not valid or has been revoked".into(),
                },
                Err(e) => {
                    let e = ApiError::from(e);
                    Authentication::Failed { code: e.code, message: e.message }
                }
            };
        }
    };
    match outcome {
        Ok(actor) => Authentication::Authenticated(actor),
        Err(e) => Authentication::Failed { code: e.code, message: e.message },
    }
}

/// Whether an access token still holds: its user is still a member of its household in the
/// same role, a sitter's time has not ended, and it was not issued before a sign-out, password
/// change or role change revoked the tokens of that time. The store answers from memory in the
/// common case, so this costs no database round trip per request.
pub async fn check_standing(state: &AppState, actor: Actor, issued: Issued) -> Result<(), ApiError> {
    let ActorKind::User { user_id, role } = actor.kind else { return Ok(()) };
    let Some(standing) = state.store.standing(user_id, actor.household_id).await? else {
        return Err(ApiError::unauthenticated("you are no longer a member of this household; this token was revoked"));
    };
    if standing.ends_at.is_some_and(|end| end <= OffsetDateTime::now_utc()) {
        return Err(ApiError::unauthenticated("your membership of this household has ended"));
    }
    let valid_after = (standing.tokens_valid_after.unix_timestamp_nanos() / 1_000_000) as i64;
    if issued.family.is_some_and(|f| standing.revoked_families.contains(&f)) {
        return Err(ApiError::unauthenticated("this sign-in was revoked; sign in again"));
    }
    if standing.role != role || issued.ms < valid_after {
        return Err(ApiError::unauthenticated(
            "this access token was revoked (sign-out, password change or role change); sign in again",
        ));
    }
    Ok(())
}

/// The sign-in (refresh-token family) the request's access token was issued from, if it carries
/// a valid one that names it (for edges that end "this" sign-in, like the profiles' sign-out).
pub fn sign_in_of(state: &AppState, headers: &HeaderMap) -> Option<petty_core::ids::TokenFamilyId> {
    match credentials(headers)? {
        Credential::Bearer(token) => state.keys.family_of(token),
        _ => None,
    }
}

pub(crate) enum Credential<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
    Device(&'a str),
}

pub(crate) fn credentials(headers: &HeaderMap) -> Option<Credential<'_>> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        // Collars that speak the Petty seed's contract send their device token here.
        let key = key.trim();
        if key.starts_with("dk_") && key.len() <= 100 {
            return Some(Credential::Device(key));
        }
        return Some(Credential::ApiKey(key));
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    if token.starts_with("pk_") {
        Some(Credential::ApiKey(token))
    } else if token.starts_with("dk_") && token.len() <= 100 {
        Some(Credential::Device(token))
    } else {
        Some(Credential::Bearer(token))
    }
}

pub(crate) async fn authenticate_api_key(state: &AppState, key: &str) -> Result<Actor, ApiError> {
    if !key.starts_with("pk_") || key.len() > 100 {
        return Err(ApiError::unauthenticated("the API key is not valid"));
    }
    let found = state.store.find_api_key(&secret_hash(key), OffsetDateTime::now_utc()).await?;
    let Some(found) = found else {
        return Err(ApiError::unauthenticated("the API key is not valid or has been revoked"));
    };
    if should_touch(state, found.id) {
        state.store.touch_api_key(found.id, OffsetDateTime::now_utc()).await?;
    }
    Ok(Actor { household_id: found.household_id, kind: ActorKind::ApiKey { key_id: found.id, scope: found.scope } })
}

/// Whether this node should record the key's use now: at most once a minute per key.
fn should_touch(state: &AppState, id: petty_core::ids::ApiKeyId) -> bool {
    let now = std::time::Instant::now();
    let Ok(mut touches) = state.api_key_touches.lock() else { return true };
    match touches.get(&id) {
        Some(last) if now.duration_since(*last) < Duration::from_secs(60) => false,
        _ => {
            if touches.len() > 10_000 {
                touches.retain(|_, last| now.duration_since(*last) < Duration::from_secs(60));
            }
            touches.insert(id, now);
            true
        }
    }
}

/// Whatever [`authenticate`] found, for routes that take more than one kind of caller (a
/// device's token, a member, an API key) and decide themselves: ingest, import, the
/// compatibility profiles. Never rejects.
pub struct Caller(pub Authentication);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller(parts.extensions.get::<Authentication>().cloned().unwrap_or(Authentication::Anonymous)))
    }
}

/// The authenticated caller; answers 401 when there is none.
pub struct CurrentActor(pub Actor);

impl<S: Send + Sync> FromRequestParts<S> for CurrentActor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authentication>() {
            Some(Authentication::Authenticated(actor)) => Ok(CurrentActor(*actor)),
            Some(Authentication::Failed { code, message }) => Err(ApiError::new(*code, message.clone())),
            Some(Authentication::Device(_)) => {
                Err(ApiError::forbidden("a device token can only send readings (POST /api/v1/ingest)"))
            }
            _ => Err(ApiError::unauthenticated("sign in first: send Authorization: Bearer <access token or API key>")),
        }
    }
}

impl CurrentActor {
    /// 403 unless the caller's role or key scope allows `permission`.
    pub fn require(&self, permission: Permission) -> Result<Actor, ApiError> {
        if self.0.can(permission) {
            Ok(self.0)
        } else {
            let what = match permission {
                Permission::Read => "read this household's data",
                Permission::ReadCare => "read care records",
                Permission::WriteCare => "record care in this household",
                Permission::ManagePets => "add, change or remove pets",
                Permission::ManageHousehold => "manage this household",
            };
            Err(ApiError::forbidden(format!("your role or key scope does not allow you to {what}")))
        }
    }

    /// The caller, if they may see `pet` and its care records: 403 without the permission, 404
    /// for a pet not shared with a vet (as for a pet of another household). Checked on every
    /// request, so taking a pet back from a vet takes effect at once.
    pub async fn require_pet(&self, state: &AppState, pet: petty_core::ids::PetId) -> Result<Actor, ApiError> {
        let actor = self.require(Permission::ReadCare)?;
        if petty_app::care::sees_pet(&state.app, &actor, pet).await? {
            Ok(actor)
        } else {
            Err(ApiError::not_found("pet"))
        }
    }

    /// The signed-in user; 403 for API keys, which act for a household, not a person.
    pub fn user(&self) -> Result<(UserId, Role), ApiError> {
        match self.0.kind {
            ActorKind::User { user_id, role } => Ok((user_id, role)),
            ActorKind::ApiKey { .. } => Err(ApiError::forbidden("this needs a signed-in user, not an API key")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_verify_and_differ() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("correct horse battery", &a));
        assert!(!verify_password("correct horse batterx", &a));
        assert!(!verify_password("anything", "not a hash"));
    }

    #[test]
    fn access_tokens_round_trip_and_resist_tampering() {
        let keys = Keys::new(&HttpConfig::for_tests());
        let now = OffsetDateTime::now_utc();
        let token = keys.issue_access_token(UserId::new(), HouseholdId::new(), Role::Member, None, now).unwrap();
        assert!(keys.verify_access_token(&token).is_ok_and(|(_, issued)| issued.ms / 1000 == now.unix_timestamp()));
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(br#"{"sub":"00000000-0000-0000-0000-000000000000","hid":"00000000-0000-0000-0000-000000000000","role":"owner","iat":0,"exp":9999999999,"typ":"access"}"#);
        let err = keys.verify_access_token(&parts.join(".")).unwrap_err();
        assert_eq!(err.code, ErrorCode::Unauthenticated);
        let old = keys
            .issue_access_token(UserId::new(), HouseholdId::new(), Role::Member, None, now - time::Duration::hours(1))
            .unwrap();
        assert_eq!(keys.verify_access_token(&old).unwrap_err().code, ErrorCode::TokenExpired);
    }

    #[test]
    fn trusted_device_tokens_name_their_account_and_resist_tampering() {
        let keys = Keys::new(&HttpConfig::for_tests());
        let user = UserId::new();
        let now = OffsetDateTime::now_utc();
        let token = keys.issue_trusted_device(user, now).unwrap();
        assert!(token.starts_with("td_") && token.len() <= TRUSTED_DEVICE_MAX_LEN, "{token}");
        let read = keys.read_trusted_device(&token).unwrap();
        assert_eq!(read.user_id, user);
        assert_eq!(read.issued_at.unix_timestamp(), now.unix_timestamp());
        assert_eq!(read.key().len(), 32);
        let other = keys.issue_trusted_device(user, now).unwrap();
        assert_ne!(keys.read_trusted_device(&other).unwrap().id, read.id, "each device has its own id");

        // Any changed character breaks it.
        let mut bytes = URL_SAFE_NO_PAD.decode(&token[3..]).unwrap();
        bytes[5] ^= 1;
        assert!(keys.read_trusted_device(&format!("td_{}", URL_SAFE_NO_PAD.encode(&bytes))).is_none());
        // Another server's key does not make them.
        let stranger = Keys::new(&HttpConfig::with_secret(b"another-secret-another-secret-0123456789".to_vec()));
        assert!(stranger.read_trusted_device(&token).is_none());
        for junk in ["", "td_", "td_!!!", "pk_abc", &"td_A".repeat(40)] {
            assert!(keys.read_trusted_device(junk).is_none(), "{junk}");
        }
        // Whatever a client sends is read without panicking, and never as a token.
        for len in 0..200 {
            let bytes: Vec<u8> = (0..len).map(|_| rand::random::<u8>()).collect();
            let text = format!("td_{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert!(keys.read_trusted_device(&text).is_none());
            assert!(keys.read_trusted_device(&String::from_utf8_lossy(&bytes)).is_none());
        }
    }
}
