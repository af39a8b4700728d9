//! The application, in layers: a module uses only modules of the layers below its
//! own (ARCHITECTURE.md draws the map; a test of the template checks it).

// The server, and the jobs that run beside it.
pub mod startup;

pub mod jobs;

// HTTP: routes, handlers, middleware; and the settings, read once at start-up.
pub mod web;

pub mod config;

// What the application does: administration, then accounts.
pub mod admin;

pub mod accounts;

// What the flows are built on.
pub mod mail;
pub mod sessions;

pub mod models;

pub mod db;

pub mod keys;

// Leaves: used everywhere, using nothing of the application.
pub mod assets;
pub mod clock;
pub mod secret;
pub mod telemetry;
pub mod templates;
