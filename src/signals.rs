//! How a foreground process learns it should stop or reload: SIGTERM (systemd, launchd) and SIGINT
//! (Ctrl-C) both cancel one token, which `run` and `demo` hand to the daemon; SIGHUP (`systemctl
//! --user reload nextstep`, `nextstep reload`) asks `run` to re-read its config. Its own module so
//! the command line and the demo share it without importing each other.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first SIGTERM or SIGINT. Must be called inside a tokio runtime.
pub fn shutdown_on_signals() -> CancellationToken {
    let token = CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("cannot listen for SIGTERM: {e}");
                    let _ = tokio::signal::ctrl_c().await;
                    t.cancel();
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT"),
        }
        t.cancel();
    });
    token
}

/// SIGHUPs, from now on. Installing it replaces the default action (the process would end), so
/// `run` calls it before anything else. Must be called inside a tokio runtime.
pub fn hangups() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
}
