//! What the fakes of Google (`support::google`) and Microsoft (`support::microsoft`) share: a
//! signed-in home without the sign-in (a refresh token the fake granted, written where
//! `nextstep auth` would keep it), for tests about polling rather than signing in.
//!
//! Tests that are about the sign-in itself drive `nextstep auth google` or `nextstep auth
//! microsoft` instead (`google_daemon.rs`, `support::microsoft::cli`).

use nextstep::auth::Provider;
use nextstep::auth::TokenStoreChoice;
use nextstep::auth::store::TokenStore;
use nextstep::secret::Secret;

use super::daemon::Home;

/// Keeps `refresh` as the refresh token of source `source_name` of `provider` in `home`'s token
/// file (never a keyring), as a finished `nextstep auth` would; the first poll refreshes the access
/// token with it.
pub async fn signed_in(home: &Home, provider: &'static Provider, source_name: &str, refresh: &str) {
    let store = TokenStore::new(
        provider,
        &home.data_dir(),
        source_name,
        TokenStoreChoice::File,
    );
    store
        .save(&Secret::new(refresh), None)
        .await
        .expect("the token file is written");
}
