//! Where a session was signed in from: the browser's User-Agent and the client's
//! address, kept in the session's state for the sessions page and sign-in notices.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::sessions::store::CLIENT_KEY;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Client {
    /// The User-Agent header, cut to [`Client::MAX_USER_AGENT`] bytes.
    pub user_agent: String,
    /// The client's address, read through `TRUSTED_PROXIES`.
    pub ip: String,
}

impl Client {
    pub const MAX_USER_AGENT: usize = 512;

    /// A client with this User-Agent (cut to [`Client::MAX_USER_AGENT`] bytes) and
    /// address.
    pub fn new(user_agent: &str, ip: String) -> Self {
        let mut end = user_agent.len().min(Self::MAX_USER_AGENT);
        while !user_agent.is_char_boundary(end) {
            end -= 1;
        }
        Self {
            user_agent: user_agent[..end].to_owned(),
            ip,
        }
    }

    /// Where a session was signed in from, read from its stored state; empty for a
    /// session signed in before this was kept.
    pub fn of_stored_state(state: &str) -> Self {
        serde_json::from_str::<HashMap<String, String>>(state)
            .ok()
            .and_then(|values| values.get(CLIENT_KEY).cloned())
            .and_then(|client| serde_json::from_str(&client).ok())
            .unwrap_or_default()
    }

    /// The browser and operating system the User-Agent names, in the words people
    /// know ("Firefox", "Windows 10"); "Unknown browser" and "" when it names none.
    pub fn browser_and_system(&self) -> (String, String) {
        let known =
            |value: &str| (!value.is_empty() && value != "UNKNOWN").then(|| value.to_owned());
        let parsed = woothee::parser::Parser::new().parse(&self.user_agent);
        let browser = parsed
            .as_ref()
            .and_then(|result| known(result.name))
            .unwrap_or_else(|| "Unknown browser".to_owned());
        let system = parsed
            .as_ref()
            .and_then(|result| known(result.os))
            .map(|os| match os.as_str() {
                "Mac OSX" => "macOS".to_owned(),
                "iPhone" | "iPad" | "iPod" => format!("iOS ({os})"),
                _ => os,
            })
            .unwrap_or_default();
        (browser, system)
    }

    /// "Firefox on Windows 10", or the browser alone when the system is unknown.
    pub fn description(&self) -> String {
        match self.browser_and_system() {
            (browser, system) if system.is_empty() => browser,
            (browser, system) => format!("{browser} on {system}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Client;

    #[test]
    fn browsers_and_systems_are_named_as_people_know_them() {
        for (user_agent, described) in [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
                "Firefox on Windows 10",
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
                "Safari on macOS",
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                "Safari on iOS (iPhone)",
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 \
                 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
                "Chrome on Android",
            ),
            ("", "Unknown browser"),
        ] {
            let client = Client::new(user_agent, String::new());
            assert_eq!(client.description(), described, "{user_agent}");
        }
    }

    #[test]
    fn a_long_user_agent_is_cut_on_a_character_boundary() {
        let client = Client::new(&"é".repeat(400), String::new());
        assert!(client.user_agent.len() <= Client::MAX_USER_AGENT);
        assert!(client.user_agent.chars().all(|c| c == 'é'));
    }
}
