//! Upstream replies read with a bound: [`read_limited`], and [`Limited`] for the `oauth2`
//! crate's calls.

use super::MAX_REPLY;

/// Why an upstream reply could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The request or the reading failed (unreachable, refused by the guard, too slow).
    Http(reqwest::Error),
    /// The reply is longer than [`MAX_REPLY`] (declared, or found while reading).
    TooLarge,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Http(error) => write!(f, "{error}"),
            ReadError::TooLarge => write!(f, "the reply is larger than {MAX_REPLY} bytes"),
        }
    }
}

impl std::error::Error for ReadError {}

/// The body of `response`, read chunk by chunk up to [`MAX_REPLY`] bytes: a longer one
/// (declared, or found while reading) is refused as soon as it is known, and dropping the
/// response closes its connection; at most the limit and one chunk are held.
pub async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, ReadError> {
    if response.content_length().is_some_and(|n| n > MAX_REPLY as u64) {
        return Err(ReadError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(ReadError::Http)? {
        if body.len() + chunk.len() > MAX_REPLY {
            return Err(ReadError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The `oauth2` crate's HTTP client for the token endpoint: reqwest, with the reply read by
/// [`read_limited`] (the crate's own reqwest client reads it whole), and the crate's form body
/// sent as a JSON object of the same parameters where the provider asks for one.
pub struct Limited {
    /// The client.
    pub client: reqwest::Client,
    /// Whether the body goes as JSON ([`crate::providers::catalogue::TokenBody::Json`]).
    pub json: bool,
}

/// A form body (`a=1&b=2`) as the JSON object `{"a":"1","b":"2"}`.
pub fn form_as_json(form: &[u8]) -> Vec<u8> {
    let object: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(form).map(|(k, v)| (k.into_owned(), v.into_owned().into())).collect();
    serde_json::to_vec(&object).unwrap_or_default()
}

impl<'c> oauth2::AsyncHttpClient<'c> for Limited {
    type Error = ReadError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, ReadError>> + Send + 'c>,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = request;
            if self.json {
                let body = form_as_json(request.body());
                *request.body_mut() = body;
                request.headers_mut().insert(
                    oauth2::http::header::CONTENT_TYPE,
                    oauth2::http::HeaderValue::from_static("application/json"),
                );
            }
            let request = reqwest::Request::try_from(request).map_err(ReadError::Http)?;
            let response = self.client.execute(request).await.map_err(ReadError::Http)?;
            let (status, headers) = (response.status(), response.headers().clone());
            let mut reply = oauth2::HttpResponse::new(read_limited(response).await?);
            *reply.status_mut() = status;
            *reply.headers_mut() = headers;
            Ok(reply)
        })
    }
}
