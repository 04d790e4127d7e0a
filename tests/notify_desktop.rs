mod support;

use std::time::Duration;

use support::dbus::PrivateBus;
use support::notifications::FakeNotificationServer;

#[tokio::test]
async fn the_fake_server_records_a_notification_and_reports_its_capabilities() {
    let bus = PrivateBus::start();
    let server = FakeNotificationServer::start(bus.address()).await;
    let conn = zbus::connection::Builder::address(bus.address())
        .build()
        .await
        .unwrap();
    let stats = zbus::fdo::StatsProxy::new(&conn).await.unwrap();
    let me = conn.unique_name().unwrap().to_owned();
    let s = stats.get_connection_stats(me.clone().into()).await.unwrap();
    assert_eq!(
        s.match_rules(),
        Some(0),
        "a fresh connection listens to nothing"
    );
    let caps: Vec<String> = conn
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "GetCapabilities",
            &(),
        )
        .await
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    assert!(caps.contains(&"actions".to_string()));
    let hints: std::collections::HashMap<&str, zbus::Variant<'_>> =
        [("resident", zbus::Variant::from(true))]
            .into_iter()
            .collect();
    let id: u32 = conn
        .call_method(
            Some("org.freedesktop.Notifications"),
            "/org/freedesktop/Notifications",
            Some("org.freedesktop.Notifications"),
            "Notify",
            &(
                "app",
                0u32,
                "",
                "sum",
                "body",
                vec!["a", "A"],
                hints,
                5000i32,
            ),
        )
        .await
        .unwrap()
        .body()
        .deserialize()
        .unwrap();
    let n = server
        .next_notification(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(n.id, id);
    assert_eq!(n.hints.get("resident").map(String::as_str), Some("true"));
}
