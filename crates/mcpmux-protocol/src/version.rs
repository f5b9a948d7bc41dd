//! MCP protocol versions and their negotiation.

use std::fmt;

/// An MCP protocol version this crate knows.
///
/// Ordered by date, so `a < b` means `a` is older.
///
/// ```
/// use mcpmux_protocol::ProtocolVersion;
/// assert_eq!(ProtocolVersion::LATEST.as_str(), "2025-11-25");
/// assert_eq!(ProtocolVersion::parse("2025-03-26"), Some(ProtocolVersion::V2025_03_26));
/// assert_eq!(ProtocolVersion::parse("1999-01-01"), None);
/// assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::V2025_06_18);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// The first published version (stdio and HTTP+SSE).
    V2024_11_05,
    /// Streamable HTTP, batches, tool annotations, audio content.
    V2025_03_26,
    /// Structured tool output, elicitation, `MCP-Protocol-Version` header; batches removed.
    V2025_06_18,
    /// Tasks, URL elicitation, SSE polling, icons.
    V2025_11_25,
    /// Stateless MCP: no `initialize`, `server/discover`, per-request `_meta`, `Mcp-Method` /
    /// `Mcp-Name` / `Mcp-Param-*` headers, multi-round-trip requests.
    V2026_07_28,
}

impl ProtocolVersion {
    /// The newest version negotiated through `initialize`; the client offers it first.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// The stateless version, negotiated through `server/discover`, never inside `initialize`.
    pub const STATELESS: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// Every version a client accepts in an `initialize` result, newest first.
    pub const SUPPORTED: [ProtocolVersion; 4] = [
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2024_11_05,
    ];

    /// The version's wire string, e.g. `"2025-06-18"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a wire string; `None` for versions this crate does not speak.
    pub fn parse(s: &str) -> Option<ProtocolVersion> {
        if s == Self::STATELESS.as_str() {
            return Some(Self::STATELESS);
        }
        Self::SUPPORTED.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether this is a stateless version (no `initialize`, no session).
    pub fn is_stateless(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// Whether JSON-RPC batches may be sent and must be accepted (2025-03-26 only).
    pub fn allows_batches(self) -> bool {
        self == ProtocolVersion::V2025_03_26
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
