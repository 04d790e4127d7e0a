//! The one HTTP client of the process: reqwest on rustls (ring), with timeouts, no cookies, and a
//! user agent that names us. Plain HTTP is refused by the sources for anything but loopback unless
//! the user allowed it (see `config`).

use std::time::Duration;

/// Builds a client. `follow_redirects = false` is for WebDAV, which must not follow a redirect to
/// another origin with the user's credentials (the CalDAV source follows same-origin ones itself).
pub fn client(follow_redirects: bool) -> Result<reqwest::Client, reqwest::Error> {
    // Installing the provider twice is harmless (the second call returns Err and changes nothing);
    // it must happen before the first client is built because reqwest is built without a default.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let redirect = if follow_redirects {
        reqwest::redirect::Policy::limited(5)
    } else {
        reqwest::redirect::Policy::none()
    };
    reqwest::Client::builder()
        .user_agent(concat!("nextstep/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(60))
        .pool_idle_timeout(Duration::from_secs(90))
        .redirect(redirect)
        .build()
}
