//! The operator commands' HTTP client for the local node API.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use vouch_node::DataDir;

/// A client of one node's API, with its token.
pub struct Client {
    base: String,
    token: Option<String>,
    http: reqwest::blocking::Client,
}

impl Client {
    /// Finds the node's API address (config or `--api`) and token (data dir).
    pub fn connect(data_dir: &DataDir, api: Option<&str>) -> anyhow::Result<Client> {
        let base = match api {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let config = data_dir.config()?;
                format!("http://{}", config.api.listen)
            }
        };
        let token = data_dir.token().ok();
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .context("building the HTTP client")?;
        Ok(Client { base, token, http })
    }

    /// GET a JSON document.
    pub fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.send(self.http.get(self.url(path)))
    }

    /// POST JSON to a write endpoint (with the token).
    pub fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let token = self.token()?;
        self.send(self.http.post(self.url(path)).bearer_auth(token).json(body))
    }

    /// POST raw bytes (a mail message, export records) of `content_type`
    /// to an endpoint that needs the token.
    pub fn post_raw<T: DeserializeOwned>(
        &self,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<T> {
        let token = self.token()?;
        self.send(
            self.http
                .post(self.url(path))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body),
        )
    }

    /// GET raw bytes from an endpoint that needs the token, with the
    /// response's headers.
    pub fn get_raw(&self, path: &str) -> anyhow::Result<(Vec<u8>, reqwest::header::HeaderMap)> {
        let token = self.token()?;
        let response = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .map_err(|e| self.unreachable(e))?;
        let status = response.status();
        if !status.is_success() {
            let body: Value = response.json().unwrap_or(Value::Null);
            bail!("{}", failure(status, &body));
        }
        let headers = response.headers().clone();
        let bytes = response
            .bytes()
            .with_context(|| format!("reading the answer to {path}"))?;
        Ok((bytes.to_vec(), headers))
    }

    fn token(&self) -> anyhow::Result<&str> {
        self.token.as_deref().ok_or_else(|| {
            anyhow!("no API token: this command needs the node's data directory (see --data-dir)")
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::blocking::RequestBuilder,
    ) -> anyhow::Result<T> {
        let response = request.send().map_err(|e| self.unreachable(e))?;
        let status = response.status();
        let body: Value = response
            .json()
            .with_context(|| format!("the node answered {status} with a body that is not JSON"))?;
        if !status.is_success() {
            bail!("{}", failure(status, &body));
        }
        serde_json::from_value(body).context("unexpected answer from the node")
    }

    fn unreachable(&self, error: reqwest::Error) -> anyhow::Error {
        if error.is_connect() {
            anyhow!(
                "the node is not running at {} (start it with `vouch run`)",
                self.base
            )
        } else {
            anyhow!("request to {} failed: {error}", self.base)
        }
    }
}

/// The API's error answer in words.
fn failure(status: reqwest::StatusCode, body: &Value) -> String {
    let message = body["error"]["message"].as_str().unwrap_or("no message");
    let code = body["error"]["code"].as_str().unwrap_or("unknown");
    format!("{message} ({code}, HTTP {})", status.as_u16())
}
