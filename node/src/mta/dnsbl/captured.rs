//! The answer the zones' handler sends, kept encoded for the UDP and TCP
//! servers to send or frame themselves (hickory's own response handles
//! belong to its servers, which Vouch does not use).

use std::sync::{Arc, Mutex, PoisonError};

use hickory_server::net::NetError;
use hickory_server::proto::rr::Record;
use hickory_server::proto::serialize::binary::BinEncoder;
use hickory_server::server::{ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponse;

/// Keeps the encoded answer the handler sends, at most `max_size` bytes.
#[derive(Clone)]
pub struct Captured {
    max_size: u16,
    answer: Arc<Mutex<Option<Vec<u8>>>>,
}

impl Captured {
    /// Keeps an answer of at most `max_size` bytes.
    pub fn new(max_size: u16) -> Captured {
        Captured {
            max_size,
            answer: Arc::default(),
        }
    }

    /// The answer, once sent.
    pub fn take(&self) -> Option<Vec<u8>> {
        self.answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

#[async_trait::async_trait]
impl ResponseHandler for Captured {
    async fn send_response<'a>(
        &mut self,
        response: MessageResponse<
            '_,
            'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
            impl Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Result<ResponseInfo, NetError> {
        let mut bytes = Vec::with_capacity(512);
        let mut encoder = BinEncoder::new(&mut bytes);
        encoder.set_max_size(self.max_size);
        let info = response.destructive_emit(&mut encoder)?;
        *self.answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(bytes);
        Ok(info)
    }
}
