//! Flash messages ("Your password is changed.") kept in the server-side session, not
//! in a cookie of their own: a message can quote what a visitor typed (an address),
//! which then never travels, and no second cookie needs its own flags.

use actix_session::SessionExt;
use actix_web::HttpRequest;
use actix_web::dev::ResponseHead;
use actix_web_flash_messages::FlashMessage;
use actix_web_flash_messages::storage::{FlashMessageStore, LoadError, StoreError};

const KEY: &str = "_flash";

/// The store `FlashMessagesFramework` uses; it must run inside the session middleware.
pub struct SessionFlashStore;

impl FlashMessageStore for SessionFlashStore {
    fn load(&self, request: &HttpRequest) -> Result<Vec<FlashMessage>, LoadError> {
        let messages = request
            .get_session()
            .get(KEY)
            .map_err(|error| LoadError::GenericError(anyhow::Error::new(error)))?;
        Ok(messages.unwrap_or_default())
    }

    fn store(
        &self,
        messages: &[FlashMessage],
        request: HttpRequest,
        _response: &mut ResponseHead,
    ) -> Result<(), StoreError> {
        let session = request.get_session();
        if !messages.is_empty() {
            session
                .insert(KEY, messages)
                .map_err(|error| StoreError::GenericError(anyhow::Error::new(error)))?;
        } else if session.contains_key(KEY) {
            // Shown once. Removing only what is there keeps an unchanged session unsaved.
            session.remove(KEY);
        }
        Ok(())
    }
}
