//! Datagrams received and answers sent many to a system call
//! (`recvmmsg(2)`, `sendmmsg(2)`), for the UDP workers. Under load a
//! worker finds several queries waiting: it takes up to [`BATCH`] of them
//! at once and sends their answers at once, two system calls where one
//! datagram at a time took two per query.
//!
//! Written on `libc` because neither socket2 nor tokio has these calls,
//! and nix's `sendmmsg` results cannot be counted without reading address
//! slots it never initialised.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

use socket2::{SockAddr, SockAddrStorage};

/// Most datagrams received, or answers sent, in one system call.
pub const BATCH: usize = 32;

/// Room for [`BATCH`] datagrams of up to `size` bytes each, and where
/// each came from.
pub struct Received {
    size: usize,
    buffer: Vec<u8>,
    iovecs: Vec<libc::iovec>,
    addresses: Vec<libc::sockaddr_storage>,
    headers: Vec<libc::mmsghdr>,
    count: usize,
}

impl Received {
    /// Room for [`BATCH`] datagrams of up to `size` bytes; a longer one is
    /// cut short.
    pub fn new(size: usize) -> Self {
        Self {
            size,
            buffer: vec![0; size * BATCH],
            // SAFETY: all zeros is a valid iovec, sockaddr_storage and
            // mmsghdr (null pointers, zero lengths); `receive` points
            // them at the buffers before the kernel reads them.
            iovecs: vec![unsafe { std::mem::zeroed() }; BATCH],
            addresses: vec![unsafe { std::mem::zeroed() }; BATCH],
            headers: vec![unsafe { std::mem::zeroed() }; BATCH],
            count: 0,
        }
    }

    /// Waits for at least one datagram on `socket` (as long as the
    /// socket's read timeout allows), then takes as many more as are
    /// waiting, up to [`BATCH`]; how many it took.
    pub fn receive(&mut self, socket: BorrowedFd<'_>) -> io::Result<usize> {
        self.count = 0;
        let chunks = self.buffer.chunks_exact_mut(self.size);
        for (((chunk, iovec), address), header) in chunks
            .zip(&mut self.iovecs)
            .zip(&mut self.addresses)
            .zip(&mut self.headers)
        {
            point(
                header,
                iovec,
                (chunk.as_mut_ptr(), chunk.len()),
                (
                    std::ptr::from_mut(address).cast(),
                    size_of::<libc::sockaddr_storage>() as libc::socklen_t,
                ),
            );
        }
        // SAFETY: every header points at its own iovec and address slot,
        // and every iovec at its own `size` bytes of `buffer`, all owned
        // by `self` and borrowed mutably for the call; the kernel writes
        // at most `iov_len` and `msg_namelen` bytes into them.
        let received = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                self.headers.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        let received = usize::try_from(received).map_err(|_| io::Error::last_os_error())?;
        self.count = received.min(BATCH);
        Ok(self.count)
    }

    /// The `index`th datagram of the last [`Received::receive`], and who
    /// sent it; `None` past the last or from an address that is not IP.
    pub fn get(&self, index: usize) -> Option<(&[u8], SocketAddr)> {
        if index >= self.count {
            return None;
        }
        let header = self.headers.get(index)?;
        let length = (header.msg_len as usize).min(self.size);
        let datagram = self.buffer.get(index * self.size..)?.get(..length)?;
        let mut storage = SockAddrStorage::zeroed();
        // SAFETY: `sockaddr_storage` is one of this platform's address
        // types, and the kernel wrote `msg_namelen` bytes of it, which
        // `SockAddr` reads no further than.
        let peer = unsafe {
            *storage.view_as::<libc::sockaddr_storage>() = *self.addresses.get(index)?;
            SockAddr::new(storage, header.msg_hdr.msg_namelen)
        };
        Some((datagram, peer.as_socket()?))
    }
}

/// Answers waiting to be sent, up to [`BATCH`], and where to.
pub struct Replies {
    answers: Vec<(Vec<u8>, SockAddr)>,
    iovecs: Vec<libc::iovec>,
    headers: Vec<libc::mmsghdr>,
}

impl Replies {
    /// No answers yet.
    pub fn new() -> Self {
        Self {
            answers: Vec::with_capacity(BATCH),
            // SAFETY: as in `Received::new`.
            iovecs: vec![unsafe { std::mem::zeroed() }; BATCH],
            headers: vec![unsafe { std::mem::zeroed() }; BATCH],
        }
    }

    /// Adds `answer` for `peer`; `false` once [`BATCH`] are waiting, and
    /// the answer is not added.
    pub fn push(&mut self, answer: Vec<u8>, peer: SocketAddr) -> bool {
        if self.answers.len() >= BATCH {
            return false;
        }
        self.answers.push((answer, SockAddr::from(peer)));
        true
    }

