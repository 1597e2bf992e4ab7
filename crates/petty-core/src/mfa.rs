//! The second factor: TOTP as RFC 6238 has it (HMAC-SHA-1, 6 digits, 30-second steps, a code
//! of the step before or after accepted too, each step's code accepted once), the otpauth URL
//! authenticator apps scan, and single-use backup codes (`[a-z2-7]{4}-[a-z2-7]{4}`).
//!
//! Pure: the secret, the code and the time are parameters. Making secrets and codes (random)
//! and keeping them (sealed, hashed) is `petty_app::mfa`'s.

use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::validation::Invalid;

/// Seconds in one TOTP step.
pub const STEP_SECS: u64 = 30;
/// Digits in a code.
pub const DIGITS: u8 = 6;
/// Steps before and after the current one whose codes are accepted too (clock drift, typing).
pub const SKEW: u64 = 1;
/// Bytes in a secret: 160 bits, which base32 writes in exactly 32 characters.
pub const SECRET_BYTES: usize = 20;
/// Backup codes handed out when MFA is turned on.
pub const BACKUP_CODES: usize = 10;
/// The issuer authenticator apps show.
pub const ISSUER: &str = "Petty";

/// The letters backup codes (and base32) are written with.
pub const BASE32_ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

fn totp(secret: &[u8]) -> Totp {
    // Built without the RFC's checks so that any secret length works here; the secrets this
    // server makes are 160 bits.
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_skew(0)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

/// The step a Unix time falls in.
pub fn step_of(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The code for `unix_secs`.
pub fn code_at(secret: &[u8], unix_secs: u64) -> String {
    totp(secret).generate(unix_secs).to_string()
}

/// The step whose code `code` is, among the current step and [`SKEW`] on either side; `None`
/// if it is none of them. Whether that step was already used is the caller's to check (a step
/// is accepted once, and never one older than the newest accepted).
pub fn matching_step(secret: &[u8], code: &str, unix_secs: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = totp(secret);
    let now = step_of(unix_secs);
    // Newest first, so that of two steps with the same code the later one is taken.
    (now.saturating_sub(SKEW)..=now + SKEW).rev().find(|&step| totp.check(code, step * STEP_SECS).is_some())
}

/// The secret as base32 without padding (32 characters for 160 bits), as people type it.
pub fn secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// Reads a base32 secret (any case, spaces ignored).
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
    Secret::try_from_base32(cleaned).ok().map(|s| s.as_ref().to_vec())
}

/// `otpauth://totp/Petty:{account}?secret=...&issuer=Petty&algorithm=SHA1&digits=6&period=30`,
/// what an authenticator app scans (the account is the email, percent-encoded where a URL
/// needs it).
pub fn otpauth_url(account: &str, secret: &[u8]) -> String {
    let mut label = String::with_capacity(account.len());
    for b in account.bytes() {
        if b.is_ascii_alphanumeric() || b"@.-_+~".contains(&b) {
            label.push(char::from(b));
        } else {
            label.push_str(&format!("%{b:02X}"));
        }
    }
    format!(
        "otpauth://totp/{ISSUER}:{label}?secret={}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        secret_base32(secret)
    )
}

/// A backup code written out from 40 random bits: `abcd-ef23`.
pub fn format_backup_code(bits: [u8; 5]) -> String {
    let value = bits.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let chars: Vec<char> =
        (0..8).rev().map(|i| char::from(BASE32_ALPHABET[((value >> (i * 5)) & 31) as usize])).collect();
    let (a, b) = chars.split_at(4);
    format!("{}-{}", a.iter().collect::<String>(), b.iter().collect::<String>())
}

/// What a person typed as a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaCode {
    /// Six digits from the authenticator app.
    Totp(String),
    /// One of the backup codes, in the canonical `abcd-ef23` form.
    Backup(String),
}

impl MfaCode {
    /// The longest input read at all.
    pub const MAX_LEN: usize = 20;

