//! Outgoing mail: rendered by [`Mailer`], queued in the outbox inside the caller's
//! transaction ([`outbox::enqueue`]), and delivered by the background [`worker`].

pub mod delivery;
pub mod message;
pub mod outbox;
pub mod settings;
pub mod transport;
pub mod worker;

pub use message::{
    Email, MailError, Mailer, OutgoingEmail, Site, can_address, can_send_as, local_sender,
};
pub use settings::{MailSettings, MailTransport};
pub use worker::WorkerHandle;
