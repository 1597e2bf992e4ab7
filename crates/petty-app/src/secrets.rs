//! Opaque secrets: refresh tokens, API keys, invitations, dashboard sessions, device tokens'
//! ids and the tokens that arrive by email. Each is 256 random bits behind a readable prefix,
//! and only its SHA-256 is ever stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A new random secret with a readable prefix (`pk_`, `rt_`, `inv_`, `ps_`, `pr_`, `ev_`), and
/// the hash under which it is stored.
pub fn new_secret(prefix: &str) -> (String, Vec<u8>) {
    let bytes: [u8; 32] = rand::random();
    let token = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = secret_hash(&token);
    (token, hash)
}

/// How a presented secret is looked up. SHA-256 is enough: the secrets are 256 random bits.
pub fn secret_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_and_hashed() {
        let (token, hash) = new_secret("pk_");
        assert!(token.starts_with("pk_") && token.len() > 40);
        assert_eq!(secret_hash(&token), hash);
        assert_ne!(new_secret("pk_").0, token);
    }
}
