//! The API tests' client: a real node on loopback and an HTTP client with
//! its token.

use serde_json::Value;

use crate::config::Config;
use crate::test_support;

/// A test node, plus an HTTP client for its API.
pub(super) struct ApiClient {
    pub base: String,
    pub token: String,
    pub node_id: String,
    pub http: reqwest::Client,
    pub node: test_support::TestNode,
}

impl ApiClient {
    pub async fn start(configure: impl FnOnce(&mut Config)) -> ApiClient {
        let node = test_support::TestNode::start(configure).await;
        ApiClient {
            base: format!("http://{}", node.api),
            token: node.token.clone(),
            node_id: node.state.signer.public().to_string(),
            http: reqwest::Client::new(),
            node,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        self.node.get(path).await
    }

    /// POSTs JSON with the token.
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.node.post(path, body).await
    }

    /// POSTs raw bytes (a message) with the token.
    pub async fn post_raw(&self, path: &str, raw: Vec<u8>) -> (u16, Value) {
        self.node.post_raw(path, raw).await
    }

    pub async fn stop(self) {
        self.node.stop().await;
    }
}
