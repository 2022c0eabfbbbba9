//! `quirk-simulator PROFILE.toml [ADDR]`: serves the profile (a TOML file holding a profile
//! table) on ADDR (default 127.0.0.1:0) and prints `listening on http://…` once it listens.
//! `quirk-simulator --entry ID CATALOGUE.toml [ADDR]`: serves the profile of the catalogue's
//! entry ID (its `[provider.profile]` in `server/providers.toml`).

use quirk_simulator::{Profile, Simulator};

/// The profile the arguments name, and the address to listen on.
fn profile_of(args: &[String]) -> Result<(Profile, &str), String> {
    let read = |path: &str| std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"));
    let listen = |at: usize| args.get(at).map_or("127.0.0.1:0", String::as_str);
    match args {
        [flag, id, catalogue, ..] if flag == "--entry" => {
            let text = read(catalogue)?;
            Ok((Profile::of_entry(&text, id)?, listen(3)))
        }
        [path, ..] if !path.starts_with("--") => Ok((Profile::from_toml(&read(path)?)?, listen(1))),
        _ => Err("usage: quirk-simulator PROFILE.toml [ADDR] | --entry ID CATALOGUE.toml [ADDR]".to_owned()),
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let served = async {
        let (profile, addr) = profile_of(&args)?;
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
