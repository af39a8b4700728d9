//! Remembers, in an encrypted cookie, which address this browser is verifying, and
//! the limits the verify page shows. A cookie rather than a session keeps signup from
//! writing a session row. The codes themselves are bound to the cookie's random
//! nonce (`accounts::verification`): only this browser's guesses count against them,
//! and only it is signed in by one.
//!
//! The cookie also keeps the page's own count of guesses and codes, so a browser
//! verifying an address that waits for no code (taken, or waiting in another browser)
//! sees the same answers as one with a code: the page never tells the two apart.

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, CookieJar, SameSite};
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::accounts::AccountSettings;
use crate::accounts::verification::{ResendOutcome, whole_seconds};
use crate::keys::{Keys, random_token, token_hash};
use crate::web::cookies::CookieNames;
use crate::web::error::AppError;
use crate::web::paths;
use crate::web::redirect::see_other;
use crate::web::state::State;

/// A browser's pending verification.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    pub email: String,
    /// Random, per browser: codes are sent for its hash.
    nonce: String,
    /// When a new code may be asked for (Unix microseconds).
    resend_at: i64,
    /// Wrong guesses at the current code.
    wrong_guesses: i32,
    /// When codes were sent this last hour (Unix seconds).
    sent: Vec<i64>,
}

impl Pending {
    /// The browser's pending verification if it is for `email`, else a new one.
    pub fn for_email(req: &HttpRequest, email: &str) -> Self {
        pending(req)
            .filter(|pending| pending.email == email)
            .unwrap_or_else(|| Self {
                email: email.to_owned(),
                nonce: random_token(16),
                resend_at: 0,
                wrong_guesses: 0,
                sent: Vec::new(),
            })
    }

    /// What codes are bound to: the hash of the nonce, never the nonce itself.
    pub fn browser(&self) -> String {
        token_hash(&self.nonce)
    }

    /// Seconds until a new code may be asked for at `now`, rounded up (0: now).
    pub fn countdown(&self, now: NaiveDateTime) -> i64 {
        self.resend_at()
            .map_or(0, |at| whole_seconds(at - now).max(0))
    }

    fn resend_at(&self) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_micros(self.resend_at).map(|at| at.naive_utc())
    }

    /// Notes a code sent at `now` (or, without an account, the one a real account
    /// would have been sent).
    pub fn code_sent(&mut self, settings: &AccountSettings, now: NaiveDateTime) {
        let now_seconds = now.and_utc().timestamp();
        self.sent.retain(|at| now_seconds - at < 3600);
        self.sent.push(now_seconds);
        self.wrong_guesses = 0;
        self.wait_until(now + settings.code_cooldown);
    }

    /// Notes what a request for a new code did: `outcome` from the database when the
    /// address waits for a code, or the same rules applied to this cookie when not.
    pub fn resent(
        &mut self,
        outcome: Option<ResendOutcome>,
        settings: &AccountSettings,
        now: NaiveDateTime,
    ) -> ResendOutcome {
        let now_seconds = now.and_utc().timestamp();
        self.sent.retain(|at| now_seconds - at < 3600);
        let wait = self.countdown(now);
        let outcome = outcome.unwrap_or_else(|| {
            // Counted as the database counts a cooldown.
            if wait > 0 {
                ResendOutcome::TooSoon(wait)
            } else if i64::try_from(self.sent.len()).unwrap_or(i64::MAX) >= settings.codes_per_hour
            {
                ResendOutcome::HourlyLimit
            } else {
                ResendOutcome::Sent
            }
        });
        match &outcome {
            ResendOutcome::Sent => self.code_sent(settings, now),
            ResendOutcome::TooSoon(_) => {
                self.wait_until(outcome.next_allowed(settings, now).unwrap_or(now));
            }
            // The page still counts down a cooldown, as after a code.
            ResendOutcome::HourlyLimit => self.wait_until(now + settings.code_cooldown),
        }
        outcome
    }

    /// Counts a wrong guess where no code exists; true once as many were made as a
    /// code allows, when a real code would be dead.
    pub fn guessed_wrong(&mut self, settings: &AccountSettings) -> bool {
        self.wrong_guesses += 1;
        self.wrong_guesses > settings.code_max_attempts
    }

    fn wait_until(&mut self, at: NaiveDateTime) {
        self.resend_at = at.and_utc().timestamp_micros();
    }
}

/// The browser's pending verification, if it has one.
pub fn pending(req: &HttpRequest) -> Option<Pending> {
    let state = State::of(req).ok()?;
    let (keys, names) = (&state.keys, &state.cookie_names);
    let cookie = req.cookie(&names.pending)?;
    let mut jar = CookieJar::new();
    jar.add_original(cookie);
    let value = jar.private(&keys.cookies).get(&names.pending)?;
    serde_json::from_str(value.value()).ok()
}

/// Sends the visitor to the code form, keeping `pending` in their cookie.
pub fn redirect_to_verify(state: &State, pending: &Pending) -> Result<HttpResponse, AppError> {
    let mut response = see_other(paths::VERIFY);
    response.add_cookie(&pending_cookie(&state.keys, &state.cookie_names, pending)?)?;
    Ok(response)
}

/// The encrypted cookie that keeps `pending` for an hour.
pub fn pending_cookie(
    keys: &Keys,
    names: &CookieNames,
    pending: &Pending,
) -> Result<Cookie<'static>, AppError> {
    let value = serde_json::to_string(pending).map_err(anyhow::Error::from)?;
    let cookie = Cookie::build(names.pending.clone(), value)
        .path("/")
        .http_only(true)
        .secure(names.secure)
        .same_site(SameSite::Lax)
        .max_age(Duration::hours(1))
        .finish();
    let mut jar = CookieJar::new();
    jar.private_mut(&keys.cookies).add(cookie);
    Ok(jar
        .delta()
        .next()
        .cloned()
        .expect("the jar holds the cookie just added"))
}

/// A cookie that removes the pending address.
pub fn clear_pending_cookie(names: &CookieNames) -> Cookie<'static> {
    let mut cookie = Cookie::build(names.pending.clone(), "")
        .path("/")
        .secure(names.secure)
        .finish();
    cookie.make_removal();
    cookie
}
