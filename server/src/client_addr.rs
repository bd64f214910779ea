//! The client's address behind reverse proxies, for the audit log and failed-auth limits.
//!
//! A forwarding header is believed only when the connection comes from a configured
//! trusted proxy, and only the one header that proxy writes. It is read right to left:
//! each trusted proxy appends the address it saw, so the right-most address that is not a
//! trusted proxy is the client; everything to its left came from the client itself and may
//! be forged. With no trusted proxy configured (the default) the peer address is the client.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The address a request is attributed to, put in the request's extensions by the
/// router's first middleware.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// Which forwarding header the trusted proxies write. Only that one is read: a header the
/// proxy passes through untouched is the client's to forge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProxyHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2` (nginx, HAProxy, most load balancers).
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
    header: ProxyHeader,
}

/// An address or network (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`), for `--trusted-proxy`.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("`{text}` is not an IP address or CIDR network"))
}

impl TrustedProxies {
    pub fn new(nets: Vec<IpNet>, header: ProxyHeader) -> Self {
        TrustedProxies { nets, header }
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request that arrived from `peer` carrying `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = match self.header {
            ProxyHeader::XForwardedFor => x_forwarded_for(headers),
            ProxyHeader::Forwarded => forwarded(headers),
        };
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            // An unreadable hop (`unknown`, an obfuscated name, garbage) ends what can be
            // known: the trusted proxy that reported it is as far as we can see.
            let Some(ip) = hop else {
                return client;
            };
            client = ip.to_canonical();
            if !self.trusts(client) {
                return client;
            }
        }
        client
    }
}

/// Every `X-Forwarded-For` entry, left to right across repeated headers.
fn x_forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("x-forwarded-for")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(node).collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// The `for=` of every `Forwarded` element, left to right across repeated headers.
fn forwarded(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    headers
        .get_all("forwarded")
        .iter()
        .flat_map(|value| match value.to_str() {
            Ok(text) => split_unquoted(text, ',')
                .into_iter()
                .map(|element| {
                    split_unquoted(element, ';').into_iter().find_map(|pair| {
                        let (key, value) = pair.split_once('=')?;
                        key.trim()
                            .eq_ignore_ascii_case("for")
                            .then(|| node(value.trim().trim_matches('"')))
                    })?
                })
                .collect(),
            Err(_) => vec![None],
        })
        .collect()
}

/// Splits on `sep` outside double quotes (a quoted `Forwarded` value may hold one).
fn split_unquoted(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`, `[2001:db8::1]:4711`;
/// anything else (`unknown`, `_hidden`) is unreadable.
fn node(text: &str) -> Option<IpAddr> {
    let text = text.trim();
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| text.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxies(header: ProxyHeader) -> TrustedProxies {
        TrustedProxies::new(
            vec![
                parse_net("10.0.0.0/8").unwrap(),
                parse_net("fd00::1").unwrap(),
            ],
            header,
        )
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let p = proxies(ProxyHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "1.2.3.4")]);
        assert_eq!(p.client(ip("203.0.113.9"), &h), ip("203.0.113.9"));
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("10.0.0.1"), &h), ip("10.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let p = proxies(ProxyHeader::XForwardedFor);
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.1.1.1")]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("198.51.100.7"));
        // Repeated headers read as one list, in order; ports and brackets are fine.
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "[2001:db8::7]:443, 10.2.2.2:80"),
        ]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("2001:db8::7"));
        // Every hop trusted: the furthest one.
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.1.1")]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.9.9.9"));
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(p.client(ip("10.0.0.1"), &HeaderMap::new()), ip("10.0.0.1"));
        // An unreadable hop stops the walk at the proxy that reported it.
        let h = headers(&[("x-forwarded-for", "1.1.1.1, garbage, 10.3.3.3")]);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("10.3.3.3"));
        // An IPv4 peer seen as IPv4-mapped IPv6 on a dual-stack socket is still trusted.
        let h = headers(&[("x-forwarded-for", "198.51.100.7")]);
        assert_eq!(p.client(ip("::ffff:10.0.0.1"), &h), ip("198.51.100.7"));
        assert_eq!(p.client(ip("fd00::1"), &h), ip("198.51.100.7"));
    }

    #[test]
    fn forwarded_is_read_only_when_configured() {
        let h = headers(&[
            (
                "forwarded",
                "for=6.6.6.6, for=\"[2001:db8:cafe::17]:4711\";proto=https",
            ),
            ("forwarded", "For=10.4.4.4;by=10.0.0.1"),
            ("x-forwarded-for", "5.5.5.5"),
        ]);
        let p = proxies(ProxyHeader::Forwarded);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("2001:db8:cafe::17"));
        // The proxy writes X-Forwarded-For: a Forwarded header is the client's own.
        let p = proxies(ProxyHeader::XForwardedFor);
        assert_eq!(p.client(ip("10.0.0.1"), &h), ip("5.5.5.5"));
        let h = headers(&[("forwarded", "for=unknown, for=10.4.4.4")]);
        assert_eq!(
            proxies(ProxyHeader::Forwarded).client(ip("10.0.0.1"), &h),
            ip("10.4.4.4")
        );
        let h = headers(&[("forwarded", "proto=http;for=\"a,b\", for=192.0.2.60")]);
        assert_eq!(
            proxies(ProxyHeader::Forwarded).client(ip("10.0.0.1"), &h),
            ip("192.0.2.60")
        );
    }

    #[test]
    fn networks_parse_with_or_without_a_prefix() {
        assert!(parse_net("192.0.2.7").unwrap().contains(&ip("192.0.2.7")));
        assert!(parse_net("2001:db8::/32").is_ok());
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("proxy.local").is_err());
    }
}
