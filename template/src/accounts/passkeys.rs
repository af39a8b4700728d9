//! Passkeys (WebAuthn): registering one, and signing in with one, either in place of
//! the password (a discoverable passkey: no address typed) or as the second factor.
//! Each ceremony takes two requests; what the library needs between them waits in
//! the server-side session, never in the browser.

use chrono::NaiveDateTime;
use diesel::QueryResult;
use sha2::{Digest, Sha256};
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication, Passkey,
    PasskeyAuthentication, PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential,
    RequestChallengeResponse, Url, Uuid, Webauthn, WebauthnBuilder, WebauthnError, WebauthnResult,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use crate::accounts::two_factor::SecondFactor;
use crate::db::{self, DbConn};
use crate::mail::{OutgoingEmail, outbox};
use crate::models::audit_event::{self, NewAuditEvent};
use crate::models::passkey::{self, NewPasskey, PasskeyRow};
use crate::models::two_factor;

/// The longest name a passkey may have, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// The site's WebAuthn relying party: its id is the host of `APP_BASE_URL`, and only
/// pages of that exact origin may use its passkeys. None when that host is an address
/// (`http://127.0.0.1:8000`): passkeys belong to a domain name, so they are off.
pub struct Passkeys {
    webauthn: Option<Webauthn>,
}

impl std::fmt::Debug for Passkeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passkeys").finish_non_exhaustive()
    }
}

/// A ceremony's state, kept between its two requests.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub enum Ceremony {
    /// Adding a passkey for the signed-in user, whose passkeys all carry `user_handle`.
    Registration {
        user_handle: Uuid,
        state: PasskeyRegistration,
    },
    /// Signing in without a password.
    SignIn(DiscoverableAuthentication),
    /// The second step of a sign-in whose password was right.
    SecondFactor(PasskeyAuthentication),
}

impl Passkeys {
    pub fn new(base_url: &str, app_name: &str) -> anyhow::Result<Self> {
        let origin = Url::parse(base_url)?;
        let Some(rp_id) = origin.domain() else {
            tracing::warn!(
                base_url,
                "passkeys are off: they need APP_BASE_URL to name a host (localhost, \
                 app.example.com), not an address"
            );
            return Ok(Self { webauthn: None });
        };
        let webauthn = WebauthnBuilder::new(rp_id, &origin)?
            .rp_name(app_name)
            .build()?;
        Ok(Self {
            webauthn: Some(webauthn),
        })
    }

    /// Whether this site can use passkeys at all (see [`Passkeys`]).
    pub fn enabled(&self) -> bool {
        self.webauthn.is_some()
    }

    fn webauthn(&self) -> anyhow::Result<&Webauthn> {
        self.webauthn
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("passkeys are off on this site"))
    }

    /// Starts adding a passkey for the user: the options for the browser, and the state
    /// to keep. The passkey must be discoverable, so it can sign in with no address
    /// typed; the user's other passkeys are excluded, so one authenticator holds one.
    pub fn start_registration(
        &self,
        email: &str,
        name: &str,
        existing: &[PasskeyRow],
    ) -> anyhow::Result<(CreationChallengeResponse, Ceremony)> {
        let user_handle = existing
            .first()
            .and_then(|row| Uuid::parse_str(&row.user_handle).ok())
            .unwrap_or_else(Uuid::new_v4);
        let exclude = existing
            .iter()
            .filter_map(|row| stored(row).map(|key| key.cred_id().clone()))
            .collect::<Vec<_>>();
        let display_name = if name.is_empty() { email } else { name };
        let (mut options, state) = self.webauthn()?.start_passkey_registration(
            user_handle,
            email,
            display_name,
            Some(exclude),
        )?;
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        let ceremony = Ceremony::Registration { user_handle, state };
        Ok((options, ceremony))
    }

    /// Starts a sign-in without a password.
    pub fn start_sign_in(&self) -> anyhow::Result<(RequestChallengeResponse, Ceremony)> {
        let (mut options, state) = self.webauthn()?.start_discoverable_authentication()?;
        // The page asks when the user clicks, not in the address field's autofill.
        options.mediation = None;
        Ok((options, Ceremony::SignIn(state)))
    }

    /// Starts the second step with one of `rows` (a user's passkeys); `None` when
    /// there is none.
    pub fn start_second_factor(
        &self,
        rows: &[PasskeyRow],
    ) -> anyhow::Result<Option<(RequestChallengeResponse, Ceremony)>> {
        let keys: Vec<Passkey> = rows.iter().filter_map(stored).collect();
        if keys.is_empty() {
            return Ok(None);
        }
        let (options, state) = self.webauthn()?.start_passkey_authentication(&keys)?;
        Ok(Some((options, Ceremony::SecondFactor(state))))
    }
}

