//! Outgoing mail.

pub mod transport;
