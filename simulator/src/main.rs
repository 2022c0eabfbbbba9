//! `quirk-simulator PROFILE.toml [ADDR]`: serves the profile (a TOML file holding a profile
//! table) on ADDR (default 127.0.0.1:0) and prints `listening on http://…` once it listens.

use quirk_simulator::{Profile, Simulator};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(path), addr) = (args.first(), args.get(1).map_or("127.0.0.1:0", String::as_str)) else {
        eprintln!("usage: quirk-simulator PROFILE.toml [ADDR]");
        return std::process::ExitCode::from(2);
    };
    let served = async {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
        let profile = Profile::from_toml(&text)?;
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("{addr}: {e}"))?;
        println!("listening on http://{}", listener.local_addr().map_err(|e| e.to_string())?);
        Simulator::serve(listener, profile).await.map_err(|e| e.to_string())
    };
    match served.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("quirk-simulator: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
