//! Protocol version negotiation for `initialize`.

use mcpmux_protocol::ProtocolVersion;

/// The version the gateway answers to a client that asked for `requested`: the same version if
/// the gateway speaks it (2024-11-05 … 2025-11-25), else the latest of those.
///
/// ```
/// use mcpmux_gateway::negotiate;
/// assert_eq!(negotiate(Some("2025-03-26")), "2025-03-26");
/// assert_eq!(negotiate(Some("1999-01-01")), "2025-11-25");
/// assert_eq!(negotiate(None), "2025-11-25");
/// ```
pub fn negotiate(requested: Option<&str>) -> &'static str {
    requested
        .and_then(|r| {
            ProtocolVersion::SUPPORTED
                .into_iter()
                .find(|v| v.as_str() == r)
        })
        .unwrap_or(ProtocolVersion::LATEST)
        .as_str()
}

#[cfg(test)]
mod tests {
    use super::negotiate;

    #[test]
    fn every_session_version_is_echoed_and_others_get_the_latest() {
        for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
            assert_eq!(negotiate(Some(v)), v);
        }
        // The stateless version is negotiated through server/discover, never initialize.
        assert_eq!(negotiate(Some("2026-07-28")), "2025-11-25");
        assert_eq!(negotiate(Some("")), "2025-11-25");
    }
}
