//! The OpenAPI 3 document for the routes in [`super::router`].
//!
//! Written by hand as JSON: the API is small, and a derive-based generator
//! (utoipa) would add a proc-macro layer to every handler for a dozen
//! routes. A test checks that the document and the router list the same
//! paths and methods.

use axum::Json;
use serde_json::{Value, json};

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } })
}

fn ok_json(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn subject_param() -> Value {
    json!({ "name": "subject", "in": "path", "required": true, "schema": { "type": "string" },
            "description": "IPv4/IPv6 address, CIDR netblock (e.g. 192.0.2.0/24) or domain" })
}

fn write_op(summary: &str, body_schema: &str) -> Value {
    json!({ "post": {
        "summary": summary,
        "security": [{ "bearer": [] }],
        "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{body_schema}") } } } },
        "responses": {
            "200": ok_json("The signed statement was stored", "WriteResponse"),
            "400": error_response("Bad subject, body or statement"),
            "401": error_response("Missing or wrong bearer token"),
            "413": error_response("Body too large")
        }
    }})
}

/// `POST /v1/trust`: a write, and a domain whose record cannot be used is
/// refused with 422.
fn trust_op() -> Value {
    let mut op = write_op(
        "Vouch for a node, named by key, peer id, multiaddr with /p2p/, or its operator's domain (weight 1..100; 0 withdraws)",
        "TrustRequest",
    )["post"]
        .clone();
    op["responses"]["422"] = error_response(
        "The domain's _vouch TXT record is missing, malformed, ambiguous, or the lookup failed",
    );
    op
}

