//! AWS Signature Version 4 checked as AWS checks it: the `Authorization` header's credential
//! scope and signed headers are read, the request is signed again with AWS's own signer from the
//! known secret ([`crate::CLIENT_SECRET`]) at the `X-Amz-Date` it names, and the two signatures
//! must be equal (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>).

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use axum::http::{HeaderMap, Method, Uri};
use std::time::{Duration, SystemTime};

/// Whether the request carries a valid signature for the signing name `service`, by an access
/// key (any id) whose secret is [`crate::CLIENT_SECRET`].
pub fn verify(method: &Method, uri: &Uri, headers: &HeaderMap, service: &str) -> bool {
    recomputed(method, uri, headers, service).unwrap_or(false)
}

fn recomputed(method: &Method, uri: &Uri, headers: &HeaderMap, service: &str) -> Option<bool> {
    let header = |name: &str| headers.get(name)?.to_str().ok();
    let authorization = header("authorization")?.strip_prefix("AWS4-HMAC-SHA256 ")?;
    let part = |key: &str| {
        authorization.split(',').map(str::trim).find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
    };
    // Credential=<key id>/<date>/<region>/<service>/aws4_request
    let scope: Vec<&str> = part("Credential")?.split('/').collect();
    let [access_key_id, _, region, signed_service, "aws4_request"] = scope[..] else { return None };
    if signed_service != service {
        return Some(false);
    }
    let signed: Vec<&str> = part("SignedHeaders")?.split(';').collect();
    let time = amz_date(header("x-amz-date")?)?;
    let body = match header("x-amz-content-sha256") {
        Some("UNSIGNED-PAYLOAD") => SignableBody::UnsignedPayload,
        Some(hash) => SignableBody::Precomputed(hash.to_owned()),
        None => SignableBody::empty(),
    };
    // The signer adds these itself, from the time and the body.
    let regenerated = ["host", "x-amz-date", "x-amz-content-sha256", "authorization"];
    let others: Vec<(&str, &str)> = signed
        .iter()
        .filter(|name| !regenerated.contains(name))
        .map(|name| Some((*name, header(name)?)))
        .collect::<Option<_>>()?;
    let url = format!("http://{}{}", header("host")?, uri.path_and_query()?.as_str());
    let mut settings = SigningSettings::default();
    if service == "s3" {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let identity = Credentials::new(access_key_id, crate::CLIENT_SECRET, None, None, "simulator").into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .ok()?
        .into();
    let signable = SignableRequest::new(method.as_str(), &url, others.into_iter(), body).ok()?;
    let (_, signature) = sign(signable, &params).ok()?.into_parts();
    Some(part("Signature")? == signature)
}

/// `X-Amz-Date` (`20130524T000000Z`, UTC) as a time.
fn amz_date(text: &str) -> Option<SystemTime> {
    let digits = |range: std::ops::Range<usize>| text.get(range)?.parse::<i64>().ok();
    if text.len() != 16 || &text[8..9] != "T" || !text.ends_with('Z') {
        return None;
    }
    let (year, month, day) = (digits(0..4)?, digits(4..6)?, digits(6..8)?);
    let seconds = digits(9..11)? * 3600 + digits(11..13)? * 60 + digits(13..15)?;
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let total = u64::try_from(days * 86_400 + seconds).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    #[test]
    fn amz_dates_read_as_utc() {
        let at = super::amz_date("20130524T000000Z").unwrap();
        assert_eq!(at.duration_since(std::time::SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_369_353_600);
        assert!(super::amz_date("2013-05-24").is_none());
    }
}
