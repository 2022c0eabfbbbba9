//! A drop-in replacement for the Kloudless Authenticator JS library, in Rust compiled to WebAssembly.
//!
//! The crate has two layers:
//! - a pure-Rust, sans-IO core that turns options into a pop-up URL ([`options`], [`popup`]),
//!   decides which messages to take and what they say ([`message`]), reads the server's replies
//!   ([`verify`], [`progress`]), and drives one launch as a state machine ([`flow`]); it has no
//!   browser dependency and is unit- and property-tested natively;
//! - a thin wasm-bindgen shell (`web`, only on `wasm32`) that owns the listeners, timers, pop-up
//!   and requests RAII-style, feeds browser events to the core and carries out what it decides.
//!
//! The wire protocol's constants and shapes are in [`kloudless_protocol`], shared with the server.

#![warn(missing_docs)]

pub mod error;
pub mod flow;
pub mod message;
pub mod options;
pub mod popup;
pub mod progress;
pub mod verify;

#[cfg(target_arch = "wasm32")]
mod web;

/// lol_alloc's free list (sorted by address, neighbours coalesced) instead of dlmalloc: the same
/// job in fewer bytes, for the few small allocations a flow makes.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
// SAFETY: the browser build is single-threaded (no `atomics`).
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// The Kloudless API version this library speaks (`apiVersion` in the JS API).
pub use kloudless_protocol::API_VERSION;

/// The `baseUrl` global option's default value.
pub const DEFAULT_BASE_URL: &str = "https://api.kloudless.com";
