//! The tcp check: a connect, closed at once. The caller bounds it with the timeout.

use vipd_node::config::HostPort;
use vipd_node::CheckResult;

pub(super) async fn connect(t: &HostPort) -> CheckResult {
    match tokio::net::TcpStream::connect((t.host.as_str(), t.port)).await {
        Ok(_) => CheckResult::Connected,
        Err(e) => CheckResult::Error(format!("connect to {t}: {e}")),
    }
}
