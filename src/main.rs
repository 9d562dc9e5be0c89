//! The `vexlake` binary: reads the command line (the only place that reads
//! the process environment), sets up logging and the runtime, and serves.

use std::process::ExitCode;

use vexlake::config::{Config, Invocation, USAGE};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args
        .first()
        .is_some_and(|a| vexlake::cluster::is_subcommand(a))
    {
        return cluster(&args);
    }
    let config = match Config::from_args(&args) {
        Ok(Invocation::Run(c)) => c,
        Ok(Invocation::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Version) => {
            println!("VexLake v={}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("vexlake: {e}");
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
    };
    let level = match config.loglevel.as_str() {
        "debug" => tracing::Level::DEBUG,
        "verbose" | "notice" => tracing::Level::INFO,
        "warning" => tracing::Level::WARN,
        _ => tracing::Level::ERROR,
    };
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    let Some(runtime) = runtime() else {
        return ExitCode::from(1);
    };
    match runtime.block_on(vexlake::server::serve(*config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("vexlake: {e}");
            ExitCode::from(1)
        }
    }
}

fn runtime() -> Option<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| eprintln!("vexlake: cannot start the runtime: {e}"))
        .ok()
}

/// `vexlake ballista-scheduler|ballista-executor ...` (see `cluster`).
fn cluster(args: &[String]) -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_target(false)
        .with_writer(std::io::stderr)
        .init();
    let Some(runtime) = runtime() else {
        return ExitCode::from(1);
    };
    match runtime.block_on(vexlake::cluster::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vexlake {}: {e}", args[0]);
            eprintln!("{}", vexlake::cluster::USAGE);
            ExitCode::from(1)
        }
    }
}
