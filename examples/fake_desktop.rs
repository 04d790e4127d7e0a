//! A stand-in desktop for the idle benchmark (`DESKTOP=fake scripts/bench-idle.sh`): a private
//! D-Bus session bus with the tests' fake notification server on it, so the measured daemon holds
//! a live bus connection and a shown prompt, as it would on a real desktop.
//!
//! Prints the bus address on stdout, then runs until its stdin closes.

#[allow(dead_code)]
#[path = "../tests/it/support/dbus.rs"]
mod dbus;
#[allow(dead_code)]
#[path = "../tests/it/support/notifications.rs"]
mod notifications;

use std::io::{Read as _, Write as _};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let bus = dbus::PrivateBus::start();
    let server = runtime.block_on(notifications::FakeNotificationServer::start(bus.address()));
    println!("{}", bus.address());
    let _ = std::io::stdout().flush();
    // The server answers on the runtime's thread while this one waits for the end of stdin.
    let shown = runtime.block_on(async {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let _ = std::io::stdin().read_to_end(&mut Vec::new());
            let _ = done_tx.send(());
        });
        let _ = done_rx.await;
        server.recorded().len()
    });
    eprintln!("fake desktop: {shown} notifications shown");
}
