//! Test certificates for HTTPS: a fresh self-signed CA and a server certificate it signed, made
//! at run time (nothing checked in, nothing that expires in the repository).
//!
//! ```
//! let certs = mcpmux_test_server::test_certs::TestCerts::generate().unwrap();
//! let dir = std::env::temp_dir().join(format!("test-certs-doc-{}", std::process::id()));
//! let files = certs.write_to(&dir).unwrap();
//! // mcpmux-test-server --http 127.0.0.1:0 --tls-cert {files.cert} --tls-key {files.key};
//! // clients trust {files.ca}.
//! assert!(files.ca.exists() && files.cert.exists() && files.key.exists());
//! # std::fs::remove_dir_all(&dir).unwrap();
//! ```

use std::io;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// The names the server certificate is valid for.
pub const SERVER_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// A CA certificate and a server certificate (for [`SERVER_NAMES`]) signed by it, all PEM.
#[derive(Clone)]
pub struct TestCerts {
    /// The CA certificate: what a client must trust.
    pub ca_pem: String,
    /// The server certificate (`--tls-cert`).
    pub cert_pem: String,
    /// The server certificate's private key, PKCS#8 (`--tls-key`).
    pub key_pem: String,
}

impl std::fmt::Debug for TestCerts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCerts").finish_non_exhaustive()
    }
}

/// Where [`TestCerts::write_to`] put the files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCertFiles {
    /// `ca.pem`.
    pub ca: PathBuf,
    /// `cert.pem`.
    pub cert: PathBuf,
    /// `key.pem`.
    pub key: PathBuf,
}

impl TestCerts {
    /// A fresh CA ("mcpmux test CA") and a server certificate for [`SERVER_NAMES`] (ECDSA P-256).
    ///
    /// # Errors
    ///
    /// rcgen's error, as text (key generation or signing failed).
    pub fn generate() -> Result<TestCerts, String> {
        let err = |e: rcgen::Error| format!("generating a test certificate: {e}");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "mcpmux test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
        ];
        let ca_key = KeyPair::generate().map_err(err)?;
        let ca = ca_params.self_signed(&ca_key).map_err(err)?;
        let issuer = Issuer::new(ca_params, ca_key);

        let names: Vec<String> = SERVER_NAMES.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).map_err(err)?;
        params
            .distinguished_name
            .push(DnType::CommonName, "mcpmux test server");
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().map_err(err)?;
        let cert = params.signed_by(&key, &issuer).map_err(err)?;
        Ok(TestCerts {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Writes `ca.pem`, `cert.pem` and `key.pem` into `dir` (created if missing).
    ///
    /// # Errors
    ///
    /// The file system's.
    pub fn write_to(&self, dir: &Path) -> io::Result<TestCertFiles> {
        std::fs::create_dir_all(dir)?;
        let files = TestCertFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        std::fs::write(&files.ca, &self.ca_pem)?;
        std::fs::write(&files.cert, &self.cert_pem)?;
        std::fs::write(&files.key, &self.key_pem)?;
        Ok(files)
    }
}
