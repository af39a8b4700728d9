//! The client's IP address, as far as it can be trusted.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The address a request came from. Behind proxies listed in `TRUSTED_PROXIES`, the
/// `X-Forwarded-For` chain is read from the right, the end the nearest proxy wrote,
/// and the first hop that is not a trusted proxy is the client. Anything further left
/// was written by the client itself and is ignored. Without a trusted peer the header
/// is not read at all: anyone can send one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    let mut client = peer;
    for hop in hops.iter().rev() {
        // A hop that is not an address means the chain was tampered with; the last
        // hop known good is the best answer.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The client IP of a request, or the unspecified address when the connection has no
/// peer address (only in unit tests of handlers).
pub fn of_request(req: &HttpRequest, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |addr| addr.ip());
    client_ip(peer, req.headers(), trusted_proxies)
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static("x-forwarded-for"),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn proxies() -> Vec<IpNet> {
        vec!["10.0.0.0/8".parse().unwrap()]
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let headers = forwarded(&["203.0.113.9"]);

        assert_eq!(
            client_ip(ip("198.51.100.7"), &headers, &[]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let headers = forwarded(&["203.0.113.9"]);

        assert_eq!(
            client_ip(ip("198.51.100.7"), &headers, &proxies()),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_hop_it_saw_is_the_client() {
        let headers = forwarded(&["203.0.113.9"]);

        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &proxies()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn addresses_the_client_wrote_itself_are_skipped() {
        // The client sent "1.2.3.4"; the proxy appended the address it really saw.
        let headers = forwarded(&["1.2.3.4, 203.0.113.9"]);

        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &proxies()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn chains_of_trusted_proxies_are_walked_right_to_left() {
        let headers = forwarded(&["1.2.3.4", "203.0.113.9, 10.0.0.5"]);

        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &proxies()),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn garbage_in_the_chain_stops_the_walk_at_the_last_good_hop() {
        let headers = forwarded(&["203.0.113.9, not-an-ip, 10.0.0.5"]);

        assert_eq!(
            client_ip(ip("10.0.0.2"), &headers, &proxies()),
            ip("10.0.0.5")
        );
    }
}