/// The key a credential is found by: a hash of its id, of fixed length.
fn credential_key(credential_id: &[u8]) -> String {
    hex::encode(Sha256::digest(credential_id))
}

/// The library's credential in `row`; `None` (and an error in the log) when it does
/// not read.
fn stored(row: &PasskeyRow) -> Option<Passkey> {
    serde_json::from_str(&row.credential)
        .inspect_err(|error| tracing::error!(%error, passkey = row.id, "a passkey does not read"))
        .ok()
}

/// A passkey's name as typed: trimmed, one line, at most [`MAX_NAME_CHARS`]; `None`
/// when nothing is left.
pub fn clean_name(typed: &str) -> Option<String> {
    let name: String = typed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    (!name.is_empty()).then_some(name)
}

/// How adding a passkey went.
#[derive(Debug, PartialEq, Eq)]
pub enum Added {
    Added,
    /// The browser's answer did not verify (another origin, a stale challenge, a
    /// cancelled ceremony).
    Invalid,
    /// This passkey is registered already.
    Duplicate,
}

/// A new passkey as the browser sent it back.
#[derive(Debug)]
pub struct Registration<'a> {
    /// What the user calls it ([`clean_name`]).
    pub name: &'a str,
    pub credential: &'a RegisterPublicKeyCredential,
    /// The ceremony started for this user.
    pub ceremony: Ceremony,
}

/// Finishes adding a passkey for `account` (id, email), if the browser's credential
/// answers the ceremony. Mails the owner (`added_mail`) and writes the audit log.
pub fn finish_registration(
    conn: &mut DbConn,
    passkeys: &Passkeys,
    account: (i64, &str),
    registration: Registration<'_>,
    ip: &str,
    added_mail: &OutgoingEmail,
    now: NaiveDateTime,
) -> QueryResult<Added> {
    let Registration {
        name,
        credential,
        ceremony,
    } = registration;
    let Ceremony::Registration { user_handle, state } = ceremony else {
        return Ok(Added::Invalid);
    };
    let Some(webauthn) = passkeys.webauthn.as_ref() else {
        return Ok(Added::Invalid);
    };
    let Ok(key) = webauthn
        .finish_passkey_registration(credential, &state)
        .inspect_err(|error| tracing::info!(%error, "a passkey registration did not verify"))
    else {
        return Ok(Added::Invalid);
    };
    let stored = serde_json::to_string(&key).map_err(|error| {
        tracing::error!(%error, "cannot store a passkey");
        diesel::result::Error::RollbackTransaction
    })?;
    let credential_key = credential_key(key.cred_id());
    let user_handle = user_handle.to_string();
    db::write_transaction(conn, |conn| {
        let row = NewPasskey {
            user_id: account.0,
            name,
            credential_key: &credential_key,
            user_handle: &user_handle,
            credential: &stored,
            created_at: now,
        };
        if !passkey::insert(conn, &row)? {
            return Ok(Added::Duplicate);
        }
        outbox::enqueue(conn, Some(account.0), added_mail, now)?;
        let event = NewAuditEvent::by_owner(account, "account.passkey_add", ip, now);
        audit_event::record(conn, &event)?;
        Ok(Added::Added)
    })
}

/// Removes `account`'s passkey `id`, mails the owner (`removed_mail`, given the name)
/// and writes the audit log; the name, or `None` when it was not theirs or is gone.
pub fn remove(
    conn: &mut DbConn,
    account: (i64, &str),
    id: i64,
    ip: &str,
    removed_mail: impl FnOnce(&str) -> Option<OutgoingEmail>,
    now: NaiveDateTime,
) -> QueryResult<Option<String>> {
    db::write_transaction(conn, |conn| {
        let Some(name) = passkey::delete(conn, account.0, id)? else {
            return Ok(None);
        };
        if let Some(mail) = removed_mail(&name) {
            outbox::enqueue(conn, Some(account.0), &mail, now)?;
        }
        let event = NewAuditEvent::by_owner(account, "account.passkey_remove", ip, now);
        audit_event::record(conn, &event)?;
        Ok(Some(name))
    })
}

