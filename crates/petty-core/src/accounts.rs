//! People, households and what each role may do; the password rules, the sign-in throttles
//! and the email-verification policy.

use std::fmt;
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

use crate::ids::{ApiKeyId, HouseholdId, UserId};
use crate::validation::{Invalid, required_text};

/// An email address, trimmed and lower-cased so that one mailbox is one account.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        let value = raw.trim().to_lowercase();
        let bad = |msg: &str| Invalid::one(field, "format", format!("{field} {msg}"));
        if value.is_empty() {
            return Err(Invalid::one(field, "required", format!("{field} must not be empty")));
        }
        if value.len() > Self::MAX_LEN {
            return Err(Invalid::one(
                field,
                "too_long",
                format!("{field} must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let Some((local, domain)) = value.split_once('@') else {
            return Err(bad("must look like name@example.org"));
        };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(bad("must look like name@example.org"));
        }
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !labels_ok || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("must look like name@example.org"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password that meets the policy. Holds the plain text only until it is hashed.
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_LEN: usize = 10;
    /// Argon2 takes any length, but an unbounded input is a cheap way to burn CPU.
    pub const MAX_LEN: usize = 256;

    pub fn parse(field: &str, raw: &str, email: Option<&Email>) -> Result<Self, Invalid> {
        let len = raw.chars().count();
        if len < Self::MIN_LEN {
            return Err(Invalid::one(
                field,
                "too_short",
                format!("{field} must be at least {} characters", Self::MIN_LEN),
            ));
        }
        if len > Self::MAX_LEN {
            return Err(Invalid::one(
                field,
                "too_long",
                format!("{field} must be at most {} characters", Self::MAX_LEN),
            ));
        }
        let distinct = {
            let mut chars: Vec<char> = raw.chars().collect();
            chars.sort_unstable();
            chars.dedup();
            chars.len()
        };
        if distinct < 5 {
            return Err(Invalid::one(
                field,
                "too_weak",
                format!("{field} needs more variety than {distinct} different characters"),
            ));
        }
        if let Some(email) = email
            && raw.to_lowercase().contains(email.as_str().split('@').next().unwrap_or_default())
            && email.as_str().split('@').next().is_some_and(|l| l.len() >= 4)
        {
            return Err(Invalid::one(field, "too_weak", format!("{field} must not contain your email name")));
        }
        if is_common_password(raw) {
            return Err(Invalid::one(
                field,
                "common",
                format!(
                    "{field} is one of the most common passwords (or one with a few characters added); choose another"
                ),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The most common passwords of public breaches, lower-cased and sorted (`data/README.md`).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static [&'static str] {
    static LIST: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    LIST.get_or_init(|| COMMON_PASSWORDS.lines().filter(|l| !l.is_empty()).collect())
}

/// Whether `raw` is a common password, ignoring case, or one followed by at most four digits
/// or symbols (`password1234`, `dragon2024!`).
fn is_common_password(raw: &str) -> bool {
    let list = common_passwords();
    let lower = raw.to_lowercase();
    let known = |s: &str| list.binary_search(&s).is_ok();
    if known(&lower) {
        return true;
    }
    let base = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    let added = lower.len() - base.len();
    base.chars().count() >= 4 && (1..=4).contains(&added) && known(base)
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(..)")
    }
}

/// The longest display name, in characters (spaces around it not counted).
pub const DISPLAY_NAME_MAX: usize = 100;
/// The longest household name, in characters (spaces around it not counted).
pub const HOUSEHOLD_NAME_MAX: usize = 100;

/// The longest name an API key may have, in characters.
pub const API_KEY_NAME_MAX: usize = 80;

/// What an API key is for, as its maker names it.
pub fn parse_api_key_name(field: &str, raw: &str) -> Result<String, Invalid> {
    required_text(field, raw, API_KEY_NAME_MAX)
}

/// A person's name as shown to the rest of the household.
pub fn parse_display_name(field: &str, raw: &str) -> Result<String, Invalid> {
    required_text(field, raw, DISPLAY_NAME_MAX)
}

/// A household's name.
pub fn parse_household_name(field: &str, raw: &str) -> Result<String, Invalid> {
    required_text(field, raw, HOUSEHOLD_NAME_MAX)
}

/// What a member of a household is to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the household: members, invitations, API keys, everything else.
    Owner,
    /// Lives there: manages pets and their records.
    Member,
    /// Looks after the pets for a while: sees everything, logs care, until the membership ends.
    Sitter,
    /// Sees the care records of the pets the household shares with them, and nothing else of the
    /// household; changes nothing.
    Vet,
}

/// Things a caller may try to do in a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the household: its pets, devices, readings, alarms, people and settings.
    Read,
    /// See pets and their care records. Every role holds it; a vet holds it only for the pets
    /// shared with them, which the caller checks per pet (see `Role::sees_every_pet`).
    ReadCare,
    /// Log care: records, feedback, acknowledging alarms.
    WriteCare,
    /// Add, change and remove pets and devices.
    ManagePets,
    /// Members, invitations, API keys, household settings.
    ManageHousehold,
}

impl Permission {
    pub const ALL: [Permission; 5] = [
        Permission::Read,
        Permission::ReadCare,
        Permission::WriteCare,
        Permission::ManagePets,
        Permission::ManageHousehold,
    ];
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Member, Role::Sitter, Role::Vet];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Member => "member",
            Role::Sitter => "sitter",
            Role::Vet => "vet",
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Owner => true,
            Role::Member => matches!(permission, Read | ReadCare | WriteCare | ManagePets),
            Role::Sitter => matches!(permission, Read | ReadCare | WriteCare),
            Role::Vet => matches!(permission, ReadCare),
        }
    }

    /// Whether this role sees every pet of the household; a vet sees only the pets shared with
    /// them.
    pub fn sees_every_pet(self) -> bool {
        self != Role::Vet
    }
}

impl FromStr for Role {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Invalid::one("role", "one_of", "role must be one of owner, member, sitter, vet"))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKeyScope {
    Read,
    Write,
    Admin,
}

impl ApiKeyScope {
    pub const ALL: [ApiKeyScope; 3] = [ApiKeyScope::Read, ApiKeyScope::Write, ApiKeyScope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            ApiKeyScope::Read => "read",
            ApiKeyScope::Write => "write",
            ApiKeyScope::Admin => "admin",
        }
    }

    pub fn allows(self, permission: Permission) -> bool {
        match self {
            ApiKeyScope::Read => matches!(permission, Permission::Read | Permission::ReadCare),
            ApiKeyScope::Write => permission != Permission::ManageHousehold,
            ApiKeyScope::Admin => true,
        }
    }

    /// Whether a key of this scope may do nothing more than `role` may: a key never holds
    /// more than the member who made it.
    pub fn within(self, role: Role) -> bool {
        Permission::ALL.into_iter().all(|p| !self.allows(p) || role.allows(p))
    }

    /// This scope, lowered to the widest one `role` holds: what a key can do once its maker's
    /// role has changed. `None` when the role holds no scope at all: a vet, who sees only the
    /// pets shared with them, cannot hold a key that acts for the whole household.
    pub fn capped_at(self, role: Role) -> Option<ApiKeyScope> {
        // ALL runs from the narrowest scope to the widest; each holds the ones before it.
        let upto = ApiKeyScope::ALL.iter().position(|s| *s == self).unwrap_or(0);
        ApiKeyScope::ALL[..=upto].iter().rev().copied().find(|s| s.within(role))
    }
}

