//! Sessions stored in the application's own database, behind actix-session's
//! `SessionStore`. Server-side storage is what makes logout, password resets and
//! disabling an account take effect on the very next request, on every instance.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use anyhow::anyhow;
use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::db::{self, DbPool};
use crate::keys::{random_token, token_hash};
use crate::models::User;
use crate::models::session::{self, NewSession};
use crate::sessions::SessionSettings;
use crate::telemetry::error_chain;

type SessionState = HashMap<String, String>;

/// Where actix-identity keeps the signed-in user's id.
const IDENTITY_KEY: &str = "actix_identity.user_id";
/// Set at login when the user ticked "remember me".
pub const REMEMBER_ME_KEY: &str = "remember_me";
/// A sign-in waiting for its second factor (`web::second_factor`); any sign-in drops it.
pub const PENDING_SIGN_IN_KEY: &str = "pending_sign_in";
/// A passkey ceremony between its two requests (`accounts::passkeys::Ceremony`).
pub const PASSKEY_CEREMONY_KEY: &str = "passkey_ceremony";
/// The signed-in user, read together with the session and never written back.
pub const USER_KEY: &str = "user";
/// Marks a session the database could not give back (it is out); never stored.
pub const UNREADABLE_KEY: &str = "unreadable";
/// The session's row id, read together with the session and never written back: the
/// sessions page marks "this device" with it.
pub const SESSION_ID_KEY: &str = "session_id";
/// The browser and address a session was signed in from, as [`Client`] JSON.
pub const CLIENT_KEY: &str = "client";
/// Activity is recorded at most this often, so a busy user costs one write a minute.
const TOUCH_INTERVAL: Duration = Duration::minutes(1);

/// The signed-in user as loaded with the session.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub is_admin: bool,
    pub is_active: bool,
    pub is_verified: bool,
}

impl From<&User> for SessionUser {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            name: user.name.clone(),
            is_admin: user.is_admin,
            is_active: user.is_active,
            is_verified: user.email_verified_at.is_some(),
        }
    }
}

/// The database-backed session store.
#[derive(Clone)]
pub struct DbSessionStore {
    pool: DbPool,
    clock: SharedClock,
    settings: SessionSettings,
}

impl DbSessionStore {
    pub fn new(pool: DbPool, clock: SharedClock, settings: SessionSettings) -> Self {
        Self {
            pool,
            clock,
            settings,
        }
    }

    /// How long the session cookie may live in the browser: the longest a session can last.
    pub fn cookie_max_age(&self) -> CookieDuration {
        CookieDuration::seconds(self.settings.remember_timeout.num_seconds())
    }

