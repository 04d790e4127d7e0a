//! Binding the page to the loopback interface, writing the access file, and serving until shut
//! down. The only I/O of the page besides the ledger; what the routes do is in `routes`.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::link::PageLink;
use super::security::{self, Access, Secret};
use super::{WebState, routes};
use crate::clock::Clock;
use crate::config::Config;

/// What can stop the page from starting.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error(
        "cannot serve the answer page on 127.0.0.1:{port}: the port is taken (another nextstep, \
         or another program); set `[web] port` to a free port, or `port = 0` for any free one"
    )]
    PortTaken { port: u16 },
    #[error("cannot serve the answer page on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the page's access file {path}", path = path.display())]
    AccessFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A bound page, ready to serve.
pub struct WebServer {
    listener: TcpListener,
    state: Arc<WebState>,
    access: Access,
}

impl WebServer {
    /// Binds 127.0.0.1:`config.web.port` and writes the access file in `data_dir`.
    pub async fn bind(
        config: Config,
        data_dir: PathBuf,
        ledger_path: PathBuf,
        clock: Arc<dyn Clock>,
    ) -> Result<WebServer, WebError> {
        let port = config.web.port;
        let listener = TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
            .await
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::AddrInUse => WebError::PortTaken { port },
                _ => WebError::Bind { port, source },
            })?;
        let bound = listener
            .local_addr()
            .map_err(|source| WebError::Bind { port, source })?
            .port();
        let access_err = |source| WebError::AccessFile {
            path: Access::path(&data_dir),
            source,
        };
        let token = Access::token_for(&data_dir).map_err(access_err)?;
        let access = Access {
            url: format!("http://127.0.0.1:{bound}/"),
            token: token.clone(),
        };
        access.save(&data_dir).map_err(access_err)?;
        let state = Arc::new(WebState {
            config,
            data_dir,
            ledger_path,
            clock,
            token,
            csrf: Secret::random().map_err(|source| WebError::Bind { port, source })?,
            port: bound,
        });
        Ok(WebServer {
            listener,
            state,
            access,
        })
    }

    /// Where the page is, and its token.
    pub fn access(&self) -> &Access {
        &self.access
    }

    /// Serves until `shutdown` is cancelled.
    pub async fn serve(self, shutdown: CancellationToken) -> std::io::Result<()> {
        // The guard wraps the whole router (as the fallback of an outer one with no routes), not
        // its routes, so it runs before routing: a request with a foreign Host or no token never
        // learns which paths exist.
        let app = axum::Router::new()
            .fallback_service(routes::router(self.state.clone()))
            .layer(axum::middleware::from_fn_with_state(
                self.state.clone(),
                security::guard,
            ));
        tracing::info!(port = self.state.port, "answer page listening on 127.0.0.1");
        axum::serve(self.listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    }
}

/// The daemon's one call: when `[web] enabled`, binds and serves the page on `tracker` until
/// `shutdown`. A page that cannot start (a taken port) is logged with what to change, and the
/// daemon goes on without it: the prompts matter more than the page. `link` (the notifier's, when
/// it offers the page) knows the page's address while it is served, and only then.
pub fn spawn_for_daemon(
    config: &Config,
    data_dir: &Path,
    ledger_path: &Path,
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    tracker: &TaskTracker,
    link: Option<PageLink>,
) {
    if !config.web.enabled {
        return;
    }
    let (config, data_dir, ledger_path) =
        (config.clone(), data_dir.to_owned(), ledger_path.to_owned());
    tracker.spawn(async move {
        match WebServer::bind(config, data_dir, ledger_path, clock).await {
            Ok(server) => {
                if let Some(link) = &link {
                    link.serving(server.access().clone());
                }
                if let Err(e) = server.serve(shutdown).await {
                    tracing::error!("the answer page stopped: {e}");
                }
                if let Some(link) = &link {
                    link.stopped();
                }
            }
            Err(e) => tracing::error!("{:#}", anyhow::Error::from(e)),
        }
    });
}
