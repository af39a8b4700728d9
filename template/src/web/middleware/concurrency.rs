//! At most `MAX_REQUESTS_PER_CLIENT` requests of one client in progress at once
//! (default 64; the client as the rate limits see it): a client that opens connections
//! by the thousand and trickles in their bodies gets 429 for the excess at once, and
//! holds no more of the server than that.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::RETRY_AFTER;
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

use crate::web::client_ip;
use crate::web::state::State;

/// Requests in progress, per client.
#[derive(Debug, Default, Clone)]
pub struct InFlight(Arc<Mutex<HashMap<IpAddr, u32>>>);

impl InFlight {
    /// Counts a request of `client` in, unless it has `max` already.
    fn enter(&self, client: IpAddr, max: u32) -> Option<Entered> {
        let mut counts = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = counts.entry(client).or_default();
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Entered {
            in_flight: self.clone(),
            client,
        })
    }
}

/// One request in progress; counted out when dropped, however the request ends
/// (answered, failed, or the client gone).
struct Entered {
    in_flight: InFlight,
    client: IpAddr,
}

impl Drop for Entered {
    fn drop(&mut self) {
        let mut counts = self
            .in_flight
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

/// The middleware; wrap it inside the error pages, so the 429 gets its page.
pub async fn cap_per_client(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let state = State::of(req.request())?;
    let client = client_ip::limit_key(client_ip::of_request(
        req.request(),
        &state.settings.trusted_proxies,
    ));
    let Some(_entered) = state
        .in_flight
        .enter(client, state.settings.max_requests_per_client)
    else {
        let refused = HttpResponse::TooManyRequests()
            .insert_header((RETRY_AFTER, "1"))
            .finish();
        return Ok(req.into_response(refused).map_into_right_body());
    };
    let response = next.call(req).await?;
    Ok(response.map_into_left_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_at_most_max_and_its_places_back_when_they_end() {
        let in_flight = InFlight::default();
        let client = IpAddr::from([192, 0, 2, 1]);
        let other = IpAddr::from([192, 0, 2, 2]);

        let first = in_flight.enter(client, 2);
        let second = in_flight.enter(client, 2);
        let third = in_flight.enter(client, 2);
        let others = in_flight.enter(other, 2);

        assert!(first.is_some() && second.is_some() && others.is_some());
        assert!(third.is_none());
        drop(first);
        assert!(in_flight.enter(client, 2).is_some());
        drop((second, others));
        assert!(in_flight.0.lock().unwrap().is_empty());
    }
}
