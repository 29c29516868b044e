//! Where a request comes from and whether it arrived over HTTPS. Behind a reverse proxy
//! the peer is the proxy: `X-Forwarded-For` and `X-Forwarded-Proto` are believed only
//! when the peer is one of the configured trusted proxies, never from anyone else.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The client's address as far as it can be trusted.
    pub ip: String,
    /// The client spoke HTTPS (to us or to a trusted proxy).
    pub https: bool,
}

/// `10.0.0.0/8`, `192.168.1.5` or `::1`: does `ip` fall within it?
pub fn in_range(range: &str, ip: IpAddr) -> bool {
    let (addr, bits) = match range.trim().split_once('/') {
        Some((a, b)) => (a, b.parse::<u32>().ok()),
        None => (range.trim(), None),
    };
    let Ok(net) = addr.parse::<IpAddr>() else {
        return false;
    };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// Pure rule: the client seen through the proxies we trust.
pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[String]) -> ClientInfo {
    let Some(peer) = peer else {
        return ClientInfo::default();
    };
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| in_range(r, ip));
    if !is_trusted(peer) {
        return ClientInfo {
            ip: peer.to_string(),
            https: false,
        };
    }
    // The nearest address in X-Forwarded-For that is not one of our proxies is the client;
    // anything further left was written by the client and proves nothing.
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let ip = forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(**ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer);
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    ClientInfo {
        ip: ip.to_string(),
        https,
    }
}

/// Works out the client once per request and, over HTTPS, adds HSTS to the answer.
pub async fn layer(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let info = resolve(peer, req.headers(), &state.config.trusted_proxies);
    let https = info.https;
    req.extensions_mut().insert(info);
    let mut resp = next.run(req).await;
    if https {
        resp.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    resp
}

/// The address an allow-list is held against: the peer for a request it sent itself, the
/// client a trusted proxy names for one it forwarded, and none for a request forwarded by a
/// proxy that is not trusted (a reverse proxy on this machine makes every outsider's request
/// come from loopback: it must not count as this machine's own).
pub fn allow_list_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[String],
) -> Option<IpAddr> {
    let peer = peer?;
    let forwarded = ["x-forwarded-for", "x-real-ip", "forwarded"]
        .iter()
        .any(|h| headers.contains_key(*h));
    if !forwarded {
        return Some(peer);
    }
    if !trusted.iter().any(|r| in_range(r, peer)) {
        return None;
    }
    resolve(Some(peer), headers, trusted).ip.parse().ok()
}

/// Whether a scraper may read `/metrics`: it shows the token configured, or it comes from
/// an address on the list.
pub fn scraper_admitted(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[String],
    allow: &[String],
    token: Option<&str>,
) -> bool {
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let (Some(token), Some(offered)) = (token, offered) {
        // Digests compared, so the time taken tells nothing of the token.
        use sha2::{Digest, Sha256};
        if Sha256::digest(offered.trim().as_bytes()) == Sha256::digest(token.as_bytes()) {
            return true;
        }
    }
    allow_list_address(peer, headers, trusted)
        .is_some_and(|ip| allow.iter().any(|r| in_range(r, ip)))
}

/// Guards the operator endpoint `/metrics` (see `scraper_admitted`); others get 403.
pub async fn metrics_gate(
    axum::extract::State(state): axum::extract::State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let c = &state.config;
    if scraper_admitted(
        peer,
        req.headers(),
        &c.trusted_proxies,
        &c.metrics_allow,
        c.metrics_token.as_deref(),
    ) {
        return next.run(req).await;
    }
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::FORBIDDEN,
        crate::messages::METRICS_REFUSED,
    )
        .into_response()
}

impl<S: Send + Sync> FromRequestParts<S> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(of(parts))
    }
}