/// `POST /v1/report/message` (apart: one `json!` this size exceeds the
/// macro recursion limit).
fn report_message_op() -> Value {
    json!({ "post": {
        "summary": "Report what a raw message names: the host that handed it to this operator's hosts (with the relay chain behind it), its HELO name and the envelope sender's domain; with ham=true, withdraw this node's reports instead",
        "security": [{ "bearer": [] }],
        "parameters": [
            { "name": "category", "in": "query", "schema": { "type": "string", "enum": ["spam", "phishing", "malware", "backscatter"], "default": "spam" } },
            { "name": "source", "in": "query", "schema": { "type": "string", "enum": ["message", "junk", "rspamd"], "default": "message" }, "description": "where the message comes from; shown in explanations" },
            { "name": "ham", "in": "query", "schema": { "type": "boolean", "default": false }, "description": "the message is wanted: withdraw this node's reports about its senders" },
            { "name": "endorse", "in": "query", "schema": { "type": "boolean", "default": false }, "description": "with ham: also endorse the host that sent it" }
        ],
        "requestBody": { "required": true, "content": {
            "message/rfc822": { "schema": { "type": "string", "format": "binary" } },
            "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } } },
        "responses": {
            "200": ok_json("What the message names and what was done about each subject", "MessageReport"),
            "400": error_response("Bad query"),
            "401": error_response("Missing or wrong bearer token"),
            "413": error_response("Message larger than mta.max_message_bytes"),
            "422": error_response("Not a message, no Received header with a client address, or every hop is the operator's own")
        }
    }})
}

fn message_report_schema() -> Value {
    json!({ "type": "object", "properties": {
                    "origin": { "type": "string" },
                    "relay_chain": { "type": "array", "items": { "type": "string" }, "description": "public addresses behind the origin, nearest first" },
                    "subjects": { "type": "array", "items": { "type": "object", "properties": {
                        "subject": { "type": "string" },
                        "role": { "type": "string", "enum": ["origin", "helo", "envelope_sender"] },
                        "action": { "type": "string", "enum": ["reported", "counted", "withdrawn", "endorsed", "unchanged", "skipped", "rate_limited"] },
                        "id": { "type": "string" }, "count": { "type": "integer" }, "reason": { "type": "string" } } } } } })
}

fn reputation_schema() -> Value {
    json!({ "type": "object", "properties": {
                    "subject": { "type": "string" }, "score": { "type": "number" }, "confidence": { "type": "number" },
                    "verdict": { "type": "string", "enum": ["allow", "neutral", "suspect", "block"] },
                    "endorsed": { "type": "number" }, "reported": { "type": "number" }, "netblock": { "type": "number" },
                    "netblock_reported_ips": { "type": "integer" }, "statements": { "type": "integer" },
                    "forwarder": { "type": "boolean" }, "remediated_at": { "type": ["integer", "null"] },
                    "fresh_reporters": { "type": "integer", "description": "trusted operators whose first reports fall within fresh_window_minutes of each other" },
                    "fresh_window_minutes": { "type": "number", "description": "the window of the fast clock's trigger: a burst, an hour or a steady stream" },
                    "explanation": { "type": "array", "items": { "type": "object", "properties": {
                        "id": { "type": "string" }, "author": { "type": "string" }, "author_trust": { "type": "number" },
                        "kind": { "type": "string" }, "category": { "type": "string" }, "subject": { "type": "string" },
                        "signal": { "type": "string", "enum": ["exact", "netblock", "relayed"] },
                        "age_secs": { "type": "integer" }, "decay": { "type": "number" },
                        "fresh": { "type": "boolean", "description": "weighed as fresh evidence" },
                        "weight": { "type": "number" },
                        "source": { "type": "string", "enum": ["cli", "message", "junk", "rspamd"], "description": "where this node's own report came from" },
                        "author_name": { "type": "string", "description": "the author's mail domain: \"mail.example.org (verified)\", \"(MISMATCH)\" or \"(unverified)\"" } } } } } })
}

/// The document.
pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": { "title": "Vouch node API", "version": env!("CARGO_PKG_VERSION"),
                  "description": "Reputation of mail senders from this node's web of trust. Write endpoints need the bearer token from the data directory's api.token." },
        "paths": {
            "/v1/reputation/{subject}": { "get": {
                "summary": "Reputation of one sender, with its explanation",
                "parameters": [subject_param()],
                "responses": { "200": ok_json("Score, confidence, verdict and explanation", "Reputation"), "400": error_response("Bad subject") }
            }},
            "/v1/reputation": { "post": {
                "summary": "Reputation of many senders",
                "requestBody": { "required": true, "content": { "application/json": { "schema": {
                    "type": "object", "required": ["subjects"], "properties": { "subjects": { "type": "array", "items": { "type": "string" } } } } } } },
                "responses": { "200": { "description": "One entry per subject, in order" }, "400": error_response("Bad body"), "413": error_response("Too many subjects or body too large") }
            }},
            "/v1/statements/{subject}": { "get": {
                "summary": "Live statements about a subject",
                "parameters": [subject_param()],
                "responses": { "200": { "description": "Statements" }, "400": error_response("Bad subject") }
            }},
            "/v1/status": { "get": { "summary": "Node id, peer id, listen addresses, counts, version", "responses": { "200": { "description": "Status" } } } },
            "/v1/peers": { "get": { "summary": "Known peers: id, addresses, gossip score, last seen, ban", "responses": { "200": { "description": "Peers" } } } },
            "/v1/trust": {
                "get": { "summary": "Nodes this node vouches for, with computed trust", "responses": { "200": { "description": "Trust list" } } },
                "post": trust_op()
            },
            "/v1/endorse": write_op("Endorse a sender as legitimate", "EndorseRequest"),
            "/v1/report": write_op("Report a sender", "ReportRequest"),
            "/v1/report/message": report_message_op(),
            "/v1/retract": write_op("Withdraw this node's statement on a subject", "RetractRequest"),
            "/v1/remediate": write_op("Say a sender's problem was fixed (speeds up decay of earlier reports)", "RemediateRequest"),
            "/v1/export": { "get": {
                "summary": "One page of the node's live statements as export-file records (each a canonical signed statement behind its 4-byte big-endian length), in ingest order",
                "security": [{ "bearer": [] }],
                "parameters": [
                    { "name": "from", "in": "query", "schema": { "type": "integer", "minimum": 0 }, "description": "first local sequence number (default 0)" },
                    { "name": "limit", "in": "query", "schema": { "type": "integer", "minimum": 1, "maximum": 10000 } }
                ],
                "responses": {
                    "200": { "description": "Records; x-vouch-next names the next page's from, x-vouch-more says whether there is one",
                        "content": { "application/octet-stream": {} } },
                    "400": error_response("Bad query"),
                    "401": { "description": "No or wrong token" } } } },
            "/v1/import": { "post": {
                "summary": "Ingest export-file records as if a peer had back-filled them (trust statements first; strangers under their quota)",
                "security": [{ "bearer": [] }],
                "requestBody": { "required": false, "description": "An export file; an empty one imports nothing", "content": { "application/octet-stream": {} } },
                "responses": {
                    "200": { "description": "Counts: received, stored, stored_stranger, duplicate, stale, over_quota, rejected (by rule)" },
                    "400": { "description": "The body is not a sequence of records", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Error" } } } },
                    "401": { "description": "No or wrong token" },
                    "413": { "description": "Body over 2 MiB" } } } },
            "/metrics": { "get": { "summary": "Prometheus metrics", "responses": { "200": { "description": "OpenMetrics text" } } } },
            "/v1/openapi.json": { "get": { "summary": "This document", "responses": { "200": { "description": "OpenAPI 3 document" } } } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Error": { "type": "object", "properties": { "error": { "type": "object", "properties": {
                    "code": { "type": "string" }, "message": { "type": "string" } } } } },
                "Reputation": reputation_schema(),
                "MessageReport": message_report_schema(),
                "WriteResponse": { "type": "object", "properties": {
                    "id": { "type": "string" }, "outcome": { "type": "string" }, "seq": { "type": "integer" } } },
                "TrustRequest": { "type": "object", "required": ["node", "weight"], "properties": {
                    "node": { "type": "string", "description": "node key (64 hex digits), peer id, multiaddr ending in /p2p/<peer id>, or the operator's domain (the key its _vouch TXT record names, pinned)" },
                    "weight": { "type": "integer", "minimum": 0, "maximum": 100 }, "ttl_days": { "type": "integer" } } },
                "EndorseRequest": { "type": "object", "required": ["subject"], "properties": {
                    "subject": { "type": "string" },
                    "category": { "type": "string", "enum": ["legitimate_sender", "operator", "forwarder"] },
                    "ttl_days": { "type": "integer" } } },
                "ReportRequest": { "type": "object", "required": ["subject"], "properties": {
                    "subject": { "type": "string" },
                    "category": { "type": "string", "enum": ["spam", "phishing", "malware", "backscatter"] },
                    "count": { "type": "integer", "minimum": 1 },
                    "message_hashes": { "type": "array", "items": { "type": "string" } },
                    "relay_chain": { "type": "array", "items": { "type": "string" } },
                    "ttl_hours": { "type": "integer" } } },
                "RetractRequest": { "type": "object", "required": ["subject", "kind"], "properties": {
                    "subject": { "type": "string" }, "kind": { "type": "string", "enum": ["trust", "endorse", "report", "remediate"] } } },
                "RemediateRequest": { "type": "object", "required": ["subject", "note"], "properties": {
                    "subject": { "type": "string" }, "note": { "type": "string", "maxLength": 280 },
                    "remediated_at": { "type": "integer" }, "ttl_days": { "type": "integer" } } }
            }
        }
    })
}

/// `GET /v1/openapi.json`
pub async fn serve() -> Json<Value> {
    Json(document())
}
