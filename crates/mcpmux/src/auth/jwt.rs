//! JWTs the client signs: `private_key_jwt` client assertions (RFC 7523 §2.2) and DPoP proofs
//! (RFC 9449 §4).

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey;
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::pkce::random_token;
use super::store::now;
use crate::error::{Error, Result};

/// A private key for `private_key_jwt` client authentication (RFC 7523).
#[derive(Clone)]
pub(crate) struct SigningKey {
    pub(crate) pem: String,
    pub(crate) algorithm: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

/// How long an assertion is valid.
const ASSERTION_LIFETIME: u64 = 300;

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

/// Reads a PEM private key for `algorithm` (`ES256`, `RS256`, `EdDSA`, ...).
pub(crate) fn encoding_key(key: &SigningKey) -> Result<(Algorithm, EncodingKey)> {
    let alg = Algorithm::from_str(&key.algorithm).map_err(|_| {
        Error::invalid(format!(
            "unsupported signing algorithm {:?} for private_key_jwt",
            key.algorithm
        ))
    })?;
    let pem = key.pem.as_bytes();
    let parsed = match alg {
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem),
        Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512 => EncodingKey::from_rsa_pem(pem),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem),
        _ => {
            return Err(Error::invalid(format!(
                "private_key_jwt needs an asymmetric algorithm, not {}",
                key.algorithm
            )));
        }
    };
    // The parse error never quotes the key.
    let key = parsed.map_err(|e| {
        Error::invalid(format!(
            "the private key for {} is not a usable PEM key: {}",
            key.algorithm,
            e.kind_name()
        ))
    })?;
    Ok((alg, key))
}

trait KindName {
    fn kind_name(&self) -> String;
}

impl KindName for jsonwebtoken::errors::Error {
    fn kind_name(&self) -> String {
        format!("{:?}", self.kind())
            .split('(')
            .next()
            .unwrap_or("invalid key")
            .to_owned()
    }
}

/// A client assertion for `client_id`, for the authorization server `audience` (its issuer).
pub(crate) fn client_assertion(
    key: &SigningKey,
    client_id: &str,
    audience: &str,
) -> Result<String> {
    let (alg, encoding) = encoding_key(key)?;
    let iat = now();
    let claims = AssertionClaims {
        iss: client_id,
        sub: client_id,
        aud: audience,
        iat,
        exp: iat + ASSERTION_LIFETIME,
        jti: random_token(16),
    };
    let mut header = Header::new(alg);
    header.typ = Some("JWT".to_owned());
    jsonwebtoken::encode(&header, &claims, &encoding).map_err(|e| {
        Error::auth(format!(
            "could not sign the client assertion: {}",
            e.kind_name()
        ))
    })
}

/// A DPoP key (P-256, ES256): a proof of possession for every token request and every request
/// carrying a DPoP-bound token.
#[derive(Clone)]
pub(crate) struct DpopKey {
    /// PKCS#8 DER of the private key.
    der: Vec<u8>,
    key: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    jti: String,
    htm: &'a str,
    htu: String,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
}

impl DpopKey {
    /// A fresh key.
    pub(crate) fn generate() -> Result<Self> {
        // A uniformly random 32-byte string is a valid scalar but with negligible probability.
        for _ in 0..8 {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                let der = secret
                    .to_pkcs8_der()
                    .map_err(|e| Error::auth(format!("could not encode a DPoP key: {e}")))?;
                return Self::from_der(der.as_bytes().to_vec());
            }
        }
        Err(Error::auth("could not generate a DPoP key"))
    }

    /// The key stored as base64url PKCS#8 DER.
    pub(crate) fn from_stored(stored: &str) -> Result<Self> {
        let der = URL_SAFE_NO_PAD
            .decode(stored)
            .map_err(|_| Error::auth("the stored DPoP key is not readable"))?;
        Self::from_der(der)
    }

    fn from_der(der: Vec<u8>) -> Result<Self> {
        let key = EncodingKey::from_ec_der(&der);
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)
            .map_err(|e| Error::auth(format!("not a usable DPoP key: {}", e.kind_name())))?;
        Ok(DpopKey { der, key, jwk })
    }

    /// The key to store (base64url PKCS#8 DER).
    pub(crate) fn to_stored(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.der)
    }

    /// A proof for one request: `htm` the method, `url` the target (query and fragment
    /// dropped), the access token it carries (its hash becomes `ath`), the server's nonce.
    pub(crate) fn proof(
        &self,
        htm: &str,
        url: &reqwest::Url,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> Result<String> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let claims = ProofClaims {
            jti: random_token(16),
            htm,
            htu: htu.to_string(),
            iat: now(),
            ath: access_token.map(|t| URL_SAFE_NO_PAD.encode(Sha256::digest(t.as_bytes()))),
            nonce,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".to_owned());
        header.jwk = Some(self.jwk.clone());
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| Error::auth(format!("could not sign a DPoP proof: {}", e.kind_name())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dpop_proofs_are_fresh_signed_and_round_trip() {
        let key = DpopKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let url =
            reqwest::Url::parse("https://rs.example/mcp?x=1#f").unwrap_or_else(|e| panic!("{e}"));
        let a = key
            .proof("POST", &url, Some("tok"), Some("n1"))
            .unwrap_or_else(|e| panic!("{e}"));
        let b = key
            .proof("POST", &url, Some("tok"), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(a, b);
        let part = |jwt: &str, i: usize| -> serde_json::Value {
            let seg = jwt.split('.').nth(i).unwrap_or_default();
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap_or_default())
                .unwrap_or_default()
        };
        let (h, c) = (part(&a, 0), part(&a, 1));
        assert_eq!(h["typ"], "dpop+jwt");
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["jwk"]["crv"], "P-256");
        assert!(h["jwk"].get("d").is_none(), "no private part in the header");
        assert_eq!(c["htu"], "https://rs.example/mcp");
        assert_eq!(c["htm"], "POST");
        assert_eq!(c["nonce"], "n1");
        assert_eq!(
            c["ath"],
            URL_SAFE_NO_PAD.encode(Sha256::digest(b"tok")).as_str()
        );
        assert!(part(&b, 1).get("nonce").is_none());
        let again = DpopKey::from_stored(&key.to_stored()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.jwk, key.jwk);
    }

    #[test]
    fn bad_keys_and_algorithms_are_errors_without_the_key() {
        let key = SigningKey {
            pem: "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----\n".into(),
            algorithm: "ES256".into(),
        };
        let e = client_assertion(&key, "c", "https://as").err();
        assert!(
            e.as_ref()
                .is_some_and(|e| !e.to_string().contains("SECRET")),
            "{e:?}"
        );
        let key = SigningKey {
            pem: String::new(),
            algorithm: "HS256".into(),
        };
        assert!(client_assertion(&key, "c", "https://as").is_err());
        let key = SigningKey {
            pem: String::new(),
            algorithm: "nope".into(),
        };
        assert!(client_assertion(&key, "c", "https://as").is_err());
    }
}
