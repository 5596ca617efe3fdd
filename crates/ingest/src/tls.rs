//! TLS for the syslog listener (RFC 5425): the server certificate, and
//! client certificates that identify sensors.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS listener's certificate and its policy on client certificates.
#[derive(Debug)]
pub struct TlsSettings {
    /// The server's certificate chain, leaf first.
    pub certificate_chain: Vec<CertificateDer<'static>>,
    /// The server certificate's private key.
    pub private_key: PrivateKeyDer<'static>,
    /// Whether senders present certificates, and who issues them.
    pub client_auth: ClientAuth,
}

impl Clone for TlsSettings {
    fn clone(&self) -> Self {
        TlsSettings {
            certificate_chain: self.certificate_chain.clone(),
            private_key: self.private_key.clone_key(),
            client_auth: self.client_auth.clone(),
        }
    }
}

/// Client certificates on the TLS listener.
#[derive(Debug, Clone, Default)]
pub enum ClientAuth {
    /// None asked for: senders are identified by their address.
    #[default]
    None,
    /// Asked for and verified against these CA certificates when presented;
    /// senders without one are identified by their address.
    Optional(Vec<CertificateDer<'static>>),
    /// Required, and verified against these CA certificates; the handshake
    /// fails without one.
    Required(Vec<CertificateDer<'static>>),
}

/// The TLS settings could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {reason}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A PEM file holds no certificate.
    #[error("{0} holds no certificate")]
    NoCertificate(PathBuf),
    /// rustls refused the certificate, key or CA set.
    #[error("invalid TLS configuration: {0}")]
    Config(String),
}

/// Reads every certificate in a PEM file.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certificates = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
        .map_err(|error| TlsError::Pem {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TlsError::NoCertificate(path.to_owned()));
    }
    Ok(certificates)
}

impl TlsSettings {
    /// The server certificate chain and key from PEM files, with no client
    /// certificates asked for.
    pub fn from_pem_files(certificate: &Path, key: &Path) -> Result<Self, TlsError> {
        let certificate_chain = read_certificates(certificate)?;
        let private_key = PrivateKeyDer::from_pem_file(key).map_err(|error| TlsError::Pem {
            path: key.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(TlsSettings {
            certificate_chain,
            private_key,
            client_auth: ClientAuth::None,
        })
    }

    /// The same with a client-certificate policy.
    pub fn with_client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.client_auth = client_auth;
        self
    }

    /// The rustls server configuration (ring provider).
    pub fn server_config(&self) -> Result<rustls::ServerConfig, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsError::Config(error.to_string()))?;
        let roots = |cas: &[CertificateDer<'static>]| -> Result<RootCertStore, TlsError> {
            let mut store = RootCertStore::empty();
            for ca in cas {
                store
                    .add(ca.clone())
                    .map_err(|error| TlsError::Config(format!("client CA: {error}")))?;
            }
            Ok(store)
        };
        let builder = match &self.client_auth {
            ClientAuth::None => builder.with_no_client_auth(),
            ClientAuth::Optional(cas) | ClientAuth::Required(cas) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots(cas)?), provider);
                let verifier = if matches!(self.client_auth, ClientAuth::Optional(_)) {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                let verifier = verifier
                    .build()
                    .map_err(|error| TlsError::Config(error.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
        };
        builder
            .with_single_cert(self.certificate_chain.clone(), self.private_key.clone_key())
            .map_err(|error| TlsError::Config(error.to_string()))
    }
}
