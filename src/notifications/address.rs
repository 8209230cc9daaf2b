//! Where webhooks may point: public addresses only, unless the operator allows private ones.
//! A coordinator could otherwise make the server send requests into the network it runs in
//! (its database, a cloud's metadata service at 169.254.169.254, an admin page on localhost).
//! The URL is checked when it is saved (addresses and names that always mean a local network),
//! and every request resolves its host through `PublicResolver`, so that a name resolving to a
//! private address, now or later (DNS rebinding), is refused too. A name is not resolved when
//! the URL is saved, and a name that does not resolve fails a delivery with the same words as
//! one that resolves privately: neither the answer nor the delivery log tells a coordinator
//! which names exist in the network the server runs in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

/// Whether `ip` is an address on the public internet: not loopback, private (RFC 1918, unique
/// local), link-local, shared (carrier-grade NAT), unspecified, multicast, broadcast, reserved or
/// documentation, also when written as an IPv4-mapped IPv6 address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        // 0.0.0.0/8 "this network", 100.64.0.0/10 shared address space, 192.0.0.0/24 protocol
        // assignments, 198.18.0.0/15 benchmarking, 240.0.0.0/4 reserved.
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local, 2001:db8::/32 documentation.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8))
}

/// Why a URL cannot be a webhook's, or the URL.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Url, &'static str> {
    let url = Url::parse(raw).map_err(|_| "must be an absolute http or https URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must be an http or https URL");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password (the signature authenticates the sender)");
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    if allow_private {
        return Ok(url);
    }
    match url.host() {
        None => Err("must name a host"),
        Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => Err("must not point at a private or local address"),
        Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => Err("must not point at a private or local address"),
        Some(Host::Domain(name)) if is_local_name(name) => Err("must not point at a private or local address"),
        Some(_) => Ok(url),
    }
}

/// Names that always mean this machine or its network.
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name.ends_with(".local") || name.ends_with(".internal")
}

/// Resolves hosts for webhook requests, keeping public addresses only (all, when allowed).
#[derive(Debug, Clone, Copy)]
pub struct PublicResolver {
    pub allow_private: bool,
}

impl Resolve for PublicResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let found: std::io::Result<Vec<SocketAddr>> =
                tokio::net::lookup_host((name.as_str(), 0)).await.map(Iterator::collect);
            if allow_private {
                return Ok(Box::new(found?.into_iter()) as Addrs);
            }
            let usable: Vec<SocketAddr> =
                found.into_iter().flatten().filter(|address| is_public(address.ip())).collect();
            if usable.is_empty() {
                return Err(format!("{} resolves to no public address", name.as_str()).into());
            }
            Ok(Box::new(usable.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_not_public() {
        for ip in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "193.0.6.139", "2a00:1450:4001:80b::200e"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn urls_to_this_network_are_refused_unless_allowed() {
        for url in [
            "http://10.0.0.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost:8080/",
            "https://api.localhost/",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
        ] {
            assert!(check_url(url, false).is_err(), "{url}");
            assert!(check_url(url, true).is_ok(), "{url}");
        }
        assert!(check_url("https://partner.example.org/casebridge", false).is_ok());
        assert!(check_url("ftp://partner.example.org/", true).is_err());
        assert!(check_url("https://user:pw@partner.example.org/", true).is_err());
        assert!(check_url("partner.example.org", true).is_err());
    }

    /// A name that resolves to this machine and a name that does not resolve at all fail alike,
    /// so a delivery log cannot be used to find out which names exist in the server's network.
    #[tokio::test]
    async fn a_private_name_and_a_missing_name_fail_with_the_same_words() {
        let resolver = PublicResolver { allow_private: false };
        let mut errors = Vec::new();
        for host in ["localhost", "no-such-host.invalid"] {
            let Err(error) = resolver.resolve(host.parse().unwrap()).await else {
                panic!("{host} was let through");
            };
            errors.push(error.to_string().replace(host, "HOST"));
        }
        assert_eq!(errors[0], errors[1]);
        assert!(PublicResolver { allow_private: true }.resolve("localhost".parse().unwrap()).await.is_ok());
    }
}