    fn deadlines(
        &self,
        state: &SessionState,
        now: NaiveDateTime,
    ) -> (NaiveDateTime, NaiveDateTime) {
        let remembered = state
            .get(REMEMBER_ME_KEY)
            .is_some_and(|value| value == "true");
        if remembered {
            // A remembered session is meant to survive days away: no idle limit.
            let end = now + self.settings.remember_timeout;
            (end, end)
        } else {
            (
                now + self.settings.idle_timeout,
                now + self.settings.absolute_timeout,
            )
        }
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<SessionState>, LoadError> {
        let key_hash = token_hash(session_key.as_ref());
        let now = self.clock.now();
        let settings = self.settings;
        let found = db::run_blocking(&self.pool, move |conn| {
            let found = session::find_live_session(conn, &key_hash, now)?;
            if let Some((row, _)) = &found {
                let remembered = row.idle_expires_at == row.absolute_expires_at;
                if !remembered && now - row.last_seen_at >= TOUCH_INTERVAL {
                    let idle = (now + settings.idle_timeout).min(row.absolute_expires_at);
                    session::touch_session(conn, row.id, now, idle)?;
                }
            }
            Ok(found)
        })
        .await;
        let found = match found {
            Ok(found) => found,
            // actix-session would answer a failed load with a bare 500 that the error
            // pages never see. A session marked unreadable reaches
            // `web::error::refuse_unreadable_session` instead: the 503 page.
            Err(error) if error.is_unavailable() => {
                tracing::error!(error = %error_chain(&error), "cannot read the session");
                let marker = HashMap::from([(UNREADABLE_KEY.to_owned(), "true".to_owned())]);
                return Ok(Some(marker));
            }
            Err(error) => return Err(LoadError::Other(anyhow!(error))),
        };

        let Some((row, user)) = found else {
            return Ok(None);
        };
        let mut state: SessionState = serde_json::from_str(&row.state)
            .map_err(|error| LoadError::Deserialization(anyhow!(error)))?;
        state.insert(SESSION_ID_KEY.to_owned(), row.id.to_string());
        if let Some(user) = user {
            let user = serde_json::to_string(&SessionUser::from(&user))
                .map_err(|error| LoadError::Deserialization(anyhow!(error)))?;
            state.insert(USER_KEY.to_owned(), user);
        }
        Ok(Some(state))
    }

    async fn save(
        &self,
        session_state: SessionState,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, SaveError> {
        let key = random_token(32);
        let key_hash = token_hash(&key);
        let now = self.clock.now();
        let (idle_expires_at, absolute_expires_at) = self.deadlines(&session_state, now);
        let (user_id, state) = stored_state(session_state)
            .map_err(|error| SaveError::Serialization(anyhow!(error)))?;
        db::run_blocking(&self.pool, move |conn| {
            session::insert_session(
                conn,
                &NewSession {
                    key_hash: &key_hash,
                    user_id,
                    state: &state,
                    created_at: now,
                    last_seen_at: now,
                    idle_expires_at,
                    absolute_expires_at,
                },
            )
        })
        .await
        .map_err(|error| SaveError::Other(anyhow!(error)))?;
        SessionKey::try_from(key).map_err(|error| SaveError::Other(anyhow!(error)))
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: SessionState,
        ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let key_hash = token_hash(session_key.as_ref());
        let (user_id, state) = stored_state(session_state.clone())
            .map_err(|error| UpdateError::Serialization(anyhow!(error)))?;
        let updated = match db::run_blocking(&self.pool, move |conn| {
            session::update_session_state(conn, &key_hash, user_id, &state)
        })
        .await
        {
            Ok(updated) => updated,
            // The page is done; failing it now would give a bare 500 (actix-session's)
            // for a change such as a flash message read, which then shows once more.
            Err(error) if error.is_unavailable() => {
                tracing::error!(error = %error_chain(&error), "cannot save the session");
                return Ok(session_key);
            }
            Err(error) => return Err(UpdateError::Other(anyhow!(error))),
        };
        if updated == 1 {
            return Ok(session_key);
        }
        // The session ended meanwhile (logout or a password change elsewhere): start a
        // new one, but never with the identity that was just signed out.
        let mut session_state = session_state;
        session_state.remove(IDENTITY_KEY);
        session_state.remove(REMEMBER_ME_KEY);
        self.save(session_state, ttl)
            .await
            .map_err(|error| match error {
                SaveError::Serialization(error) => UpdateError::Serialization(error),
                SaveError::Other(error) => UpdateError::Other(error),
            })
    }

    async fn update_ttl(
        &self,
        _session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        // Deadlines move in `load`, at most once a minute, not on every request.
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let key_hash = token_hash(session_key.as_ref());
        db::run_blocking(&self.pool, move |conn| {
            session::delete_session(conn, &key_hash)
        })
        .await?;
        Ok(())
    }
}

/// The user id and the JSON to store, without the user loaded alongside.
fn stored_state(mut state: SessionState) -> Result<(Option<i64>, String), serde_json::Error> {
    state.remove(USER_KEY);
    state.remove(UNREADABLE_KEY);
    state.remove(SESSION_ID_KEY);
    let user_id = match state.get(IDENTITY_KEY) {
        Some(value) => serde_json::from_str::<String>(value)?.parse().ok(),
        None => None,
    };
    Ok((user_id, serde_json::to_string(&state)?))
}