impl FromStr for ApiKeyScope {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ApiKeyScope::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Invalid::one("scope", "one_of", "scope must be one of read, write, admin"))
    }
}

/// Who is calling, once authenticated: always inside exactly one household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub household_id: HouseholdId,
    pub kind: ActorKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    User { user_id: UserId, role: Role },
    ApiKey { key_id: ApiKeyId, scope: ApiKeyScope },
}

impl Actor {
    pub fn can(&self, permission: Permission) -> bool {
        match self.kind {
            ActorKind::User { role, .. } => role.allows(permission),
            ActorKind::ApiKey { scope, .. } => scope.allows(permission),
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self.kind {
            ActorKind::User { user_id, .. } => Some(user_id),
            ActorKind::ApiKey { .. } => None,
        }
    }

    /// The member whose shared pets are all this caller sees (a vet), or `None` for a caller
    /// who sees every pet of the household.
    pub fn sees_only_shared_pets(&self) -> Option<UserId> {
        match self.kind {
            ActorKind::User { user_id, role } if !role.sees_every_pet() => Some(user_id),
            _ => None,
        }
    }
}

/// How failed sign-ins slow down further attempts from the same source (a client address or
/// an account's untrusted clients): the first `free_failures` within `window` cost nothing; from
/// then on each attempt must wait `base · 2^(failures − free_failures)` after the latest failure,
/// at most `max`. Attempts refused while waiting are not failures, so they do not lengthen it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub free_failures: u32,
    pub base: Duration,
    pub max: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
}

impl Backoff {
    /// How long until another attempt is judged, given `failures` within the window, the latest
    /// at `last`; `None` when one may be judged now.
    pub fn wait(&self, failures: u32, last: Option<OffsetDateTime>, now: OffsetDateTime) -> Option<Duration> {
        let last = last?;
        if failures < self.free_failures.max(1) {
            return None;
        }
        let doublings = (failures - self.free_failures.max(1)).min(40);
        let delay = self.base.checked_mul(1i32 << doublings.min(30)).unwrap_or(self.max).min(self.max);
        let wait = last + delay - now;
        (wait > Duration::ZERO).then_some(wait)
    }
}

