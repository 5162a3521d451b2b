//! A DNS server on 127.0.0.1 for the name tests: it answers TXT queries
//! from a table the test edits, NXDOMAIN for names not in it, and nothing
//! at all while told to be slow.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_server::proto::op::{Message, MessageType, ResponseCode};
use hickory_server::proto::rr::rdata::TXT;
use hickory_server::proto::rr::{RData, Record};
use tokio::net::UdpSocket;

#[derive(Default)]
struct Table {
    records: HashMap<String, Vec<String>>,
    silent: bool,
}

pub struct TestDns {
    pub addr: SocketAddr,
    table: Arc<Mutex<Table>>,
    task: tokio::task::JoinHandle<()>,
}

impl TestDns {
    pub async fn start() -> TestDns {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let addr = socket.local_addr().expect("addr");
        let table = Arc::new(Mutex::new(Table::default()));
        let shared = table.clone();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, from)) = socket.recv_from(&mut buf).await else {
                    return;
                };
                let Some(reply) = answer(&shared, buf.get(..n).unwrap_or_default()) else {
                    continue;
                };
                let _ = socket.send_to(&reply, from).await;
            }
        });
        TestDns { addr, table, task }
    }

    /// Sets the TXT strings at `name` (no trailing dot); empty removes it.
    pub fn set(&self, name: &str, txt: &[&str]) {
        let mut table = self.table.lock().expect("lock");
        if txt.is_empty() {
            table.records.remove(name);
        } else {
            table
                .records
                .insert(name.into(), txt.iter().map(|s| s.to_string()).collect());
        }
    }

    /// Stops answering (a slow or dead server) or starts again.
    pub fn silent(&self, silent: bool) {
        self.table.lock().expect("lock").silent = silent;
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(table: &Mutex<Table>, packet: &[u8]) -> Option<Vec<u8>> {
    let query = Message::from_vec(packet).ok()?;
    let table = table.lock().ok()?;
    if table.silent {
        return None;
    }
    let mut reply = query.clone();
    reply.metadata.message_type = MessageType::Response;
    reply.metadata.recursion_available = true;
    let name = query.queries.first()?.name().clone();
    let key = name.to_ascii().trim_end_matches('.').to_ascii_lowercase();
    match table.records.get(&key) {
        Some(strings) => {
            for s in strings {
                reply.add_answer(Record::from_rdata(
                    name.clone(),
                    60,
                    RData::TXT(TXT::new(vec![s.clone()])),
                ));
            }
        }
        None => reply.metadata.response_code = ResponseCode::NXDomain,
    }
    reply.to_vec().ok()
}
