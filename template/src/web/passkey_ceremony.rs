//! What every passkey ceremony shares on the web side: its state, kept in the
//! server-side session between its two requests for a few minutes and used once, and
//! its options, sent as JSON to `static/js/passkeys.js`.
//!
//! Each ceremony also has a row in `passkey_challenges`, and its answer is checked
//! only by the request that deletes that row: parallel copies of one answer (which
//! all load the same session) get one check, not one each.

use actix_session::Session;
use actix_web::HttpResponse;
use serde::{Deserialize, Serialize};

use crate::accounts::passkeys::Ceremony;
use crate::keys::{random_token, token_hash};
use crate::models::passkey_challenge;
use crate::sessions::PASSKEY_CEREMONY_KEY;
use crate::web::auth::insert;
use crate::web::error::AppError;
use crate::web::state::State;

/// How long the browser has to answer: as long as it asks the user to (the
/// library's timeout).
const CEREMONY_MINUTES: i64 = 5;

/// A ceremony and the nonce of its row in `passkey_challenges`.
#[derive(Debug, Serialize, Deserialize)]
struct Kept {
    nonce: String,
    ceremony: Ceremony,
}

/// Keeps a ceremony's state for its second request; one at a time per session, so
/// starting another abandons it.
pub async fn keep(session: &Session, state: &State, ceremony: Ceremony) -> Result<(), AppError> {
    let nonce = random_token(16);
    let hash = token_hash(&nonce);
    let now = state.now();
    let oldest = now - chrono::Duration::minutes(CEREMONY_MINUTES);
    state
        .db(move |conn, _| passkey_challenge::issue(conn, &hash, now, oldest))
        .await?;
    insert(session, PASSKEY_CEREMONY_KEY, Kept { nonce, ceremony })
}

/// The ceremony this session started, used up: `None` when there is none, it is
/// older than [`CEREMONY_MINUTES`], or another request claimed it first.
pub async fn take(session: &Session, state: &State) -> Result<Option<Ceremony>, AppError> {
    let kept = session.get::<Kept>(PASSKEY_CEREMONY_KEY).ok().flatten();
    session.remove(PASSKEY_CEREMONY_KEY);
    let Some(kept) = kept else {
        return Ok(None);
    };
    let hash = token_hash(&kept.nonce);
    let oldest = state.now() - chrono::Duration::minutes(CEREMONY_MINUTES);
    let claimed = state
        .db(move |conn, _| passkey_challenge::claim(conn, &hash, oldest))
        .await?;
    Ok(claimed.then_some(kept.ceremony))
}

/// A ceremony's options for the browser, never cached.
pub fn options_response(options: &impl Serialize) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(options)
}
