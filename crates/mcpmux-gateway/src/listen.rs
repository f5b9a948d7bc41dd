//! Binding the HTTP listener with room for a burst of connections.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpSocket};

/// The accept queue asked of the kernel (Linux caps it at `net.core.somaxconn`).
///
/// tokio's `TcpListener::bind` gets the standard library's 128 (measured here: 129 handshakes
/// complete while nothing accepts). A few hundred clients connecting at once (an agent fleet
/// starting, a pool refilling after the gateway restarted) overflow that queue; the kernel then
/// drops their SYNs and each client waits 1 s, 3 s, 7 s … before trying again, long enough to
/// hit a client's connect timeout under load.
pub const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` for [`Gateway::serve_http`](crate::Gateway::serve_http) with an accept queue of
/// [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `TcpListener::bind` sets it on Unix).
///
/// Call it inside a tokio runtime (the socket registers with its reactor).
///
/// # Errors
///
/// The address cannot be bound (in use, not local, no permission).
///
/// # Examples
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// let listener = mcpmux_gateway::listen("127.0.0.1:0".parse().unwrap())?;
/// println!("bound {}", listener.local_addr()?);
/// # Ok(()) }
/// ```
pub fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// 1,500 connections complete their handshake while nothing accepts them; with
    /// `TcpListener::bind` 129 do and the rest hang in SYN retries.
    #[tokio::test]
    async fn the_accept_queue_holds_a_burst_of_1500() {
        let somaxconn = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .unwrap_or(LISTEN_BACKLOG);
        assert!(
            somaxconn >= 2048,
            "net.core.somaxconn is {somaxconn}: the kernel caps the accept queue below this test's burst"
        );
        let listener = listen("127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        let connects = (0..1_500).map(|_| {
            tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
        });
        let results = futures_util::future::join_all(connects).await;
        let done = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
        assert_eq!(done, 1_500, "connections that completed without an accept");
        drop(listener);
    }
}
