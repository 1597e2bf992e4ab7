//! Phone numbers in E.164 form, for the SMS and voice channels: `+`, a country calling code
//! and the national significant number, 8 to 15 digits in all. People type numbers with
//! spaces, dashes, brackets and trunk prefixes; the Car-Bon seed takes a national number and a
//! country name. Both become one canonical `+<digits>` here, checked against what is known of
//! the country's numbering (a table of common countries; others only by E.164's length rules).

use std::fmt;
use std::ops::RangeInclusive;
use std::str::FromStr;

/// A country's numbering, as far as checking a number needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Country {
    pub iso: &'static str,
    pub name: &'static str,
    pub calling_code: &'static str,
    /// The prefix dialled before a national number within the country (`0` in the UK), which
    /// E.164 leaves out.
    pub trunk_prefix: Option<&'static str>,
    /// Digits of the national significant number.
    pub nsn_lengths: RangeInclusive<u8>,
    pub aliases: &'static [&'static str],
}

macro_rules! country {
    ($iso:literal, $name:literal, $code:literal, $trunk:expr, $lo:literal ..= $hi:literal, [$($alias:literal),*]) => {
        Country {
            iso: $iso,
            name: $name,
            calling_code: $code,
            trunk_prefix: $trunk,
            nsn_lengths: $lo..=$hi,
            aliases: &[$($alias),*],
        }
    };
}

/// Common countries. Lengths are the national significant number's, from each numbering plan.
pub static COUNTRIES: &[Country] = &[
    country!(
        "US",
        "United States",
        "1",
        Some("1"),
        10..=10,
        ["united states of america", "usa", "america", "u.s.", "u.s.a."]
    ),
    country!("CA", "Canada", "1", Some("1"), 10..=10, []),
    country!("IN", "India", "91", Some("0"), 10..=10, ["bharat"]),
    country!(
        "GB",
        "United Kingdom",
        "44",
        Some("0"),
        9..=10,
        ["uk", "great britain", "britain", "england", "scotland", "wales"]
    ),
    country!("IE", "Ireland", "353", Some("0"), 7..=9, []),
    country!("DE", "Germany", "49", Some("0"), 6..=13, ["deutschland"]),
    country!("FR", "France", "33", Some("0"), 9..=9, []),
    country!("IT", "Italy", "39", None, 6..=11, ["italia"]),
    country!("ES", "Spain", "34", None, 9..=9, ["españa", "espana"]),
    country!("PT", "Portugal", "351", None, 9..=9, []),
    country!("NL", "Netherlands", "31", Some("0"), 9..=9, ["the netherlands", "holland"]),
    country!("BE", "Belgium", "32", Some("0"), 8..=9, []),
    country!("CH", "Switzerland", "41", Some("0"), 9..=9, []),
    country!("AT", "Austria", "43", Some("0"), 4..=13, []),
    country!("SE", "Sweden", "46", Some("0"), 7..=9, []),
    country!("NO", "Norway", "47", None, 8..=8, []),
    country!("DK", "Denmark", "45", None, 8..=8, []),
    country!("FI", "Finland", "358", Some("0"), 5..=10, []),
    country!("PL", "Poland", "48", None, 9..=9, []),
    country!("CZ", "Czechia", "420", None, 9..=9, ["czech republic"]),
    country!("GR", "Greece", "30", None, 10..=10, []),
    country!("TR", "Turkey", "90", Some("0"), 10..=10, ["türkiye", "turkiye"]),
    country!("RU", "Russia", "7", Some("8"), 10..=10, ["russian federation"]),
    country!("UA", "Ukraine", "380", Some("0"), 9..=9, []),
    country!("IL", "Israel", "972", Some("0"), 8..=9, []),
    country!("AE", "United Arab Emirates", "971", Some("0"), 8..=9, ["uae", "emirates"]),
    country!("SA", "Saudi Arabia", "966", Some("0"), 8..=9, []),
    country!("EG", "Egypt", "20", Some("0"), 9..=10, []),
    country!("NG", "Nigeria", "234", Some("0"), 8..=10, []),
    country!("KE", "Kenya", "254", Some("0"), 9..=9, []),
    country!("ZA", "South Africa", "27", Some("0"), 9..=9, []),
    country!("BR", "Brazil", "55", Some("0"), 10..=11, ["brasil"]),
    country!("MX", "Mexico", "52", None, 10..=10, ["méxico"]),
    country!("AR", "Argentina", "54", Some("0"), 10..=11, []),
    country!("CO", "Colombia", "57", None, 10..=10, []),
    country!("CL", "Chile", "56", None, 9..=9, []),
    country!("AU", "Australia", "61", Some("0"), 9..=9, []),
    country!("NZ", "New Zealand", "64", Some("0"), 8..=10, []),
    country!("JP", "Japan", "81", Some("0"), 9..=10, []),
    country!("KR", "South Korea", "82", Some("0"), 8..=10, ["korea", "republic of korea"]),
    country!("CN", "China", "86", Some("0"), 10..=11, ["prc"]),
    country!("SG", "Singapore", "65", None, 8..=8, []),
    country!("MY", "Malaysia", "60", Some("0"), 9..=10, []),
    country!("ID", "Indonesia", "62", Some("0"), 8..=12, []),
    country!("PH", "Philippines", "63", Some("0"), 10..=10, []),
    country!("TH", "Thailand", "66", Some("0"), 8..=9, []),
    country!("VN", "Vietnam", "84", Some("0"), 9..=10, ["viet nam"]),
    country!("PK", "Pakistan", "92", Some("0"), 10..=10, []),
    country!("BD", "Bangladesh", "880", Some("0"), 10..=10, []),
    country!("LK", "Sri Lanka", "94", Some("0"), 9..=9, []),
];

