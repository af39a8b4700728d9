//! The client's IP address, as far as it can be trusted.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use actix_web::HttpRequest;
use actix_web::http::header::HeaderMap;
use ipnet::IpNet;

/// The address a request came from. Behind proxies listed in `TRUSTED_PROXIES`, the
/// `X-Forwarded-For` chain is read from the right, the end the nearest proxy wrote,
/// and the first hop that is not a trusted proxy is the client. Anything further left
/// was written by the client itself and is ignored. Without a trusted peer the header
/// is not read at all: anyone can send one. IPv4 addresses come back as IPv4 even when
/// written IPv4-mapped (`::ffff:a.b.c.d`, as an IPv6 socket reports IPv4 peers).
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
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
        let Some(ip) = parse_hop(hop) else {
            break;
        };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// A hop as proxies write it: an address, maybe with a port (`1.2.3.4:80`,
/// `[2001:db8::1]:443`) or in brackets.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .or_else(|_| {
            let bracketed = hop.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
            bracketed.unwrap_or(hop).parse::<IpAddr>()
        })
        .ok()?;
    Some(ip.to_canonical())
}

/// What a per-client limit counts against: the address itself for IPv4, its /64
/// network for IPv6, where one subscriber is given a whole /64 to pick from.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        v4 => v4,
    }
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

    #[test]
    fn ipv4_peers_seen_on_an_ipv6_socket_are_plain_ipv4() {
        // With APP_HOST=:: an IPv4 client arrives as ::ffff:a.b.c.d.
        let headers = forwarded(&["203.0.113.9"]);

        assert_eq!(
            client_ip(ip("::ffff:10.0.0.2"), &headers, &proxies()),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("::ffff:198.51.100.7"), &HeaderMap::new(), &[]),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn hops_written_with_ports_or_brackets_are_read() {
        for (hop, client) in [
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db8::1]:443", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("::ffff:203.0.113.9", "203.0.113.9"),
        ] {
            let headers = forwarded(&[hop]);
            assert_eq!(
                client_ip(ip("10.0.0.2"), &headers, &proxies()),
                ip(client),
                "{hop}"
            );
        }
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_network() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa:bbbb:cccc:dddd")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(limit_key(ip("2001:db8:1:2::1")), ip("2001:db8:1:2::"));
        assert_ne!(limit_key(ip("2001:db8:1:3::1")), ip("2001:db8:1:2::"));
        assert_eq!(limit_key(ip("203.0.113.9")), ip("203.0.113.9"));
    }
}
