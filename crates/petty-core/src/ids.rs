//! Typed identifiers. Every row Petty keeps is named by a UUIDv7 (time-ordered, so indexes stay
//! append-mostly); the newtypes keep a pet id from being passed where a household id is expected.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! define_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new, time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }
    };
}

define_id!(
    /// A household: the tenant that owns pets, devices and records.
    HouseholdId
);
define_id!(
    /// A person who can sign in.
    UserId
);
define_id!(
    /// A pet.
    PetId
);
define_id!(
    /// A file someone uploaded (a pet's photo, a record's attachment).
    FileId
);
define_id!(
    /// An integration's API key (the id, never the secret).
    ApiKeyId
);
define_id!(
    /// A pending invitation to join a household.
    InvitationId
);
define_id!(
    /// A chain of refresh tokens issued from one sign-in; revoked as a whole.
    TokenFamilyId
);
define_id!(
    /// A dashboard (cookie) session.
    SessionId
);
define_id!(
    /// A collar, air monitor or other sensor.
    DeviceId
);
define_id!(
    /// An alarm: one incident of one rule (or event) on one source.
    AlarmId
);
define_id!(
    /// An alarm rule: a built-in one (seeded per household) or the household's own.
    AlarmRuleId
);
define_id!(
    /// An entry of an alarm's audit trail.
    AlarmEventId
);
define_id!(
    /// A person escalation reaches: a member, a secondary or an emergency contact.
    ContactId
);
define_id!(
    /// A household's webhook.
    WebhookId
);
define_id!(
    /// A row of the notification outbox.
    NotificationId
);
define_id!(
    /// An entry of a person's or a pet's life log.
    LifeEventId
);
define_id!(
    /// A pet offered in a household's catalog.
    ListingId
);
define_id!(
    /// An insight Petty drew from a person's life log.
    InsightId
);
