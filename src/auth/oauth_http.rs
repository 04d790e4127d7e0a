//! The `oauth2` crate's HTTP hook served by the process's one reqwest client, so the build keeps one
//! HTTP stack, and the mapping of a failed token request to an [`AuthError`] that carries neither a
//! body nor a token.

use std::time::Duration;

use oauth2::basic::BasicErrorResponseType;
use oauth2::{AsyncHttpClient, HttpRequest, HttpResponse, RequestTokenError};

use super::{AuthError, Provider};

/// Every token request gets this long.
pub const TOKEN_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// oauth2's HTTP hook, served by the process's reqwest client.
#[derive(Debug, Clone)]
pub struct OAuthHttp(pub reqwest::Client);

/// A transport failure, described without the URL (a token request carries no secret in its URL,
/// but redirects could) and without the body.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct OAuthHttpError(pub String);

impl<'c> AsyncHttpClient<'c> for OAuthHttp {
    type Error = OAuthHttpError;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<HttpResponse, Self::Error>> + Send + 'c>,
    >;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut req: reqwest::Request = request
                .try_into()
                .map_err(|e: reqwest::Error| OAuthHttpError(e.without_url().to_string()))?;
            *req.timeout_mut() = Some(TOKEN_REQUEST_TIMEOUT);
            let resp = self
                .0
                .execute(req)
                .await
                .map_err(|e| OAuthHttpError(crate::http::describe(e)))?;
            let mut builder = oauth2::http::Response::builder().status(resp.status());
            for (name, value) in resp.headers() {
                builder = builder.header(name, value);
            }
            let body = resp
                .bytes()
                .await
                .map_err(|e| OAuthHttpError(crate::http::describe(e)))?;
            builder
                .body(body.to_vec())
                .map_err(|e| OAuthHttpError(e.to_string()))
        })
    }
}

/// Maps an oauth2 token-request failure to an [`AuthError`] without any body or token.
pub fn token_error(
    provider: &'static Provider,
    source_name: &str,
    url: &url::Url,
    e: RequestTokenError<OAuthHttpError, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> AuthError {
    match e {
        RequestTokenError::ServerResponse(r) => AuthError::Refused {
            provider,
            source_name: source_name.to_string(),
            error: r.error().as_ref().to_string(),
            description: r.error_description().cloned(),
        },
        RequestTokenError::Request(e) => AuthError::Network {
            provider,
            url: url.to_string(),
            detail: e.0,
        },
        // The raw body in `Parse` may hold tokens: only the parser's position goes out.
        RequestTokenError::Parse(e, _) => AuthError::Protocol {
            provider,
            url: url.to_string(),
            detail: format!("not a token response at {}", e.path()),
        },
        RequestTokenError::Other(s) => AuthError::Protocol {
            provider,
            url: url.to_string(),
            detail: s,
        },
    }
}
