//! TLS for the `tls-port` listener: the server certificate and key
//! (`tls-cert-file`, `tls-key-file`, PEM), and client certificates checked
//! against `tls-ca-cert-file` when `tls-auth-clients` is `yes` or
//! `optional`. rustls with the ring provider (TLS 1.2 and 1.3).

use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio_rustls::TlsAcceptor;

use crate::config::{Config, TlsAuthClients};

fn read(path: &str, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {path}: {e}"))
}

fn certificates(path: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem = read(path, what)?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("bad PEM in {what} {path}: {e}"))?;
    if certs.is_empty() {
        return Err(format!("no certificate in {what} {path}"));
    }
    Ok(certs)
}

/// The acceptor for the TLS port, from the configured files.
pub fn acceptor(config: &Config) -> Result<TlsAcceptor, String> {
    let cert_file = config
        .tls_cert_file
        .as_deref()
        .ok_or("'tls-port' needs 'tls-cert-file'")?;
    let key_file = config
        .tls_key_file
        .as_deref()
        .ok_or("'tls-port' needs 'tls-key-file'")?;
    let certs = certificates(cert_file, "tls-cert-file")?;
    let key = PrivateKeyDer::from_pem_slice(&read(key_file, "tls-key-file")?)
        .map_err(|e| format!("no private key in tls-key-file {key_file}: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let builder = match (config.tls_auth_clients, &config.tls_ca_cert_file) {
        (TlsAuthClients::No, _) | (_, None) => builder.with_no_client_auth(),
        (auth, Some(ca)) => {
            let mut roots = RootCertStore::empty();
            for c in certificates(ca, "tls-ca-cert-file")? {
                roots
                    .add(c)
                    .map_err(|e| format!("bad CA certificate in {ca}: {e}"))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if auth == TlsAuthClients::Optional {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            builder.with_client_cert_verifier(
                verifier
                    .build()
                    .map_err(|e| format!("TLS client verifier: {e}"))?,
            )
        }
    };
    let mut server = builder
        .with_single_cert(certs, key)
        .map_err(|e| format!("tls-cert-file and tls-key-file do not make a key pair: {e}"))?;
    server.alpn_protocols.clear();
    Ok(TlsAcceptor::from(Arc::new(server)))
}