/// The client of a request (the layer's finding, or the bare peer without the layer).
pub fn of(parts: &Parts) -> ClientInfo {
    if let Some(c) = parts.extensions.get::<ClientInfo>() {
        return c.clone();
    }
    ClientInfo {
        ip: parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .unwrap_or_default(),
        https: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.append(*k, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn ranges() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert!(in_range("10.0.0.0/8", ip("10.1.2.3")));
        assert!(!in_range("10.0.0.0/8", ip("11.1.2.3")));
        assert!(in_range("127.0.0.1", ip("127.0.0.1")));
        assert!(!in_range("127.0.0.1", ip("127.0.0.2")));
        assert!(in_range("::1", ip("::1")));
        assert!(in_range("fd00::/8", ip("fd12::1")));
        assert!(!in_range("10.0.0.0/8", ip("::1")));
        assert!(!in_range("nonsense", ip("10.0.0.1")));
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.2".parse().expect("ip");
        let stranger: IpAddr = "203.0.113.9".parse().expect("ip");
        let headers = h(&[
            ("x-forwarded-for", "1.2.3.4, 198.51.100.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let trusted = vec!["10.0.0.0/8".to_string()];
        // A stranger's headers are ignored.
        let c = resolve(Some(stranger), &headers, &trusted);
        assert_eq!(c.ip, "203.0.113.9");
        assert!(!c.https);
        // Through our proxy: the nearest untrusted address, and the scheme.
        let c = resolve(Some(proxy), &headers, &trusted);
        assert_eq!(c.ip, "198.51.100.7");
        assert!(c.https);
        // Nothing trusted configured: nothing believed.
        let c = resolve(Some(proxy), &headers, &[]);
        assert_eq!(c.ip, "10.0.0.2");
        assert!(!c.https);
        // A plain-HTTP proxy hop.
        let c = resolve(Some(proxy), &h(&[("x-forwarded-proto", "http")]), &trusted);
        assert!(!c.https);
        assert_eq!(c.ip, "10.0.0.2");
    }

    #[test]
    fn metrics_go_to_listed_addresses_and_the_token_only() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().expect("ip"));
        let loopback = vec!["127.0.0.1".to_string(), "::1".to_string()];
        let none: Vec<String> = Vec::new();
        let admitted = |peer, headers: &HeaderMap, trusted: &[String], allow: &[String]| {
            scraper_admitted(
                peer,
                headers,
                trusted,
                allow,
                Some("t0ken-t0ken-t0ken-t0ken"),
            )
        };
        // Straight from an address on the list, or not.
        assert!(admitted(ip("127.0.0.1"), &h(&[]), &none, &loopback));
        assert!(admitted(ip("::1"), &h(&[]), &none, &loopback));
        assert!(!admitted(ip("192.0.2.4"), &h(&[]), &none, &loopback));
        assert!(!admitted(ip("127.0.0.1"), &h(&[]), &none, &none));
        // Forwarded by a local proxy nobody trusts: nobody's.
        for fwd in ["x-forwarded-for", "x-real-ip", "forwarded"] {
            assert!(
                !admitted(ip("127.0.0.1"), &h(&[(fwd, "127.0.0.1")]), &none, &loopback),
                "{fwd}"
            );
        }
        // Through a trusted proxy, the client it names.
        let proxy = vec!["10.0.0.2".to_string()];
        let scrapers = vec!["10.9.0.0/16".to_string()];
        assert!(admitted(
            ip("10.0.0.2"),
            &h(&[("x-forwarded-for", "10.9.1.1")]),
            &proxy,
            &scrapers
        ));
        assert!(!admitted(
            ip("10.0.0.2"),
            &h(&[("x-forwarded-for", "203.0.113.9")]),
            &proxy,
            &scrapers
        ));
        // The token, from anywhere; a wrong one, or another scheme, is no token.
        let bearer = h(&[("authorization", "Bearer t0ken-t0ken-t0ken-t0ken")]);
        assert!(admitted(ip("203.0.113.9"), &bearer, &none, &none));
        let wrong = h(&[("authorization", "Bearer t0ken-t0ken-t0ken-t0kem")]);
        assert!(!admitted(ip("203.0.113.9"), &wrong, &none, &none));
        let basic = h(&[("authorization", "Basic t0ken-t0ken-t0ken-t0ken")]);
        assert!(!admitted(ip("203.0.113.9"), &basic, &none, &none));
        // No token configured: a bearer header opens nothing.
        assert!(!scraper_admitted(
            ip("203.0.113.9"),
            &bearer,
            &none,
            &none,
            None
        ));
    }
}
