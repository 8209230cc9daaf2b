//! The client's address behind reverse proxies. Each proxy appends the address it received
//! the request from to `X-Forwarded-For` (adding to the last header line or sending a line of
//! its own), so only the right-hand end of the list was written by proxies we trust; anything
//! further left may be whatever the client chose to send.

use std::net::{IpAddr, SocketAddr};

/// The address of the client that sent a request reaching us from `peer`: the peer itself
/// unless it is a trusted proxy; then the `X-Forwarded-For` entries of every header line (in
/// the order received) are read right to left, past trusted proxies, to the first address that
/// is not one. An entry that is not an address stops the walk at the trusted proxy that passed
/// it on; a list of trusted proxies only gives its leftmost.
pub fn client_address<'a>(
    peer: IpAddr,
    forwarded_for: impl DoubleEndedIterator<Item = Option<&'a str>>,
    trusted: &[IpAddr],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.contains(&ip.to_canonical());
    let mut client = peer;
    if !is_trusted(client) {
        return client;
    }
    for line in forwarded_for.rev() {
        // A header line that is not text is no list of addresses.
        let Some(line) = line else {
            return client;
        };
        for entry in line.rsplit(',') {
            match parse_entry(entry) {
                Some(ip) => {
                    client = ip;
                    if !is_trusted(ip) {
                        return ip;
                    }
                }
                None => return client,
            }
        }
    }
    client
}

/// One entry: an address, possibly with a port (`192.0.2.1:443`, `[2001:db8::1]:443`), as some
/// proxies write it.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|address| address.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PROXY: &str = "10.0.0.1";
    const INNER_PROXY: &str = "10.0.0.2";

    fn client(peer: &str, lines: &[&str]) -> IpAddr {
        client_address(ip(peer), lines.iter().map(|line| Some(*line)), &[ip(PROXY), ip(INNER_PROXY)])
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(client("198.51.100.9", &["203.0.113.7"]), ip("198.51.100.9"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client() {
        assert_eq!(client(PROXY, &["203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(client(PROXY, &[" 203.0.113.7 "]), ip("203.0.113.7"));
    }

    #[test]
    fn entries_the_client_sent_left_of_the_proxies_are_ignored() {
        // The client claims to be 192.0.2.66; our proxy appended the address it really saw.
        assert_eq!(client(PROXY, &["192.0.2.66, 203.0.113.7"]), ip("203.0.113.7"));
        assert_eq!(client(PROXY, &["192.0.2.66, 10.0.0.2, 203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn trusted_proxies_in_the_chain_are_passed_over() {
        assert_eq!(client(PROXY, &["192.0.2.66, 203.0.113.7, 10.0.0.2"]), ip("203.0.113.7"));
        assert_eq!(client(PROXY, &["203.0.113.7, 10.0.0.2, 10.0.0.1"]), ip("203.0.113.7"));
    }

    #[test]
    fn every_header_line_is_read_right_to_left() {
        // The client sent a line of its own; each proxy then added a line.
        assert_eq!(client(PROXY, &["192.0.2.66", "203.0.113.7", "10.0.0.2"]), ip("203.0.113.7"));
        assert_eq!(client(PROXY, &["192.0.2.66, 192.0.2.67", "203.0.113.7, 10.0.0.2"]), ip("203.0.113.7"));
        // A spoofed line before the proxies' lines changes nothing.
        assert_eq!(client(PROXY, &["10.0.0.2", "203.0.113.7"]), ip("203.0.113.7"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_only_gives_its_leftmost() {
        assert_eq!(client(PROXY, &["10.0.0.2, 10.0.0.1"]), ip("10.0.0.2"));
        assert_eq!(client(PROXY, &["10.0.0.1", "10.0.0.2"]), ip("10.0.0.1"));
    }

    #[test]
    fn no_header_leaves_the_proxy_itself() {
        assert_eq!(client(PROXY, &[]), ip(PROXY));
        assert_eq!(client(PROXY, &[""]), ip(PROXY));
    }

    #[test]
    fn a_malformed_entry_stops_at_the_proxy_that_passed_it_on() {
        assert_eq!(client(PROXY, &["unknown"]), ip(PROXY));
        assert_eq!(client(PROXY, &["203.0.113.7, not-an-address"]), ip(PROXY));
        assert_eq!(client(PROXY, &["203.0.113.7, garbage, 10.0.0.2"]), ip(INNER_PROXY));
        assert_eq!(client(PROXY, &["203.0.113.7,,"]), ip(PROXY));
        assert_eq!(client(PROXY, &["203.0.113.7", "999.1.1.1"]), ip(PROXY));
        // Left of a malformed entry nothing counts, not even a good-looking address.
        assert_eq!(client(PROXY, &["198.51.100.1", "_hidden", "10.0.0.2"]), ip(INNER_PROXY));
    }

    #[test]
    fn a_line_that_is_not_text_stops_the_walk() {
        let lines = [Some("198.51.100.1"), None, Some("203.0.113.7")];
        let trusted = [ip(PROXY)];
        assert_eq!(client_address(ip(PROXY), lines.into_iter(), &trusted), ip("203.0.113.7"));
        let lines = [Some("198.51.100.1"), None];
        assert_eq!(client_address(ip(PROXY), lines.into_iter(), &trusted), ip(PROXY));
    }

    #[test]
    fn addresses_with_ports_and_ipv6_are_read() {
        assert_eq!(client(PROXY, &["203.0.113.7:51234"]), ip("203.0.113.7"));
        assert_eq!(client(PROXY, &["[2001:db8::7]:443"]), ip("2001:db8::7"));
        assert_eq!(client(PROXY, &["2001:db8::7"]), ip("2001:db8::7"));
        // An IPv4 address written as IPv6 is the same address.
        assert_eq!(client(PROXY, &["203.0.113.7, ::ffff:10.0.0.2"]), ip("203.0.113.7"));
        assert_eq!(client("::ffff:10.0.0.1", &["203.0.113.7"]), ip("203.0.113.7"));
    }
}
