//! The delivery service chosen when the project was generated. Only its file is in
//! this project; CUSTOMIZE.md explains how to switch to another one.

{% if mail != "smtp" -%}
mod api;
{% endif -%}
mod {{mail}};

pub use {{mail}}::{NAME, ProviderSettings, Sender};