/// The country a person named: its name, an alias, or its ISO 3166 alpha-2 code, any case.
pub fn country_by_name(name: &str) -> Option<&'static Country> {
    let wanted = name.trim().to_lowercase();
    if wanted.is_empty() {
        return None;
    }
    COUNTRIES.iter().find(|c| {
        c.iso.eq_ignore_ascii_case(&wanted) || c.name.to_lowercase() == wanted || c.aliases.contains(&wanted.as_str())
    })
}

/// The known country whose calling code begins these digits (the longest match; NANP is read
/// as the United States).
fn country_of(digits: &str) -> Option<&'static Country> {
    COUNTRIES
        .iter()
        .filter(|c| digits.starts_with(c.calling_code))
        .max_by_key(|c| (c.calling_code.len(), c.iso == "US"))
}

/// Why a number is not usable; each reads as the rest of a sentence about the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("must not be empty")]
    Empty,
    #[error("is not a phone number: use only digits, spaces, dashes, dots and brackets")]
    NotAPhoneNumber,
    #[error("must be in international form, starting with + and the country code (for example +14155552671)")]
    MissingPlus,
    #[error("is too short: an international number has at least 8 digits")]
    TooShort,
    #[error("is too long: an international number has at most 15 digits")]
    TooLong,
    #[error("unknown country {0:?}: give its name or its two-letter ISO code")]
    UnknownCountry(String),
    #[error("is not a phone number in {country}: {rule}")]
    WrongLength { country: &'static str, rule: String },
    #[error("belongs to another country than {country} (its code is +{code})")]
    WrongCountry { country: &'static str, code: &'static str },
}

/// A phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

/// The digits of `input`, allowing the separators people type.
fn digits_of(input: &str) -> Result<String, PhoneError> {
    let mut digits = String::with_capacity(input.len());
    for c in input.chars() {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
            _ => return Err(PhoneError::NotAPhoneNumber),
        }
    }
    Ok(digits)
}

fn check_country(country: &'static Country, nsn: &str) -> Result<(), PhoneError> {
    let len = nsn.len();
    let lengths = &country.nsn_lengths;
    if len > usize::from(u8::MAX)
        || !lengths.contains(&(len as u8))
        || nsn.starts_with('0') && country.trunk_prefix == Some("0")
    {
        let count = if lengths.start() == lengths.end() {
            format!("{}", lengths.start())
        } else {
            format!("{} to {}", lengths.start(), lengths.end())
        };
        return Err(PhoneError::WrongLength {
            country: country.name,
            rule: format!("it must have {count} digits after the country code {}", country.calling_code),
        });
    }
    Ok(())
}

