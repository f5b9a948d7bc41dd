//! HTTPS (`--tls-cert` / `--tls-key`): the certificate chain and key from PEM files, rustls with
//! the `ring` provider, ALPN `h2` then `http/1.1`.

use std::io;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The protocols offered in ALPN, most preferred first.
pub(crate) const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, message)
}

fn read(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot read the TLS {what} {}: {e}", path.display()),
        )
    })
}

/// The rustls server configuration for the certificate chain in `cert` (PEM, leaf first) and the
/// private key in `key` (PEM: PKCS#8, PKCS#1 or SEC1).
///
/// # Errors
///
/// `InvalidInput` naming the file when a file holds no certificate or no key, or when the key
/// does not belong to the certificate; the read error (naming the file) when a file cannot be
/// read.
pub(crate) fn server_config(cert: &Path, key: &Path) -> io::Result<Arc<rustls::ServerConfig>> {
    let pem = read(cert, "certificate")?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            invalid(format!(
                "{}: not a PEM certificate chain: {e}",
                cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(invalid(format!(
            "{}: no certificate found (expected PEM `BEGIN CERTIFICATE` blocks)",
            cert.display()
        )));
    }
    let key_pem = read(key, "key")?;
    let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        invalid(format!(
            "{}: no private key found (expected PEM PKCS#8, PKCS#1 or SEC1): {e}",
            key.display()
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| {
            invalid(format!(
                "the TLS certificate {} and key {} are not a usable pair: {e}",
                cert.display(),
                key.display()
            ))
        })?;
    config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn temp_dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "mcpmux-test-server-tls-{tag}-{}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_generated_pair_loads_with_alpn() {
        let dir = temp_dir("ok");
        let files = crate::test_certs::TestCerts::generate()
            .unwrap()
            .write_to(&dir)
            .unwrap();
        let config = server_config(&files.cert, &files.key).unwrap();
        assert_eq!(
            config.alpn_protocols,
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        );
        // A key that is not the certificate's.
        let other = crate::test_certs::TestCerts::generate().unwrap();
        let wrong = write(&dir, "other.pem", &other.key_pem);
        let err = server_config(&files.cert, &wrong).unwrap_err().to_string();
        assert!(err.contains("not a usable pair"), "{err}");
        // The key file given as the certificate.
        let err = server_config(&files.key, &files.key)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no certificate found"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_files_are_named() {
        let dir = temp_dir("bad");
        let garbage = write(&dir, "garbage.pem", "not pem at all\n");
        let missing = dir.join("missing.pem");
        let err = server_config(&missing, &garbage).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let err = server_config(&garbage, &garbage).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("no certificate found"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
