//! Keys derived from `SESSION_SECRET`, one per purpose, so a key used for one thing
//! can never be replayed for another.

use actix_web::cookie::Key;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
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
    recovery_codes: Vec<u8>,
    two_factor: Aes256Gcm,
}

impl Keys {
    pub fn derive(secret: &Secret) -> Self {
        let master = secret.expose().as_bytes();
        Self {
            cookies: Key::derive_from(&hmac(master, b"cookies")),
            csrf: hmac(master, b"csrf").to_vec(),
            codes: hmac(master, b"verification-codes").to_vec(),
            recovery_codes: hmac(master, b"recovery-codes").to_vec(),
            two_factor: <Aes256Gcm as aes_gcm::KeyInit>::new(
                &hmac(master, b"two-factor-secrets").into(),
            ),
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

    /// What is stored for a recovery code: like [`Keys::code_hash`], under a key of
    /// its own. Recovery codes are looked up by this hash, so it must be deterministic.
    pub fn recovery_code_hash(&self, user_id: i64, code: &str) -> String {
        hex::encode(hmac(
            &self.recovery_codes,
            format!("{user_id}:{code}").as_bytes(),
        ))
    }

    /// Encrypts a two-factor secret for user `user_id`: hex of nonce and ciphertext.
    /// The user id is authenticated with it, so a sealed secret copied to another
    /// account's row does not open.
    pub fn seal_two_factor_secret(&self, user_id: i64, secret: &[u8]) -> String {
        let mut nonce = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
        let aad = user_id.to_be_bytes();
        let sealed = self
            .two_factor
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: secret,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encrypts any secret this short");
        hex::encode([nonce.as_slice(), &sealed].concat())
    }

    /// The secret [`Keys::seal_two_factor_secret`] sealed for `user_id`, or `None` when
    /// it does not open (another `SESSION_SECRET`, another user, a damaged value).
    pub fn open_two_factor_secret(&self, user_id: i64, sealed: &str) -> Option<Vec<u8>> {
        let sealed = hex::decode(sealed).ok()?;
        if sealed.len() < 12 {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(12);
        let aad = user_id.to_be_bytes();
        self.two_factor
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn derived(secret: &str) -> Keys {
        Keys::derive(&Secret::new(secret))
    }

    #[test]
    fn a_sealed_two_factor_secret_opens_only_for_its_user_and_under_its_session_secret() {
        let keys = derived("one secret long enough for the test");
        let sealed = keys.seal_two_factor_secret(7, b"twenty bytes of key!");

        assert_eq!(
            keys.open_two_factor_secret(7, &sealed).as_deref(),
            Some(b"twenty bytes of key!".as_slice())
        );
        assert_eq!(keys.open_two_factor_secret(8, &sealed), None);
        let other = derived("another secret long enough for it");
        assert_eq!(other.open_two_factor_secret(7, &sealed), None);
        assert_ne!(
            sealed,
            keys.seal_two_factor_secret(7, b"twenty bytes of key!")
        );
        assert!(!sealed.contains(&hex::encode(b"twenty bytes of key!")));
    }
}
