//! End-to-end tests: the real `vouch` binary, started as a process on
//! 127.0.0.1, driven through its CLI. Every test stops what it starts.

mod cli;
mod crash;
mod harness;
mod small_web;
mod testnet;
