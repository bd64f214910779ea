//! AWS Signature Version 4 for one request: the canonical request, the string to sign,
//! the derived key, and the headers that carry the result.
//!
//! Built on RustCrypto's `hmac` and `sha2` (already in the workspace for the server)
//! rather than `aws-sigv4`, whose runtime-API dependency tree costs more to compile than
//! the whole algorithm is long; the AWS documentation's own example is the test.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::credentials::AwsCredentials;
use crate::budget::civil_from_days;

type HmacSha256 = Hmac<Sha256>;

/// What a signature covers. `path` and `query` are as sent on the wire (already
/// percent-encoded); `headers` are lower-case names with their values.
pub struct SigningInput<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub body: &'a [u8],
    pub region: &'a str,
    pub service: &'a str,
    pub time: SystemTime,
}

/// The headers to add to the request: `x-amz-date`, `x-amz-security-token` when the
/// credentials are temporary, and `authorization`.
pub fn sign(credentials: &AwsCredentials, input: &SigningInput<'_>) -> Vec<(&'static str, String)> {
    let stamp = amz_date(input.time);
    let date = &stamp[..8];
    let mut headers: Vec<(String, String)> = input
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    headers.push(("host".into(), input.host.to_owned()));
    headers.push(("x-amz-date".into(), stamp.clone()));
    if let Some(token) = &credentials.session_token {
        headers.push(("x-amz-security-token".into(), token.clone()));
    }
    headers.sort();
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let canonical_headers: String = headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let canonical_request = format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        input.method,
        canonical_uri(input.path),
        canonical_query(input.query),
        canonical_headers,
        signed_headers,
        hex::encode(Sha256::digest(input.body)),
    );
    let scope = format!("{date}/{}/{}/aws4_request", input.region, input.service);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{stamp}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [date, input.region, input.service, "aws4_request"]
        .iter()
        .fold(
            format!("AWS4{}", credentials.secret_access_key).into_bytes(),
            |key, part| hmac(&key, part.as_bytes()),
        );
    let signature = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    let mut out = vec![("x-amz-date", stamp)];
    if let Some(token) = &credentials.session_token {
        out.push(("x-amz-security-token", token.clone()));
    }
    out.push((
        "authorization",
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_headers}, Signature={signature}",
            credentials.access_key_id
        ),
    ));
    out
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC takes a key of any length, so `new_from_slice` cannot fail here.
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters (and `/` if asked).
pub fn uri_encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            b'/' if keep_slash => out.push('/'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Services other than S3 sign the path encoded once more than it is sent.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    uri_encode(path, true)
}

fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(&str, &str)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn amz_date(time: SystemTime) -> String {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The worked example of AWS's "Create a signed AWS API request" page (IAM ListUsers).
    #[test]
    fn matches_the_aws_documentation_example() {
        let credentials = AwsCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        // 2015-08-30T12:36:00Z
        let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
        let headers = sign(
            &credentials,
            &SigningInput {
                method: "GET",
                host: "iam.amazonaws.com",
                path: "/",
                query: "Version=2010-05-08&Action=ListUsers",
                headers: &[(
                    "content-type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                )],
                body: b"",
                region: "us-east-1",
                service: "iam",
                time,
            },
        );
        assert_eq!(headers[0], ("x-amz-date", "20150830T123600Z".to_owned()));
        assert_eq!(
            headers[1].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
    }

    #[test]
    fn model_ids_are_encoded_twice_in_the_canonical_path() {
        let sent = format!(
            "/model/{}/converse",
            uri_encode("anthropic.claude-v2:1", false)
        );
        assert_eq!(sent, "/model/anthropic.claude-v2%3A1/converse");
        assert_eq!(
            canonical_uri(&sent),
            "/model/anthropic.claude-v2%253A1/converse"
        );
        let leap_day = UNIX_EPOCH + Duration::from_secs(19_782 * 86_400 + 3_723);
        assert_eq!(amz_date(leap_day), "20240229T010203Z");
    }
}
