//! AWS Signature Version 4 for the requests the gateway sends to Bedrock.
//!
//! In Rust by measurement: botocore's `SigV4Auth.add_auth` took 57 us per request here (a 600-
//! byte body), above the gateway's 20 us budget for signing; this takes 1.5 us
//! (`benches/core_bedrock.py`).
//! It signs what botocore signs for a Bedrock request and the result is checked against
//! botocore's in the tests. The derived signing key depends only on the day, the region and the
//! service: it is cached per signer (one per set of credentials) and made again at midnight UTC.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use sha2::{Digest, Sha256};
use std::fmt::Write as _;
use std::sync::Mutex;

const BLOCK: usize = 64;

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    inner.update(data);
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// `write!` per byte was a visible share of a signature (three 32-byte digests per request).
fn push_hex(out: &mut String, bytes: &[u8]) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
}

#[cfg(test)]
fn hex(bytes: &[u8]) -> String {
    let mut out = String::new();
    push_hex(&mut out, bytes);
    out
}

/// The canonical URI of an already percent-encoded path, as botocore writes it for every
/// service but S3: encoded once more (`%` -> `%25`), `/` and unreserved characters kept.
pub fn canonical_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    for &b in path.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

pub struct Signer {
    pub access_key: String,
    secret_key: String,
    pub region: String,
    pub service: String,
    /// (YYYYMMDD, signing key)
    key: Mutex<Option<(String, [u8; 32])>>,
}

impl Signer {
    pub fn new(access_key: &str, secret_key: &str, region: &str, service: &str) -> Self {
        Signer {
            access_key: access_key.to_owned(),
            secret_key: secret_key.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            key: Mutex::new(None),
        }
    }

    fn signing_key(&self, day: &str) -> [u8; 32] {
        let mut cached = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((d, key)) = cached.as_ref() {
            if d == day {
                return *key;
            }
        }
        let secret = format!("AWS4{}", self.secret_key);
        let k = hmac_sha256(secret.as_bytes(), day.as_bytes());
        let k = hmac_sha256(&k, self.region.as_bytes());
        let k = hmac_sha256(&k, self.service.as_bytes());
        let k = hmac_sha256(&k, b"aws4_request");
        *cached = Some((day.to_owned(), k));
        k
    }

    /// The `Authorization` header of a request. `headers` are the signed ones (lower-case
    /// names, any order; `host` and `x-amz-date` among them), `amz_date` is `YYYYMMDDTHHMMSSZ`.
    pub fn authorization(
        &self,
        method: &str,
        path: &str,
        query: &str,
        headers: &[(String, String)],
        body: &[u8],
        amz_date: &str,
    ) -> String {
        let mut sorted: Vec<&(String, String)> = headers.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut canonical = String::with_capacity(512);
        canonical.push_str(method);
        canonical.push('\n');
        canonical.push_str(&canonical_uri(path));
        canonical.push('\n');
        canonical.push_str(query);
        canonical.push('\n');
        let mut signed = String::with_capacity(64);
        for (name, value) in &sorted {
            canonical.push_str(name);
            canonical.push(':');
            // Values trimmed, inner runs of spaces folded to one, as the specification says.
            for (i, word) in value.split_whitespace().enumerate() {
                if i > 0 {
                    canonical.push(' ');
                }
                canonical.push_str(word);
            }
            canonical.push('\n');
            if !signed.is_empty() {
                signed.push(';');
            }
            signed.push_str(name);
        }
        canonical.push('\n');
        canonical.push_str(&signed);
        canonical.push('\n');
        push_hex(&mut canonical, &Sha256::digest(body));
        let day = amz_date.get(..8).unwrap_or(amz_date);
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let mut to_sign = String::with_capacity(160);
        to_sign.push_str("AWS4-HMAC-SHA256\n");
        to_sign.push_str(amz_date);
        to_sign.push('\n');
        to_sign.push_str(&scope);
        to_sign.push('\n');
        push_hex(&mut to_sign, &Sha256::digest(canonical.as_bytes()));
        let mut out = String::with_capacity(200);
        out.push_str("AWS4-HMAC-SHA256 Credential=");
        out.push_str(&self.access_key);
        out.push('/');
        out.push_str(&scope);
        out.push_str(", SignedHeaders=");
        out.push_str(&signed);
        out.push_str(", Signature=");
        push_hex(
            &mut out,
            &hmac_sha256(&self.signing_key(day), to_sign.as_bytes()),
        );
        out
    }
}

// ---- Python wrappers -------------------------------------------------------------------------

/// Bodies above this are hashed with the GIL released.
const DETACH_THRESHOLD: usize = 64 * 1024;

#[pyclass(name = "SigV4Signer", module = "palisade._core", frozen)]
pub struct PySigV4Signer {
    inner: Signer,
}

#[pymethods]
impl PySigV4Signer {
    #[new]
    fn new(access_key: &str, secret_key: &str, region: &str, service: &str) -> Self {
        PySigV4Signer {
            inner: Signer::new(access_key, secret_key, region, service),
        }
    }

    #[getter]
    fn access_key(&self) -> &str {
        &self.inner.access_key
    }

    #[allow(clippy::too_many_arguments)] // the request's parts, as the Python side holds them
    fn authorization(
        &self,
        py: Python<'_>,
        method: &str,
        path: &str,
        query: &str,
        headers: Vec<(String, String)>,
        body: &Bound<'_, PyBytes>,
        amz_date: &str,
    ) -> String {
        let bytes = body.as_bytes();
        if bytes.len() >= DETACH_THRESHOLD {
            py.detach(|| {
                self.inner
                    .authorization(method, path, query, &headers, bytes, amz_date)
            })
        } else {
            self.inner
                .authorization(method, path, query, &headers, bytes, amz_date)
        }
    }

    fn __repr__(&self) -> String {
        // Never the secret.
        format!(
            "SigV4Signer(access_key={:?}, region={:?}, service={:?})",
            self.inner.access_key, self.inner.region, self.inner.service
        )
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySigV4Signer>()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn long_keys_are_hashed_first() {
        // RFC 4231 case 6.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn canonical_uri_encodes_again() {
        assert_eq!(
            canonical_uri("/model/a.b-v1%3A0/converse"),
            "/model/a.b-v1%253A0/converse"
        );
        assert_eq!(canonical_uri(""), "/");
    }

    #[test]
    fn aws_documentation_example() {
        // The GET example of the SigV4 documentation (IAM ListUsers), whose signature AWS
        // publishes: 5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7.
        let signer = Signer::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "us-east-1",
            "iam",
        );
        let headers = vec![
            (
                "content-type".to_owned(),
                "application/x-www-form-urlencoded; charset=utf-8".to_owned(),
            ),
            ("host".to_owned(), "iam.amazonaws.com".to_owned()),
            ("x-amz-date".to_owned(), "20150830T123600Z".to_owned()),
        ];
        let auth = signer.authorization(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            b"",
            "20150830T123600Z",
        );
        assert!(auth.ends_with(
            "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        ));
        assert!(auth.contains("SignedHeaders=content-type;host;x-amz-date,"));
    }
}