    /// Sends every waiting answer on `socket`, as few system calls as the
    /// kernel allows; an answer that cannot be sent is logged and dropped,
    /// as a lost datagram would be.
    pub fn send(&mut self, socket: BorrowedFd<'_>) {
        let mut start = 0;
        while start < self.answers.len() {
            let waiting = self.answers.get(start..).unwrap_or_default();
            let mut count = 0;
            for (((answer, peer), iovec), header) in
                waiting.iter().zip(&mut self.iovecs).zip(&mut self.headers)
            {
                point(
                    header,
                    iovec,
                    (answer.as_ptr().cast_mut(), answer.len()),
                    (peer.as_ptr().cast_mut().cast(), peer.len()),
                );
                count += 1;
            }
            // SAFETY: the first `count` headers point at their own iovec,
            // each at an answer and address owned by `self.answers`, which
            // the kernel only reads.
            let sent = unsafe {
                libc::sendmmsg(
                    socket.as_raw_fd(),
                    self.headers.as_mut_ptr(),
                    count as libc::c_uint,
                    0,
                )
            };
            match usize::try_from(sent) {
                Ok(sent) if sent > 0 => start += sent,
                _ => {
                    let error = io::Error::last_os_error();
                    if let Some((_, peer)) = self.answers.get(start) {
                        tracing::debug!(%error, peer = ?peer.as_socket(), "cannot send the DNS answer");
                    }
                    start += 1;
                }
            }
        }
        self.answers.clear();
    }
}

/// Points `header` at one datagram: `iovec`, set to `data` (where and how
/// many bytes), and the address `name` (where and how long); no control
/// messages.
fn point(
    header: &mut libc::mmsghdr,
    iovec: &mut libc::iovec,
    data: (*mut u8, usize),
    name: (*mut libc::c_void, libc::socklen_t),
) {
    iovec.iov_base = data.0.cast();
    iovec.iov_len = data.1;
    let message = &mut header.msg_hdr;
    message.msg_name = name.0;
    message.msg_namelen = name.1;
    message.msg_iov = iovec;
    message.msg_iovlen = 1;
    message.msg_control = std::ptr::null_mut();
    message.msg_controllen = 0;
    message.msg_flags = 0;
    header.msg_len = 0;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::UdpSocket;
    use std::os::fd::AsFd;
    use std::time::Duration;

    fn bound() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        socket
    }

    #[test]
    fn many_datagrams_arrive_in_one_call_and_their_answers_go_back_to_each_sender() {
        let server = bound();
        let clients: Vec<UdpSocket> = (0..3).map(|_| bound()).collect();
        let address = server.local_addr().unwrap();
        for (n, client) in clients.iter().enumerate() {
            client.send_to(&[n as u8; 5][..n + 1], address).unwrap();
        }
        let mut received = Received::new(4);
        let mut seen = Vec::new();
        while seen.len() < 3 {
            let count = received.receive(server.as_fd()).unwrap();
            assert!(count >= 1);
            for index in 0..count {
                let (datagram, peer) = received.get(index).unwrap();
                seen.push((datagram.to_vec(), peer));
            }
            assert!(received.get(count).is_none());
        }
        // The third datagram (3 bytes) fits; none was longer than 4.
        seen.sort();
        let mut replies = Replies::new();
        for (datagram, peer) in &seen {
            let mut answer = datagram.clone();
            answer.push(0xff);
            assert!(replies.push(answer, *peer));
        }
        replies.send(server.as_fd());
        for (n, client) in clients.iter().enumerate() {
            let mut buffer = [0u8; 16];
            let (length, from) = client.recv_from(&mut buffer).unwrap();
            assert_eq!(from, address);
            let mut expected = vec![n as u8; n + 1];
            expected.push(0xff);
            assert_eq!(&buffer[..length], expected.as_slice());
        }
    }

    #[test]
    fn a_datagram_longer_than_the_room_is_cut_short() {
        let server = bound();
        let client = bound();
        client
            .send_to(&[7u8; 10], server.local_addr().unwrap())
            .unwrap();
        let mut received = Received::new(4);
        assert_eq!(received.receive(server.as_fd()).unwrap(), 1);
        let (datagram, peer) = received.get(0).unwrap();
        assert_eq!(datagram, &[7u8; 4]);
        assert_eq!(peer, client.local_addr().unwrap());
    }

    #[test]
    fn no_more_than_a_batch_of_replies_waits() {
        let mut replies = Replies::new();
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        for _ in 0..BATCH {
            assert!(replies.push(vec![1], peer));
        }
        assert!(!replies.push(vec![1], peer));
    }

    #[test]
    fn an_empty_socket_times_out_as_a_would_block_error() {
        let server = bound();
        server
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let error = Received::new(4).receive(server.as_fd()).unwrap_err();
        assert!(matches!(
            error.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ));
    }
}