impl Phone {
    /// An international number: `+` (or `00`) and the digits, separators allowed.
    pub fn parse(input: &str) -> Result<Phone, PhoneError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        let rest = if let Some(r) = s.strip_prefix('+') {
            r
        } else if let Some(r) = s.strip_prefix("00") {
            r
        } else {
            // Digits without + could be national or international: refuse to guess.
            digits_of(s)?;
            return Err(PhoneError::MissingPlus);
        };
        let digits = digits_of(rest)?;
        Self::from_digits(&digits)
    }

    fn from_digits(digits: &str) -> Result<Phone, PhoneError> {
        if digits.starts_with('0') {
            return Err(PhoneError::MissingPlus);
        }
        if digits.len() < 8 {
            return Err(PhoneError::TooShort);
        }
        if digits.len() > 15 {
            return Err(PhoneError::TooLong);
        }
        if let Some(country) = country_of(digits) {
            check_country(country, &digits[country.calling_code.len()..])?;
        }
        Ok(Phone(format!("+{digits}")))
    }

    /// A national number as typed in `country` (a name or ISO code), as the Car-Bon seed's
    /// `POST /user/new` takes it. A number given with `+` or `00` must be that country's.
    pub fn from_national(national: &str, country: &str) -> Result<Phone, PhoneError> {
        let Some(c) = country_by_name(country) else {
            return Err(PhoneError::UnknownCountry(country.trim().to_owned()));
        };
        let s = national.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        if s.starts_with('+') || s.starts_with("00") {
            let phone = Phone::parse(s)?;
            if !phone.0[1..].starts_with(c.calling_code) {
                return Err(PhoneError::WrongCountry { country: c.name, code: c.calling_code });
            }
            return Ok(phone);
        }
        let mut nsn = digits_of(s)?;
        if let Some(trunk) = c.trunk_prefix
            && nsn.starts_with(trunk)
            && !c.nsn_lengths.contains(&(nsn.len().min(255) as u8))
        {
            nsn.drain(..trunk.len());
        }
        check_country(c, &nsn)?;
        Ok(Phone(format!("+{}{nsn}", c.calling_code)))
    }

    /// `+919876543210`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The calling code: a known country's, else the E.164 zone digit's reading (1–3 digits).
    pub fn country_code(&self) -> &str {
        let digits = &self.0[1..];
        let len = match country_of(digits) {
            Some(c) => c.calling_code.len(),
            None if digits.starts_with('1') || digits.starts_with('7') => 1,
            None => 3.min(digits.len()),
        };
        &digits[..len]
    }

    /// For logs and pages that must not show the whole number: `+91******3210`.
    pub fn masked(&self) -> String {
        let code = self.country_code();
        let digits = &self.0[1..];
        let tail = &digits[digits.len().saturating_sub(4)..];
        let hidden = digits.len().saturating_sub(code.len() + tail.len());
        format!("+{code}{}{tail}", "*".repeat(hidden))
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Phone {
    type Err = PhoneError;
    fn from_str(s: &str) -> Result<Self, PhoneError> {
        Phone::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn national(n: &str, c: &str) -> Result<String, PhoneError> {
        Phone::from_national(n, c).map(|p| p.0)
    }

    #[test]
    fn the_car_bon_seed_s_national_numbers_become_e164() {
        assert_eq!(national("9876543210", "India").unwrap(), "+919876543210");
        assert_eq!(national("09876543210", "india").unwrap(), "+919876543210", "trunk 0 dropped");
        assert_eq!(national("(415) 555-2671", "United States").unwrap(), "+14155552671");
        assert_eq!(national("14155552671", "US").unwrap(), "+14155552671");
        assert_eq!(national("07911 123456", "UK").unwrap(), "+447911123456");
        assert_eq!(national("06 12 34 56 78", "France").unwrap(), "+33612345678");
        assert_eq!(national("0412 345 678", "au").unwrap(), "+61412345678");
        assert_eq!(national("+91 98765 43210", "India").unwrap(), "+919876543210");
    }

    #[test]
    fn international_numbers_are_read_with_their_separators() {
        assert_eq!(Phone::parse("+1 (415) 555-2671").unwrap().as_str(), "+14155552671");
        assert_eq!(Phone::parse("0044 7911 123456").unwrap().as_str(), "+447911123456");
        assert_eq!(Phone::parse(" +31.6.1234.5678 ").unwrap().to_string(), "+31612345678");
        assert_eq!("+4915112345678".parse::<Phone>().unwrap().country_code(), "49");
    }

    #[test]
    fn bad_numbers_are_refused_with_the_rule() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("+1 415 CALL NOW"), Err(PhoneError::NotAPhoneNumber));
        assert_eq!(Phone::parse("4155552671"), Err(PhoneError::MissingPlus));
        assert_eq!(Phone::parse("+0123456789"), Err(PhoneError::MissingPlus));
        assert_eq!(Phone::parse("+1234"), Err(PhoneError::TooShort));
        assert_eq!(Phone::parse("+1234567890123456"), Err(PhoneError::TooLong));
        assert!(matches!(Phone::parse("+1415555267"), Err(PhoneError::WrongLength { country: "United States", .. })));
        assert_eq!(national("9876543210", "Atlantis"), Err(PhoneError::UnknownCountry("Atlantis".into())));
        assert!(matches!(national("415555267", "US"), Err(PhoneError::WrongLength { .. })));
        assert!(matches!(national("+14155552671", "India"), Err(PhoneError::WrongCountry { country: "India", .. })));
        let message = national("12", "India").unwrap_err().to_string();
        assert_eq!(message, "is not a phone number in India: it must have 10 digits after the country code 91");
    }

    #[test]
    fn numbers_are_masked_and_know_their_country() {
        let p = Phone::parse("+919876543210").unwrap();
        assert_eq!((p.country_code(), p.masked().as_str()), ("91", "+91******3210"));
        let unknown = Phone::parse("+2991234567").unwrap();
        assert_eq!(unknown.country_code(), "299");
    }
}
