//! Mailing keepalived's alerts through `smtp_server` as keepalived does:
//! plain SMTP, no TLS, no authentication, `smtp_connect_timeout`, never
//! blocking the daemon (each mail is its own task; a failure is printed).

use haven_core::config::keepalived::GlobalDefs;
use haven_core::vrrp::Alert;
use lettre::message::header::ContentType;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::net::SocketAddr;
use std::time::Duration;

/// Where alerts go and from whom.
#[derive(Debug, Clone)]
pub(crate) struct Outbox {
    server: SocketAddr,
    from: String,
    to: Vec<String>,
    helo: String,
    timeout: Duration,
}

impl Outbox {
    /// The outbox of `global_defs`; `None` without `smtp_server` or
    /// `notification_email`.
    pub(crate) fn new(g: &GlobalDefs, hostname: &str) -> Option<Self> {
        let (ip, port) = g.smtp_server?;
        (!g.notification_email.is_empty()).then(|| Self {
            server: SocketAddr::new(ip, port),
            from: g
                .notification_email_from
                .clone()
                .unwrap_or_else(|| format!("keepalived@{hostname}")),
            to: g.notification_email.clone(),
            helo: g
                .smtp_helo_name
                .clone()
                .unwrap_or_else(|| hostname.to_owned()),
            timeout: Duration::from_nanos(g.smtp_connect_timeout.as_nanos()),
        })
    }

    /// Sends `alert` in the background.
    pub(crate) fn send(&self, alert: Alert) {
        let outbox = self.clone();
        tokio::spawn(async move {
            if let Err(e) = outbox.deliver(alert).await {
                crate::eprintln_whole!("haven: mail alert to {} failed: {e}", outbox.server);
            }
        });
    }

    async fn deliver(&self, alert: Alert) -> Result<(), String> {
        let mut message = Message::builder()
            .from(self.from.parse().map_err(|e| format!("from: {e}"))?)
            .subject(alert.subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            message = message.to(to.parse().map_err(|e| format!("{to}: {e}"))?);
        }
        let message = message.body(alert.body).map_err(|e| e.to_string())?;
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.server.ip().to_string())
                .port(self.server.port())
                .timeout(Some(self.timeout))
                .hello_name(ClientId::Domain(self.helo.clone()))
                .build();
        transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// A one-mail SMTP server on loopback: returns its address and the
    /// DATA it received.
    async fn smtp_server() -> (SocketAddr, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.expect("accept");
            let (read, mut write) = stream.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 test ESMTP\r\n").await.expect("greet");
            let mut data = String::new();
            let mut in_data = false;
            while let Ok(Some(line)) = lines.next_line().await {
                if in_data {
                    if line == "." {
                        in_data = false;
                        write.write_all(b"250 queued\r\n").await.expect("reply");
                    } else {
                        data.push_str(&line);
                        data.push('\n');
                    }
                    continue;
                }
                let reply: &[u8] = match line.get(..4).map(str::to_ascii_uppercase).as_deref() {
                    Some("DATA") => {
                        in_data = true;
                        b"354 go on\r\n"
                    }
                    Some("QUIT") => {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    }
                    _ => b"250 ok\r\n",
                };
                write.write_all(reply).await.expect("reply");
            }
            data
        });
        (addr, task)
    }

    // Input: an alert for HA_1 entering MASTER, global_defs naming a
    // loopback SMTP server and two recipients.
    // Output: one mail with keepalived's subject, both recipients and the
    // body, in UTF-8.
    #[tokio::test]
    async fn alerts_reach_the_smtp_server() {
        let (addr, received) = smtp_server().await;
        let g = GlobalDefs {
            smtp_server: Some((addr.ip(), addr.port())),
            notification_email: vec!["ops@example.com".into(), "oncall@example.com".into()],
            notification_email_from: Some("keepalived@example.com".into()),
            ..GlobalDefs::default()
        };
        let outbox = Outbox::new(&g, "lb1").expect("configured");
        let alert = Alert {
            subject: "[lb1] VRRP Instance HA_1 - Entering MASTER state".into(),
            body: "=> VRRP Instance is now owning VRRP VIPs <=\r\n".into(),
        };
        outbox.deliver(alert).await.expect("delivered");
        let data = received.await.expect("server");
        assert!(
            data.contains("Subject: [lb1] VRRP Instance HA_1 - Entering MASTER state"),
            "{data}"
        );
        assert!(data.contains("From: keepalived@example.com"), "{data}");
        assert!(
            data.contains("ops@example.com") && data.contains("oncall@example.com"),
            "{data}"
        );
        assert!(data.contains("now owning VRRP VIPs"), "{data}");
        assert!(Outbox::new(&GlobalDefs::default(), "lb1").is_none());
    }
}