    /// A TOTP code (6 digits, spaces allowed) or a backup code (8 letters a–z and digits 2–7,
    /// any case, with or without the dash).
    pub fn parse(field: &str, raw: &str) -> Result<Self, Invalid> {
        let bad = || {
            Invalid::one(
                field,
                "format",
                format!("{field} must be the 6 digits of your authenticator app or a backup code like abcd-ef23"),
            )
        };
        if raw.len() > Self::MAX_LEN {
            return Err(bad());
        }
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.is_empty() {
            return Err(Invalid::one(field, "required", format!("{field} must not be empty")));
        }
        if compact.len() == usize::from(DIGITS) && compact.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(MfaCode::Totp(compact));
        }
        let letters: String = compact.to_lowercase().chars().filter(|&c| c != '-').collect();
        let dashes = compact.chars().filter(|&c| c == '-').count();
        if letters.len() == 8 && dashes <= 1 && letters.bytes().all(|b| BASE32_ALPHABET.contains(&b)) {
            return Ok(MfaCode::Backup(format!("{}-{}", &letters[..4], &letters[4..])));
        }
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B, with SHA-1 (the secret is ASCII "12345678901234567890").
    #[test]
    fn rfc_6238_vectors() {
        let secret = secret_from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").unwrap();
        assert_eq!(secret, b"12345678901234567890");
        for (time, code) in
            [(59, "287082"), (1_111_111_109, "081804"), (1_234_567_890, "005924"), (2_000_000_000, "279037")]
        {
            assert_eq!(code_at(&secret, time), code, "at {time}");
            assert_eq!(matching_step(&secret, code, time), Some(step_of(time)));
        }
    }

    #[test]
    fn one_step_either_side_is_accepted_and_no_more() {
        let secret = b"12345678901234567890";
        let t = 1_234_567_890;
        let code = code_at(secret, t);
        assert_eq!(matching_step(secret, &code, t + 30), Some(step_of(t)));
        assert_eq!(matching_step(secret, &code, t - 30), Some(step_of(t)));
        assert_eq!(matching_step(secret, &code, t + 60), None);
        assert_eq!(matching_step(secret, &code, t - 60), None);
        assert_eq!(matching_step(secret, "12345", t), None);
        assert_eq!(matching_step(secret, "abcdef", t), None);
    }

    #[test]
    fn secrets_are_32_base32_characters_and_the_url_is_the_profiles() {
        let secret = [7u8; SECRET_BYTES];
        let text = secret_base32(&secret);
        assert_eq!(text.len(), 32);
        assert!(text.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)));
        assert_eq!(secret_from_base32(&text.to_lowercase()).unwrap(), secret);
        assert_eq!(
            otpauth_url("ana@example.org", &secret),
            format!(
                "otpauth://totp/Petty:ana@example.org?secret={text}&issuer=Petty&algorithm=SHA1&digits=6&period=30"
            )
        );
        assert!(otpauth_url("a b&c@example.org", &secret).starts_with("otpauth://totp/Petty:a%20b%26c@example.org?"));
    }

    #[test]
    fn backup_codes_have_the_documented_form() {
        for bits in [[0u8; 5], [255; 5], [1, 2, 3, 4, 5]] {
            let code = format_backup_code(bits);
            assert_eq!(code.len(), 9);
            let (a, b) = code.split_at(4);
            assert!(b.starts_with('-'));
            assert!(a.bytes().chain(b[1..].bytes()).all(|c| BASE32_ALPHABET.contains(&c)), "{code}");
            assert_eq!(MfaCode::parse("code", &code).unwrap(), MfaCode::Backup(code.clone()));
            assert_eq!(MfaCode::parse("code", &code.to_uppercase().replace('-', "")).unwrap(), MfaCode::Backup(code));
        }
        assert_eq!(format_backup_code([0; 5]), "aaaa-aaaa");
        assert_eq!(format_backup_code([255; 5]), "7777-7777");
    }

    #[test]
    fn codes_are_parsed_or_refused_naming_the_field() {
        assert_eq!(MfaCode::parse("mfa_code", " 123 456 ").unwrap(), MfaCode::Totp("123456".into()));
        for bad in ["12345", "1234567", "abcd-ef1z", "abcd-efgh-", "--abcdefgh", &"1".repeat(40)] {
            let e = MfaCode::parse("mfa_code", bad).unwrap_err();
            assert_eq!(e.0[0].field, "mfa_code", "{bad}");
        }
        assert_eq!(MfaCode::parse("mfa_code", "  ").unwrap_err().0[0].rule, "required");
    }
}
