//! People, households and what each role may do; the password and lockout rules.

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
    /// Sees the pets' records, changes nothing.
    Vet,
}

/// Things a caller may try to do in a household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the household's pets, devices and records.
    Read,
    /// Log care: records, feedback, acknowledging alarms.
    WriteCare,
    /// Add, change and remove pets and devices.
    ManagePets,
    /// Members, invitations, API keys, household settings.
    ManageHousehold,
}

impl Permission {
    pub const ALL: [Permission; 4] =
        [Permission::Read, Permission::WriteCare, Permission::ManagePets, Permission::ManageHousehold];
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
            Role::Member => matches!(permission, Read | WriteCare | ManagePets),
            Role::Sitter => matches!(permission, Read | WriteCare),
            Role::Vet => matches!(permission, Read),
        }
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
            ApiKeyScope::Read => permission == Permission::Read,
            ApiKeyScope::Write => permission != Permission::ManageHousehold,
            ApiKeyScope::Admin => true,
        }
    }

    /// Whether a key of this scope may do nothing more than `role` may: a key never holds
    /// more than the member who made it.
    pub fn within(self, role: Role) -> bool {
        Permission::ALL.into_iter().all(|p| !self.allows(p) || role.allows(p))
    }

    /// This scope, lowered to the widest one `role` holds (every role holds `read`): what a
    /// key can do once its maker's role has changed.
    pub fn capped_at(self, role: Role) -> ApiKeyScope {
        // ALL runs from the narrowest scope to the widest; each holds the ones before it.
        let upto = ApiKeyScope::ALL.iter().position(|s| *s == self).unwrap_or(0);
        ApiKeyScope::ALL[..=upto].iter().rev().copied().find(|s| s.within(role)).unwrap_or(ApiKeyScope::Read)
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
}

/// When sign-in attempts for one email stop being accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within `window` that lock the account.
    pub max_failures: u32,
    pub window: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self { max_failures: 5, window: Duration::minutes(15) }
    }
}

impl LockoutPolicy {
    /// Given the times of recent failed sign-ins (any order), how long until another attempt is
    /// allowed, or `None` if one is allowed now.
    pub fn locked_for(&self, failures: &[OffsetDateTime], now: OffsetDateTime) -> Option<Duration> {
        let mut recent: Vec<OffsetDateTime> = failures.iter().copied().filter(|t| *t > now - self.window).collect();
        if recent.len() < self.max_failures as usize {
            return None;
        }
        // Locked until enough failures age out of the window to drop below the limit.
        recent.sort_unstable();
        let release_at = recent[recent.len() - self.max_failures as usize] + self.window;
        let wait = release_at - now;
        (wait > Duration::ZERO).then_some(wait)
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
        assert!(Role::Vet.allows(Permission::Read));
        assert!(!Role::Vet.allows(Permission::WriteCare));
        assert!(!ApiKeyScope::Read.allows(Permission::ManagePets));
        assert!(ApiKeyScope::Write.allows(Permission::ManagePets));
        assert!(!ApiKeyScope::Write.allows(Permission::ManageHousehold));
        assert!(ApiKeyScope::Admin.within(Role::Owner) && !ApiKeyScope::Admin.within(Role::Member));
        assert!(ApiKeyScope::Write.within(Role::Member) && !ApiKeyScope::Write.within(Role::Sitter));
        assert!(ApiKeyScope::Read.within(Role::Vet));
        assert_eq!(ApiKeyScope::Admin.capped_at(Role::Owner), ApiKeyScope::Admin);
        assert_eq!(ApiKeyScope::Admin.capped_at(Role::Member), ApiKeyScope::Write);
        assert_eq!(ApiKeyScope::Write.capped_at(Role::Sitter), ApiKeyScope::Read);
        assert_eq!(ApiKeyScope::Read.capped_at(Role::Owner), ApiKeyScope::Read);
        assert_eq!("vet".parse::<Role>().unwrap(), Role::Vet);
        assert!("admin".parse::<Role>().is_err());
    }

    #[test]
    fn lockout_after_five_failures_in_window() {
        let policy = LockoutPolicy::default();
        let now = datetime!(2026-01-01 12:00 UTC);
        let four: Vec<_> = (1..=4).map(|m| now - Duration::minutes(m)).collect();
        assert_eq!(policy.locked_for(&four, now), None);
        let mut five = four.clone();
        five.push(now - Duration::minutes(10));
        // The oldest failure (10 min ago) leaves the window in 5 minutes.
        assert_eq!(policy.locked_for(&five, now), Some(Duration::minutes(5)));
        // Failures older than the window do not count.
        let old: Vec<_> = (16..=30).map(|m| now - Duration::minutes(m)).collect();
        assert_eq!(policy.locked_for(&old, now), None);
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
