//! AWS Signature Version 4 (Amazon S3's, and every AWS API's, request authentication), by AWS's
//! own signer (the `aws-sigv4` crate): the request's method, URL and headers are signed with the
//! account's secret access key, for its region and the service, and the signature is added as
//! `Authorization`, `X-Amz-Date` and `X-Amz-Content-SHA256` headers. The body is not read
//! (`UNSIGNED-PAYLOAD`), so a streamed body stays streamed; S3 takes that over HTTPS
//! (<https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html>).

use super::UpstreamError;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use std::time::SystemTime;

/// An AWS access key and where it signs.
pub struct AwsKey<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret: &'a str,
    /// The region (`us-east-1`).
    pub region: &'a str,
    /// The signing name of the service (`s3`).
    pub service: &'a str,
}

/// Signs `request` (its method, URL and headers; an unsigned payload) with `key`, now.
pub fn sign_request(request: &mut reqwest::Request, key: &AwsKey<'_>) -> Result<(), UpstreamError> {
    let identity = Credentials::new(key.access_key_id, key.secret, None, None, "account credential").into();
    let mut settings = SigningSettings::default();
    if key.service == "s3" {
        // S3 signs the path as sent (no normalization, no second encoding) and needs the
        // payload's hash header.
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(key.region)
        .name(key.service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|_| unsigned())?
        .into();
    let headers: Vec<(&str, &str)> = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let url = request.url().to_string();
    let signable = SignableRequest::new(
        request.method().as_str(),
        &url,
        headers.into_iter(),
        SignableBody::UnsignedPayload,
    )
    .map_err(|_| unsigned())?;
    let (instructions, _) = sign(signable, &params).map_err(|_| unsigned())?.into_parts();
    let (headers, _) = instructions.into_parts();
    for header in headers {
        let value = reqwest::header::HeaderValue::from_str(header.value()).map_err(|_| unsigned())?;
        request.headers_mut().insert(header.name(), value);
    }
    Ok(())
}

fn unsigned() -> UpstreamError {
    UpstreamError::new("server_error", "The request to the service could not be signed.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_is_signed_for_its_region_and_service_without_reading_the_body() {
        let url = "https://s3.eu-west-3.amazonaws.com/".parse().unwrap();
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        let key =
            AwsKey { access_key_id: "AKIDEXAMPLE", secret: "s3cr3t", region: "eu-west-3", service: "s3" };
        sign_request(&mut request, &key).unwrap();
        let header = |name: &str| request.headers()[name].to_str().unwrap().to_owned();
        let authorization = header("authorization");
        assert!(authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{authorization}");
        assert!(authorization.contains("/eu-west-3/s3/aws4_request"), "{authorization}");
        assert!(!authorization.contains("s3cr3t"));
        assert_eq!(header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
        assert_eq!(header("x-amz-date").len(), 16);
    }
}
