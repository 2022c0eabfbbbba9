//! A drop-in replacement for the Kloudless Authenticator JS library, in Rust compiled to WebAssembly.
//!
//! The crate has two layers:
//! - a pure-Rust, sans-IO core that turns options into a pop-up URL ([`options`], [`popup`]),
//!   a postMessage into a verdict ([`message`]) and server replies into the callback's result
//!   ([`verify`]), driven by one state machine per launch ([`flow`]); it has no browser
//!   dependency and is unit-tested natively;
//! - a thin browser shell (`web`, only on `wasm32`) that owns the listeners, timers, pop-up and
//!   requests, feeds events to the core and carries out what it decides.

#![warn(missing_docs)]
#![cfg_attr(all(target_arch = "wasm32", not(test)), no_std)]

extern crate alloc;

pub mod error;
pub mod flow;
pub mod json;
pub mod message;
pub mod options;
pub mod popup;
pub mod progress;
pub mod text;
pub mod verify;

#[cfg(target_arch = "wasm32")]
mod web;

/// `tiny-panic`: a panic (a bug: nothing here is meant to panic) traps, which JS sees as a thrown
/// `RuntimeError: unreachable`.
#[cfg(all(target_arch = "wasm32", not(test), feature = "tiny-panic"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// lol_alloc's free list (sorted by address, neighbours coalesced) instead of dlmalloc: the same
/// job in fewer bytes, for the few small allocations a flow makes.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
// SAFETY: the browser build is single-threaded (no `atomics`).
static ALLOCATOR: lol_alloc::AssumeSingleThreaded<lol_alloc::FreeListAllocator> =
    unsafe { lol_alloc::AssumeSingleThreaded::new(lol_alloc::FreeListAllocator::new()) };

/// The Kloudless API version this library speaks (`apiVersion` in the JS API).
pub const API_VERSION: &str = "v1";

/// The `baseUrl` global option's default value.
pub const DEFAULT_BASE_URL: &str = "https://api.kloudless.com";
