//! Keys derived from `SESSION_SECRET`, one per purpose, so a key used for one thing
//! can never be replayed for another.

use actix_web::cookie::Key;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// The application's signing and encryption keys.
#[derive(Clone)]
pub struct Keys {
    /// Signs and encrypts cookies (session id, flash messages, pending verification).
    pub cookies: Key,
    csrf: Vec<u8>,
    codes: Vec<u8>,
}

impl Keys {
    pub fn derive(secret: &Secret) -> Self {
        let master = secret.expose().as_bytes();
        Self {
            cookies: Key::derive_from(&hmac(master, b"cookies")),
            csrf: hmac(master, b"csrf").to_vec(),
            codes: hmac(master, b"verification-codes").to_vec(),
        }
    }

    /// The CSRF token for a visitor's random nonce.
    pub fn csrf_token(&self, nonce: &str) -> String {
        hex::encode(hmac(&self.csrf, nonce.as_bytes()))
    }

    /// Whether `token` is the CSRF token for `nonce`, compared in constant time.
    pub fn csrf_token_matches(&self, nonce: &str, token: &str) -> bool {
        let Ok(token) = hex::decode(token) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&self.csrf).expect("HMAC takes any key length");
        mac.update(nonce.as_bytes());
        mac.verify_slice(&token).is_ok()
    }

    /// What is stored for a verification code: an HMAC bound to the user, so a
    /// leaked table reveals no code and a code is useless for another account.
    pub fn code_hash(&self, user_id: i64, code: &str) -> String {
        hex::encode(hmac(&self.codes, format!("{user_id}:{code}").as_bytes()))
    }

    /// Whether `code` is the one stored as `stored_hash`, compared in constant time.
    pub fn code_matches(&self, user_id: i64, code: &str, stored_hash: &str) -> bool {
        let Ok(stored) = hex::decode(stored_hash) else {
            return false;
        };
        let mut mac = HmacSha256::new_from_slice(&self.codes).expect("HMAC takes any key length");
        mac.update(format!("{user_id}:{code}").as_bytes());
        mac.verify_slice(&stored).is_ok()
    }
}

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// What is stored for a random token (session key, reset token): its SHA-256. The
/// token has enough entropy that no salt or slow hash is needed.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random token of `bytes` random bytes, hex-encoded.
pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut buffer);
    hex::encode(buffer)
}