/// The sign-in throttles (OWASP's "device cookies"): untrusted attempts back off per client
/// address and per account; an attempt that presents a trusted-device token this account was
/// given at an earlier sign-in is judged only by that token's own failures, so an attacker who
/// knows someone's email cannot keep them out of the devices they use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInPolicy {
    /// Untrusted attempts per account (by email, whether or not an account exists).
    pub account: Backoff,
    /// Untrusted attempts per client address (an IPv6 client by its /64): password spraying
    /// across many accounts from one place.
    pub address: Backoff,
    /// A device token with this many failures within `trusted_device_window` is locked: until they age
    /// out, attempts with it count as untrusted.
    pub trusted_device_max_failures: u32,
    pub trusted_device_window: Duration,
    /// How long a trusted-device token is honoured after the sign-in that issued it.
    pub trusted_device_ttl: Duration,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            account: Backoff {
                free_failures: 5,
                base: Duration::seconds(1),
                max: Duration::minutes(15),
                window: Duration::hours(24),
            },
            address: Backoff {
                free_failures: 20,
                base: Duration::seconds(1),
                max: Duration::minutes(15),
                window: Duration::hours(1),
            },
            trusted_device_max_failures: 10,
            trusted_device_window: Duration::hours(1),
            trusted_device_ttl: Duration::days(180),
        }
    }
}

impl SignInPolicy {
    /// Whether a trusted-device token with `failures` within its window is locked.
    pub fn trusted_device_locked(&self, failures: u32) -> bool {
        failures >= self.trusted_device_max_failures.max(1)
    }

    /// The longest window any throttle looks back over: older failures can be deleted.
    pub fn longest_window(&self) -> Duration {
        self.account.window.max(self.address.window).max(self.trusted_device_window)
    }
}

/// Whether accounts must prove they own their email address before they may sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailVerification {
    /// Sign-in is refused (as a wrong password is) until the address is verified.
    Required,
    /// Accounts may sign in unverified; answers say `email_verified: false`.
    Optional,
}

impl EmailVerification {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailVerification::Required => "required",
            EmailVerification::Optional => "optional",
        }
    }
}

impl FromStr for EmailVerification {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "required" => Ok(EmailVerification::Required),
            "optional" => Ok(EmailVerification::Optional),
            _ => Err(Invalid::one("email_verification", "one_of", "email_verification must be required or optional")),
        }
    }
}

