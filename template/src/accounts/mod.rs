//! Account rules and flows: who may have an account, with which email and
//! password, and how they sign up, verify, sign in and recover it.

pub mod admin;
pub mod email;
pub mod login;
pub mod password;
pub mod password_change;
pub mod password_reset;
pub mod signup;
pub mod verification;
