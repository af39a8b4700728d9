//! A stand-in for the provider's HTTP API: a real HTTP server (wiremock) that records
//! what the app posts and answers the way the provider would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::eventually;
use crate::mailbox::ReceivedEmail;

pub struct ApiMock {
    server: MockServer,
    state: Arc<Mutex<State>>,
    /// Reads a message out of a request, the way the provider would.
    read: fn(&Request) -> ReceivedEmail,
}

struct State {
    /// The answer to the next requests: accepted, or this status and body.
    refusal: Option<(u16, Value)>,
    acceptance: ResponseTemplate,
    accepted: Vec<Request>,
}

impl ApiMock {
    /// Answers `POST endpoint` with `acceptance` until told otherwise; any other
    /// request gets a 404, as from the real API. `read` takes the message out of a request.
    pub async fn start(
        endpoint: &str,
        acceptance: ResponseTemplate,
        read: fn(&Request) -> ReceivedEmail,
    ) -> Self {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(State {
            refusal: None,
            acceptance,
            accepted: Vec::new(),
        }));
        Mock::given(method("POST"))
            .and(path(endpoint))
            .respond_with(Answer(Arc::clone(&state)))
            .mount(&server)
            .await;
        Self {
            server,
            state,
            read,
        }
    }

    /// Where to send the app.
    pub fn address(&self) -> SocketAddr {
        *self.server.address()
    }

    /// Accepts every request from now on.
    pub fn accept(&self) {
        self.state.lock().unwrap().refusal = None;
    }

    /// Answers every request from now on with `status` and `body`.
    pub fn refuse(&self, status: u16, body: Value) {
        self.state.lock().unwrap().refusal = Some((status, body));
    }

    /// The requests answered with success so far, oldest first.
    pub fn accepted(&self) -> Vec<Request> {
        self.state.lock().unwrap().accepted.clone()
    }

    /// Every message to `to` the API accepted.
    pub fn delivered_to(&self, to: &str) -> Vec<ReceivedEmail> {
        self.accepted()
            .iter()
            .map(self.read)
            .filter(|email| email.to == to)
            .collect()
    }

    /// Waits for the first message to `to`.
    pub async fn wait_for_delivery(&self, to: &str) -> ReceivedEmail {
        eventually(&format!("a message to {to}"), || {
            self.delivered_to(to).into_iter().next()
        })
        .await
    }

    /// Every request received so far, whatever the answer.
    pub async fn received(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

struct Answer(Arc<Mutex<State>>);

impl Respond for Answer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = self.0.lock().unwrap();
        match &state.refusal {
            Some((status, body)) => ResponseTemplate::new(*status).set_body_json(body),
            None => {
                state.accepted.push(request.clone());
                state.acceptance.clone()
            }
        }
    }
}

/// The JSON body of a request.
pub fn json_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the request body is not JSON")
}

/// The value of header `name`, or "" when absent.
pub fn header_of<'a>(request: &'a Request, name: &str) -> &'a str {
    request
        .headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}
