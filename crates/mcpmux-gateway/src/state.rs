//! The gateway's `requestState` (2026-07-28 multi-round-trip requests): what it needs to route
//! a retry — the upstream, the request it belongs to, the upstream's own state or the parked
//! call — sealed with HMAC-SHA256 under a key of this gateway's, so a client cannot forge,
//! alter or move it to another request (the spec makes `requestState` attacker-controlled).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// The prefix of sealed states (a version, for a later format).
const PREFIX: &str = "mcpmux1.";

/// How long a sealed state stays valid.
pub(crate) const STATE_TTL_SECS: u64 = 15 * 60;

/// What a sealed `requestState` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sealed {
    /// The upstream server.
    pub(crate) server: String,
    /// The request's method and its target (tool or prompt name, resource URI), as the client
    /// named them.
    pub(crate) method: String,
    pub(crate) target: String,
    /// The upstream's own `requestState` (pass-through), if it sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) inner: Option<Value>,
    /// A call parked in the gateway (an upstream on sessions asked for input).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) parked: Option<String>,
    /// Seconds since the Unix epoch when it stops being valid.
    pub(crate) expires: u64,
}

/// Seals and opens states with one key.
#[derive(Clone)]
pub(crate) struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

/// Seconds since the Unix epoch.
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Sealer {
    /// A sealer with a fresh random key (states do not survive the process).
    pub(crate) fn random() -> Sealer {
        Sealer {
            key: rand::random(),
        }
    }

    /// A sealer whose key is derived from `secret` (SHA-256): replicas given the same secret
    /// open each other's states.
    pub(crate) fn from_secret(secret: &[u8]) -> Sealer {
        use sha2::Digest as _;
        Sealer {
            key: Sha256::digest(secret).into(),
        }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes keys of any length: a 32-byte key never fails.
        Hmac::<Sha256>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// `sealed` as an opaque string.
    pub(crate) fn seal(&self, sealed: &Sealed) -> String {
        let body = serde_json::to_vec(sealed).unwrap_or_default();
        let mut mac = self.mac();
        mac.update(&body);
        let tag = mac.finalize().into_bytes();
        format!(
            "{PREFIX}{}.{}",
            URL_SAFE_NO_PAD.encode(&body),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The state sealed in `text`.
    ///
    /// # Errors
    /// Why it is refused: not one of ours, altered, or expired.
    pub(crate) fn open(&self, text: &str) -> Result<Sealed, &'static str> {
        let rest = text
            .strip_prefix(PREFIX)
            .ok_or("requestState was not issued by this gateway")?;
        let (body, tag) = rest.split_once('.').ok_or("requestState is malformed")?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| "requestState is malformed")?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| "requestState is malformed")?;
        let mut mac = self.mac();
        mac.update(&body);
        mac.verify_slice(&tag)
            .map_err(|_| "requestState failed its integrity check")?;
        let sealed: Sealed =
            serde_json::from_slice(&body).map_err(|_| "requestState is malformed")?;
        if sealed.expires < now_secs() {
            return Err("requestState has expired");
        }
        Ok(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Sealed {
        Sealed {
            server: "py".into(),
            method: "tools/call".into(),
            target: "py_book".into(),
            inner: Some(Value::String("upstream-state".into())),
            parked: None,
            expires: now_secs() + 60,
        }
    }

    #[test]
    fn a_sealed_state_opens_and_an_altered_one_does_not() {
        let sealer = Sealer::random();
        let text = sealer.seal(&sample());
        assert_eq!(sealer.open(&text), Ok(sample()));
        // Any change to the body or the tag is refused.
        let mut altered = text.clone().into_bytes();
        let i = PREFIX.len() + 3;
        altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap_or_default();
        assert!(sealer.open(&altered).is_err());
        assert!(sealer.open(&format!("{text}x")).is_err());
        assert!(sealer.open("plain").is_err());
        // Another gateway's key does not open it; one with the same secret does.
        assert!(Sealer::random().open(&text).is_err());
        let shared = Sealer::from_secret(b"a secret the replicas share");
        let text = shared.seal(&sample());
        assert_eq!(
            Sealer::from_secret(b"a secret the replicas share").open(&text),
            Ok(sample())
        );
        assert!(Sealer::from_secret(b"another secret").open(&text).is_err());
        // Nor does an expired one.
        let old = Sealed {
            expires: now_secs().saturating_sub(1),
            ..sample()
        };
        assert_eq!(
            sealer.open(&sealer.seal(&old)),
            Err("requestState has expired")
        );
    }
}
