//! JWTs the client signs: `private_key_jwt` client assertions (RFC 7523 §2.2).

use std::str::FromStr;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

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

#[cfg(test)]
mod tests {
    use super::*;

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
