//! `authenticator-server [--config FILE] [--database FILE] [--listen ADDR] [OPTIONS]`: see
//! `--help` ([`authenticator_server::config::args`]).

use authenticator_server::Server;
use authenticator_server::config::{Command, Config, args};
use std::io::Write;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let config = match Config::from_args(std::env::args().skip(1)) {
        Ok(Command::Run(config)) => config,
        Ok(Command::Help) => {
            print!("{}", args::help());
            return ExitCode::SUCCESS;
        }
        Err(error) if error.shows_usage() => {
            eprint!("{error}");
            return ExitCode::from(2);
        }
        Err(error) => {
            eprintln!("authenticator-server: {error}\n\n{}", args::usage());
            return ExitCode::from(2);
        }
    };
    authenticator_server::logging::init(config.log_format);
    let server = match Server::bind(config).await {
        Ok(server) => server,
        Err(message) => {
            tracing::error!("authenticator-server: {message}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on http://{}", server.local_addr());
    let _ = std::io::stdout().flush();
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("authenticator-server: {error}");
            ExitCode::FAILURE
        }
    }
}
