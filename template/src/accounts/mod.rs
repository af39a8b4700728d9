//! Account rules: who may have an account, with which email and password.

pub mod admin;
pub mod email;
pub mod password;
