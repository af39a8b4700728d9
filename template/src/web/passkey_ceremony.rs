//! What every passkey ceremony shares on the web side: its state, kept in the
//! server-side session between its two requests for a few minutes and used once, and
//! its options, sent as JSON to `static/js/passkeys.js`.

use actix_session::Session;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use crate::accounts::passkeys::Ceremony;
use crate::sessions::PASSKEY_CEREMONY_KEY;
use crate::web::auth::insert;
use crate::web::error::AppError;
use crate::web::state::State;

/// How long the browser has to answer, as long as it asks the user to (the
/// library's timeout).
const CEREMONY_MINUTES: i64 = 5;

/// A ceremony and when it started (seconds since 1970, UTC).
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    at: i64,
    ceremony: Ceremony,
}

/// Keeps a ceremony's state for its second request; one at a time per session, so
/// starting another abandons it.
pub fn keep(session: &Session, state: &State, ceremony: Ceremony) -> Result<(), AppError> {
    let at = state.now().and_utc().timestamp();
    insert(session, PASSKEY_CEREMONY_KEY, Kept { at, ceremony })
}

/// The ceremony this session started, used up (an answer is checked once); `None`
/// when there is none or it is older than [`CEREMONY_MINUTES`].
pub fn take(session: &Session, state: &State) -> Option<Ceremony> {
    let kept = session.get::<Kept>(PASSKEY_CEREMONY_KEY).ok().flatten();
    session.remove(PASSKEY_CEREMONY_KEY);
    let kept = kept?;
    let age = state.now().and_utc().timestamp() - kept.at;
    (0..CEREMONY_MINUTES * 60)
        .contains(&age)
        .then_some(kept.ceremony)
}

/// A ceremony's options for the browser, never cached.
pub fn options_response(options: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(options)
}
