//! Calling the provider's HTTP JSON API: settings read the same way for every provider,
//! one pooled client, and the split between failures worth a retry and failures that
//! would only repeat.

use std::time::Duration;

use reqwest::StatusCode;

use crate::mail::delivery::SendError;
use crate::telemetry::error_chain;

/// How long one API call may take, connecting included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Enough of an error response to diagnose it from the outbox's `last_error`.
const MAX_ERROR_BODY: usize = 500;

/// The API's base URL from `variable`, or `default`; without a trailing slash.
pub fn base_url(
    lookup: impl Fn(&str) -> Option<String>,
    variable: &str,
    default: &str,
    problems: &mut Vec<String>,
) -> String {
    let url = lookup(variable)
        .map(|url| url.trim_end_matches('/').to_owned())
        .unwrap_or_else(|| default.to_owned());
    if !url.starts_with("https://") && !url.starts_with("http://") {
        problems.push(format!("{variable}={url} must be an absolute http(s) URL"));
    }
    url
}

/// A client that keeps connections to the API open between messages.
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(concat!(
            env!("CARGO_PKG_NAME"),
            "/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
}

/// Whether an error answer (status and body) refuses our key or account rather than
/// one message.
pub type RefusesAccount = fn(StatusCode, &str) -> bool;

/// 401 and 403: what most providers answer to a bad key or a suspended account.
pub fn refuses_key(status: StatusCode, _body: &str) -> bool {
    status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN
}

/// Sends `request` and reads the answer: any 2xx is a delivery; timeouts, lost
/// connections, 408, 429 and 5xx are worth a retry; answers `refuses_account` picks
/// are about our key or account, so delivery pauses until it is fixed; any other 4xx
/// is about this message and will fail the same way next time (a refused address, a
/// malformed message).
pub async fn send(
    request: reqwest::RequestBuilder,
    refuses_account: RefusesAccount,
) -> Result<(), SendError> {
    let response = request
        .send()
        .await
        .map_err(|error| SendError::Temporary(describe(&error)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let about_account = refuses_account(status, &body);
    let body: String = body.chars().take(MAX_ERROR_BODY).collect();
    let error = format!("the API answered {status}: {body}");
    if is_temporary(status) {
        Err(SendError::Temporary(error))
    } else if about_account {
        Err(SendError::Account(error))
    } else {
        Err(SendError::Permanent(error))
    }
}

fn is_temporary(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// A transport error with its causes (reqwest's own message omits them).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "the API did not answer in time".to_owned()
    } else {
        error_chain(error)
    }
}

#[cfg(test)]
mod tests {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::*;

    async fn answer_with(response: ResponseTemplate) -> Result<(), SendError> {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(response)
            .mount(&server)
            .await;
        let client = client(Duration::from_millis(500)).unwrap();
        send(client.post(server.uri()), refuses_key).await
    }

    #[tokio::test]
    async fn any_success_status_is_a_delivery() {
        for status in [200, 202] {
            let sent = answer_with(ResponseTemplate::new(status)).await;
            assert!(sent.is_ok(), "{status}: {sent:?}");
        }
    }

    #[tokio::test]
    async fn server_errors_rate_limits_and_request_timeouts_are_worth_a_retry() {
        for status in [500, 502, 503, 504, 429, 408] {
            let sent = answer_with(ResponseTemplate::new(status).set_body_string("busy")).await;
            assert!(
                matches!(sent, Err(SendError::Temporary(_))),
                "{status}: {sent:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_refused_key_or_account_pauses_delivery() {
        for status in [401, 403] {
            let sent = answer_with(ResponseTemplate::new(status).set_body_string("bad key")).await;
            assert!(
                matches!(sent, Err(SendError::Account(_))),
                "{status}: {sent:?}"
            );
        }
    }

    #[tokio::test]
    async fn other_client_errors_are_permanent_and_keep_the_providers_reason() {
        for status in [400, 404, 413, 422] {
            let reason = r#"{"message":"The from address is not verified"}"#;
            let sent = answer_with(ResponseTemplate::new(status).set_body_string(reason)).await;
            match sent {
                Err(SendError::Permanent(error)) => {
                    assert!(error.contains(&status.to_string()), "{error}");
                    assert!(error.contains("is not verified"), "{error}");
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn an_api_that_does_not_answer_in_time_is_worth_a_retry() {
        let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(5));

        let sent = answer_with(slow).await;

        assert!(matches!(sent, Err(SendError::Temporary(_))), "{sent:?}");
    }

    #[tokio::test]
    async fn an_api_that_cannot_be_reached_is_worth_a_retry() {
        // Bound and dropped: nothing listens on the port any more.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let client = client(Duration::from_millis(500)).unwrap();

        let sent = send(
            client.post(format!("http://127.0.0.1:{port}/email")),
            refuses_key,
        )
        .await;

        assert!(matches!(sent, Err(SendError::Temporary(_))), "{sent:?}");
    }
}
