//! `haven run`: real mode. Reads haproxy.cfg like `haven check` (refusing
//! to start on an error), then serves it until Ctrl-C or SIGTERM.

use crate::RunArgs;
use anyhow::{Context, Result};
use std::process::ExitCode;

/// Runs `haven run`.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode> {
    let Some(cfg) = crate::check::load_haproxy(&args.haproxy)? else {
        return Ok(ExitCode::from(1));
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    rt.block_on(async {
        let running = haven_runtime::start(cfg).await?;
        for (frontend, addr) in &running.listeners {
            eprintln!("haven: frontend {frontend} listening on {addr}");
        }
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            () = running.wait() => {}
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(ExitCode::SUCCESS)
    })
}
