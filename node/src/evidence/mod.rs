//! Evidence from the mail stack: a raw message (handed over by the
//! operator, a Junk-folder script or a filter) turned into what to report:
//! the host that handed it to the operator's hosts, the relay chain behind
//! it, and the names it gave, without anyone typing an address.

mod address;
mod limiter;
pub mod message;
pub mod origin;
mod source;

pub use address::special_purpose;
pub use limiter::HourlyLimit;
pub use message::{MessageError, MessageFacts};
pub use origin::{Origin, OriginError, OwnHosts};
pub use source::Source;

#[cfg(test)]
mod tests;