/// A sitter's membership has an end; everyone else's does not.
pub fn check_membership_end(role: Role, ends_at: Option<OffsetDateTime>, now: OffsetDateTime) -> Result<(), Invalid> {
    match (role, ends_at) {
        (Role::Sitter, None) => Err(Invalid::one("ends_at", "required", "a sitter needs an end date (ends_at)")),
        (Role::Sitter, Some(end)) if end <= now => {
            Err(Invalid::one("ends_at", "out_of_range", "ends_at must be in the future"))
        }
        (Role::Sitter, Some(end)) if end > now + Duration::days(366) => {
            Err(Invalid::one("ends_at", "out_of_range", "ends_at must be within a year"))
        }
        (Role::Sitter, Some(_)) | (_, None) => Ok(()),
        (_, Some(_)) => Err(Invalid::one("ends_at", "not_allowed", "only a sitter's membership has an end date")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(Email::parse("email", "  Ana@Example.ORG ").unwrap().as_str(), "ana@example.org");
        for bad in ["", "ana", "ana@", "@example.org", "ana@example", "a b@example.org", "ana@ex..org", "ana@-x.org"] {
            assert!(Email::parse("email", bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn password_policy() {
        let email = Email::parse("email", "bella@example.org").unwrap();
        assert!(NewPassword::parse("password", "short", None).is_err());
        assert_eq!(NewPassword::parse("password", "aaaaaaaaaaaa", None).unwrap_err().0[0].rule, "too_weak");
        assert!(NewPassword::parse("password", "my bella password", Some(&email)).is_err());
        assert!(NewPassword::parse("password", "correct horse battery", Some(&email)).is_ok());
    }

    #[test]
    fn common_and_breached_passwords_are_refused() {
        for weak in
            ["password123", "1234567890", "Password123", "qwertyuiop", "password1234", "iloveyou12!", "Dragon2024"]
        {
            let err = NewPassword::parse("password", weak, None).unwrap_err();
            assert_eq!(err.0[0].rule, "common", "{weak}");
        }
        for fine in ["correct horse battery", "bella walks at 7", "password-manager-made-9Xq"] {
            assert!(NewPassword::parse("password", fine, None).is_ok(), "{fine}");
        }
        let list = common_passwords();
        assert_eq!(list.len(), 30_000);
        assert!(list.windows(2).all(|w| w[0] < w[1]), "sorted, for the binary search");
    }

    #[test]
    fn roles_and_scopes() {
        assert!(Role::Owner.allows(Permission::ManageHousehold));
        assert!(!Role::Member.allows(Permission::ManageHousehold));
        assert!(Role::Member.allows(Permission::ManagePets));
        assert!(Role::Sitter.allows(Permission::WriteCare));
        assert!(!Role::Sitter.allows(Permission::ManagePets));
        assert!(!Role::Vet.allows(Permission::Read), "a vet sees shared pets' care, not the household");
        assert!(Role::Vet.allows(Permission::ReadCare));
        assert!(!Role::Vet.allows(Permission::WriteCare));
        assert!(Role::ALL.iter().all(|r| r.allows(Permission::ReadCare)));
        assert!(!Role::Vet.sees_every_pet() && Role::Sitter.sees_every_pet());
        assert!(!ApiKeyScope::Read.allows(Permission::ManagePets));
        assert!(ApiKeyScope::Write.allows(Permission::ManagePets));
        assert!(!ApiKeyScope::Write.allows(Permission::ManageHousehold));
        assert!(ApiKeyScope::Admin.within(Role::Owner) && !ApiKeyScope::Admin.within(Role::Member));
        assert!(ApiKeyScope::Write.within(Role::Member) && !ApiKeyScope::Write.within(Role::Sitter));
        assert!(ApiKeyScope::Read.within(Role::Sitter) && !ApiKeyScope::Read.within(Role::Vet));
        assert_eq!(ApiKeyScope::Admin.capped_at(Role::Owner), Some(ApiKeyScope::Admin));
        assert_eq!(ApiKeyScope::Admin.capped_at(Role::Member), Some(ApiKeyScope::Write));
        assert_eq!(ApiKeyScope::Write.capped_at(Role::Sitter), Some(ApiKeyScope::Read));
        assert_eq!(ApiKeyScope::Read.capped_at(Role::Owner), Some(ApiKeyScope::Read));
        assert_eq!(ApiKeyScope::Admin.capped_at(Role::Vet), None, "a vet's key is no key");
        assert_eq!("vet".parse::<Role>().unwrap(), Role::Vet);
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn backoff_is_free_then_doubles_from_the_latest_failure_up_to_the_cap() {
        let b = Backoff {
            free_failures: 3,
            base: Duration::seconds(2),
            max: Duration::seconds(60),
            window: Duration::hours(1),
        };
        let now = datetime!(2026-01-01 12:00 UTC);
        assert_eq!(b.wait(0, None, now), None);
        assert_eq!(b.wait(2, Some(now), now), None, "under the free failures");
        assert_eq!(b.wait(3, Some(now), now), Some(Duration::seconds(2)));
        assert_eq!(b.wait(4, Some(now), now), Some(Duration::seconds(4)));
        assert_eq!(b.wait(6, Some(now), now), Some(Duration::seconds(16)));
        assert_eq!(b.wait(9, Some(now), now), Some(Duration::seconds(60)), "capped");
        assert_eq!(b.wait(500, Some(now), now), Some(Duration::seconds(60)), "no overflow");
        // Counted from the latest failure.
        assert_eq!(b.wait(4, Some(now - Duration::seconds(3)), now), Some(Duration::seconds(1)));
        assert_eq!(b.wait(4, Some(now - Duration::seconds(5)), now), None);
    }

    #[test]
    fn trusted_devices_lock_after_their_own_failures() {
        let p = SignInPolicy::default();
        assert!(!p.trusted_device_locked(p.trusted_device_max_failures - 1));
        assert!(p.trusted_device_locked(p.trusted_device_max_failures));
        assert_eq!(p.longest_window(), Duration::hours(24));
        assert_eq!("optional".parse::<EmailVerification>().unwrap(), EmailVerification::Optional);
        assert!("maybe".parse::<EmailVerification>().is_err());
    }

    #[test]
    fn only_sitters_have_an_end() {
        let now = datetime!(2026-01-01 12:00 UTC);
        assert!(check_membership_end(Role::Sitter, None, now).is_err());
        assert!(check_membership_end(Role::Sitter, Some(now + Duration::days(3)), now).is_ok());
        assert!(check_membership_end(Role::Sitter, Some(now - Duration::days(3)), now).is_err());
        assert!(check_membership_end(Role::Member, Some(now + Duration::days(3)), now).is_err());
        assert!(check_membership_end(Role::Vet, None, now).is_ok());
    }
}