/// A passkey whose answer verified: whose it is, and what to record of its use.
#[derive(Debug)]
pub struct Verified {
    pub user_id: i64,
    passkey_id: i64,
    /// The credential with its new signature counter, when that changed.
    credential: Option<String>,
}

impl Verified {
    /// Records the sign-in with this passkey (when, and its counter); inside the
    /// transaction that accepts the sign-in.
    pub fn record(&self, conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<()> {
        passkey::record_use(conn, self.passkey_id, self.credential.as_deref(), now)
    }
}

/// Checks a passkey sign-in: the browser's `credential` must answer the `ceremony`
/// with a passkey registered here, for the user it was registered to. Writes nothing:
/// `accounts::login::record_passkey_sign_in` records the use once the account may
/// sign in.
pub fn check_sign_in(
    conn: &mut DbConn,
    passkeys: &Passkeys,
    credential: &PublicKeyCredential,
    ceremony: Ceremony,
) -> QueryResult<Option<Verified>> {
    let (Ceremony::SignIn(state), Some(webauthn)) = (ceremony, passkeys.webauthn.as_ref()) else {
        return Ok(None);
    };
    let Ok((user_handle, credential_id)) =
        webauthn.identify_discoverable_authentication(credential)
    else {
        return Ok(None);
    };
    let Some(row) = passkey::find_by_credential(conn, &credential_key(credential_id))? else {
        return Ok(None);
    };
    // The authenticator names the user; it must be the one the passkey was made for.
    if row.user_handle != user_handle.to_string() {
        return Ok(None);
    }
    let Some(key) = stored(&row) else {
        return Ok(None);
    };
    let verified = webauthn.finish_discoverable_authentication_v2(credential, state, &key);
    Ok(verified_use(&row, key, verified))
}

/// The use to record of `row`'s passkey `key` after the library's `verdict`; `None`
/// when the answer did not verify.
fn verified_use(
    row: &PasskeyRow,
    mut key: Passkey,
    verdict: WebauthnResult<AuthenticationResult>,
) -> Option<Verified> {
    let result = match verdict {
        Ok(result) => result,
        Err(WebauthnError::CredentialPossibleCompromise) => {
            // The counter went back: the passkey may have been copied.
            tracing::warn!(
                passkey = row.id,
                user_id = row.user_id,
                "a passkey's signature counter went back"
            );
            return None;
        }
        Err(error) => {
            tracing::info!(%error, passkey = row.id, "a passkey answer did not verify");
            return None;
        }
    };
    let changed = key.update_credential(&result).unwrap_or(false);
    Some(Verified {
        user_id: row.user_id,
        passkey_id: row.id,
        credential: changed.then(|| serde_json::to_string(&key).ok()).flatten(),
    })
}

/// Checks a passkey at the second sign-in step of user `user_id`, answering the
/// `ceremony` started for it. Call it inside the sign-in's transaction, like
/// `two_factor::check_second_factor`.
pub fn check_second_factor(
    conn: &mut DbConn,
    passkeys: &Passkeys,
    user_id: i64,
    credential: &PublicKeyCredential,
    ceremony: Ceremony,
    now: NaiveDateTime,
) -> QueryResult<SecondFactor> {
    if !two_factor::is_enabled(conn, user_id)? {
        return Ok(SecondFactor::Off);
    }
    let (Ceremony::SecondFactor(state), Some(webauthn)) = (ceremony, passkeys.webauthn.as_ref())
    else {
        return Ok(SecondFactor::Wrong);
    };
    let key = credential_key(credential.get_credential_id());
    let Some(row) = passkey::find_by_credential(conn, &key)?.filter(|row| row.user_id == user_id)
    else {
        return Ok(SecondFactor::Wrong);
    };
    let Some(key) = stored(&row) else {
        return Ok(SecondFactor::Wrong);
    };
    let verdict = webauthn.finish_passkey_authentication(credential, &state);
    let Some(used) = verified_use(&row, key, verdict) else {
        return Ok(SecondFactor::Wrong);
    };
    used.record(conn, now)?;
    Ok(SecondFactor::Passkey)
}
