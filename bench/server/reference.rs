//! `make bench-server`'s reference row: a bare axum route answering a constant, on the same
//! runtime and HTTP/1 stack as the server, without a database, a log or any layer. The limit the
//! token verification route is measured against: what is left between the two is the server's
//! own work. Prints `listening on http://ADDR` like the server.
//!
//!   cargo run --release -p authenticator-server --example bench-reference -- [ADDR]

use axum::Router;
use axum::routing::get;
use std::io::Write;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("listening on http://{}", listener.local_addr()?);
    std::io::stdout().flush()?;
    // The two paths the bench requests, each answering the same constant JSON.
    let constant = || async { r#"{"status":"ok"}"# };
    let routes =
        Router::new().route("/v1/oauth/token/", get(constant)).route("/v1/accounts/me/", get(constant));
    axum::serve(listener, routes).await
}
