//! The `oauth` object of an HTTP server entry: the OAuth fields of the host formats that have
//! them (Claude Code's `clientId` and `callbackPort`, Gemini CLI's `clientId`, `clientSecret`
//! and `scopes`) and mcpmux's own (`clientMetadataUrl`, `resourceParameter`,
//! `grant: "client_credentials"`).

use serde_json::Value;

use crate::error::{ConfigError, Result};
use crate::fields::Fields;

/// OAuth settings of one HTTP server.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OAuthSpec {
    /// Whether OAuth may be used at all (default true; `"oauth": false` or
    /// `{"enabled": false}` turns it off).
    pub enabled: bool,
    /// A pre-registered client id.
    pub client_id: Option<String>,
    /// Its secret (variables expanded: keep it in the environment).
    pub client_secret: Option<String>,
    /// The scopes to ask for instead of the server's.
    pub scopes: Option<Vec<String>>,
    /// The loopback port of the login callback.
    pub callback_port: Option<u16>,
    /// A Client ID Metadata Document URL to use as the client id.
    pub client_metadata_url: Option<String>,
    /// Whether to send the RFC 8707 `resource` parameter (default true).
    pub resource_parameter: bool,
    /// The client credentials grant (machine to machine) instead of a user login.
    pub client_credentials: bool,
}

impl std::fmt::Debug for OAuthSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthSpec")
            .field("enabled", &self.enabled)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("scopes", &self.scopes)
            .field("callback_port", &self.callback_port)
            .field("client_metadata_url", &self.client_metadata_url)
            .field("resource_parameter", &self.resource_parameter)
            .field("client_credentials", &self.client_credentials)
            .finish()
    }
}

impl OAuthSpec {
    /// An [`mcpmux::auth::OAuthConfig`] with these settings (the store and login flow left at
    /// their defaults: set them before use).
    pub fn config(&self) -> mcpmux::auth::OAuthConfig {
        let mut c = mcpmux::auth::OAuthConfig::new();
        if let Some(id) = &self.client_id {
            c = c.client_id(id);
        }
        if let Some(s) = &self.client_secret {
            c = c.client_secret(s);
        }
        if let Some(s) = &self.scopes {
            c = c.scopes(s.iter().cloned());
        }
        if let Some(u) = &self.client_metadata_url {
            c = c.client_metadata_url(u);
        }
        if !self.resource_parameter {
            c = c.resource_parameter(false);
        }
        if self.client_credentials {
            c = c.client_credentials();
        }
        c
    }
}

impl Default for OAuthSpec {
    fn default() -> Self {
        OAuthSpec {
            enabled: true,
            client_id: None,
            client_secret: None,
            scopes: None,
            callback_port: None,
            client_metadata_url: None,
            resource_parameter: true,
            client_credentials: false,
        }
    }
}

/// Reads `oauth`: absent, `null` or `true` give the defaults; `false` turns OAuth off.
pub(crate) fn read(f: &mut Fields<'_, '_>) -> Result<OAuthSpec> {
    let Some(value) = f.map.get("oauth") else {
        return Ok(OAuthSpec::default());
    };
    let map = match value {
        Value::Null => return Ok(OAuthSpec::default()),
        Value::Bool(enabled) => {
            return Ok(OAuthSpec {
                enabled: *enabled,
                ..OAuthSpec::default()
            });
        }
        Value::Object(m) => m,
        other => {
            return Err(ConfigError::new(format!(
                "expected an object, got {}",
                crate::fields::json_type(other)
            ))
            .in_field("oauth"));
        }
    };
    let mut o = Fields {
        map,
        vars: crate::vars::Expander {
            dialect: f.vars.dialect,
            env: f.vars.env,
            input_defs: f.vars.input_defs,
            inputs: &mut *f.vars.inputs,
        },
    };
    let inner = |e: ConfigError| e.in_field("oauth");
    let first = |o: &mut Fields<'_, '_>, keys: &[&str]| -> Result<Option<String>> {
        for k in keys {
            if let Some(v) = o.string(k)? {
                return Ok(Some(v));
            }
        }
        Ok(None)
    };
    let client_id = first(&mut o, &["clientId", "client_id"]).map_err(inner)?;
    let client_secret = first(&mut o, &["clientSecret", "client_secret"]).map_err(inner)?;
    let client_metadata_url =
        first(&mut o, &["clientMetadataUrl", "client_metadata_url"]).map_err(inner)?;
    let scopes = if o.has("scopes") {
        Some(o.strings("scopes", true).map_err(inner)?)
    } else {
        first(&mut o, &["scope"])
            .map_err(inner)?
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
    };
    let callback_port = match ["callbackPort", "callback_port"]
        .into_iter()
        .find_map(|k| o.number(k).transpose())
    {
        None => None,
        Some(n) => {
            let n = n.map_err(inner)?;
            if n.fract() != 0.0 || !(1.0..=65535.0).contains(&n) {
                return Err(
                    ConfigError::new(format!("expected a port (1-65535), got {n}"))
                        .in_field("oauth.callbackPort"),
                );
            }
            Some(n as u16)
        }
    };
    let resource_parameter = !matches!(map.get("resourceParameter"), Some(Value::Bool(false)));
    let grant = first(&mut o, &["grant"]).map_err(inner)?;
    let client_credentials = match grant.as_deref() {
        None | Some("authorization_code") => false,
        Some("client_credentials") => true,
        Some(other) => {
            return Err(ConfigError::new(format!(
                "unknown grant {other:?}: authorization_code or client_credentials"
            ))
            .in_field("oauth.grant"));
        }
    };
    let enabled = !matches!(map.get("enabled"), Some(Value::Bool(false)));
    Ok(OAuthSpec {
        enabled,
        client_id,
        client_secret,
        scopes,
        callback_port,
        client_metadata_url,
        resource_parameter,
        client_credentials,
    })
}
