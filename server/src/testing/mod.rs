//! Test knobs, built with the `test-support` feature only (the release binary has none): an
//! app's injected API faults ([`faults`]) and an added latency ([`latency`]), as tower layers
//! around the routes, so that clients and the bench can meet a misbehaving server; and a
//! catalogue entry re-hosted on the quirk simulator ([`rehost`]) for the conformance tests.

pub mod fault;
pub mod faults;
pub mod latency;
pub mod rehost;
