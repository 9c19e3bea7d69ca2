//! A shaping TCP proxy: an emulated 2G link between the device and the server.
//!
//! Why not `tc netem`: this machine's kernel has no `sch_netem` (`tc qdisc add … netem` answers
//! "Specified qdisc kind is unknown"; `tbf` exists but adds no delay), and modules cannot be
//! loaded. So the link is emulated here, in user space, between two sockets on 127.0.0.1.
//!
//! Each direction is one link shared by every connection, as the radio link is: bytes go
//! through it one after another at `rate`, each read of up to one segment (1,460 bytes)
//! costing `overhead` bytes more (the IPv4 and TCP headers a real link carries), and arrive
//! `delay` after they were sent. A direction's queue holds at most `queue` of transmission
//! time; beyond it the proxy stops reading that connection, so the sender's TCP stalls as it
//! would behind a full router buffer. Not modelled: the TCP handshake's round trip when a
//! connection opens (a handful of connections per sync), TCP's own acknowledgements (they go
//! the other way, on an idle link), TLS records (the benchmark speaks plain HTTP), losses.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// Most payload bytes of one TCP segment on a 1,500-byte MTU.
const SEGMENT: usize = 1460;

/// One direction of the link.
pub struct Link {
    /// Bytes per second.
    rate: f64,
    delay: Duration,
    overhead: u64,
    queue: Duration,
    /// When the link finishes sending what it was given so far.
    free_at: Mutex<Instant>,
    /// Payload bytes carried.
    pub payload: AtomicU64,
    /// Bytes on the wire: payload plus the headers of each segment.
    pub wire: AtomicU64,
}

impl Link {
    /// A link of `kbit_per_s` (1,000 bits) with a one-way `delay`.
    pub fn new(kbit_per_s: f64, delay: Duration, overhead: u64) -> Arc<Link> {
        Arc::new(Link {
            rate: kbit_per_s * 1000.0 / 8.0,
            delay,
            overhead,
            queue: Duration::from_secs(2),
            free_at: Mutex::new(Instant::now()),
            payload: AtomicU64::new(0),
            wire: AtomicU64::new(0),
        })
    }

    /// Bytes per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Takes `n` payload bytes onto the link: waits while the queue is full, then returns when
    /// they arrive at the other end.
    fn send(&self, n: usize) -> Instant {
        let on_wire = n as u64 + self.overhead * n.div_ceil(SEGMENT) as u64;
        loop {
            let mut free_at = self.free_at.lock().unwrap();
            let now = Instant::now();
            let backlog = free_at.saturating_duration_since(now);
            if backlog > self.queue {
                drop(free_at);
                std::thread::sleep(backlog - self.queue);
                continue;
            }
            let start = (*free_at).max(now);
            let done = start + Duration::from_secs_f64(on_wire as f64 / self.rate);
            *free_at = done;
            self.payload.fetch_add(n as u64, Ordering::SeqCst);
            self.wire.fetch_add(on_wire, Ordering::SeqCst);
            return done + self.delay;
        }
    }
}

/// The proxy: listens on 127.0.0.1, forwards to `upstream` through the two links.
pub struct Shaper {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl Shaper {
    /// Starts the proxy.
    pub fn start(upstream: SocketAddr, up: Arc<Link>, down: Arc<Link>) -> Shaper {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    up.clone(),
                );
                pipe(server, client, down.clone());
            }
        });
        Shaper {
            base: format!("http://{addr}"),
            addr,
            stop,
        }
    }
}

impl Drop for Shaper {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Carries `from` → `to` over `link`: a reader that puts segments on the link, a writer that
/// delivers each when it arrives.
fn pipe(mut from: TcpStream, mut to: TcpStream, link: Arc<Link>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = [0u8; SEGMENT];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let arrives = link.send(n);
            if tx.send((arrives, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Read);
    });
    std::thread::spawn(move || {
        for (arrives, bytes) in rx {
            let now = Instant::now();
            if arrives > now {
                std::thread::sleep(arrives - now);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
