//! `mirrorflow`: flow logs from packet mirrors and capture files.
//!
//! Parses the command line, builds the pipeline, and turns its end into the
//! exit status of cli.md: 0 every input read to its end, 1 the run could not
//! start or its output failed, 2 an input was damaged (its records up to the
//! damage were written).

mod cli;
mod inputs;
mod pipeline;
mod stats;

use std::{io::IsTerminal, process::ExitCode};

use anyhow::{Context, Result};
use clap::Parser;
use flowagg::AggConfig;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::{Cli, Command, CompressionArg, DecapArg, Format, ReplayArgs, RunArgs};
use capture::decode::{Decap, DecodeConfig, MAX_VXLAN_PORTS};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // cli.md: a bad flag is status 1 (clap's own 2 means damaged input here).
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Replay(args) => match replay(&args) {
            Ok(code) => code,
            Err(e) => {
                if e.downcast_ref::<export::Error>()
                    .is_some_and(|e| e.is_broken_pipe())
                {
                    return ExitCode::SUCCESS;
                }
                eprintln!("mirrorflow: error: {e:#}");
                ExitCode::from(1)
            }
        },
    }
}

fn replay(args: &ReplayArgs) -> Result<ExitCode> {
    let run = &args.run;
    let mut config = AggConfig::new(
        run.interval,
        run.lateness,
        run.flow_sample,
        run.packet_sample,
        run.seed,
    )?;
    config.dedup_window_nanos = run
        .dedup
        .map(|w| w.as_nanos().min(u128::from(u64::MAX)) as u64);
    let decap = match run.decap {
        DecapArg::All => Decap::Mirror,
        DecapArg::None => Decap::None,
        DecapArg::Deep => Decap::Deep,
    };
    let decode = DecodeConfig::new(decap, &run.vxlan_ports).with_context(|| {
        format!(
            "at most {} VXLAN ports (4789 and {} --vxlan-port)",
            MAX_VXLAN_PORTS,
            MAX_VXLAN_PORTS - 1
        )
    })?;
    let inputs = inputs::resolve(&args.inputs)?;
    let run_info = export::RunInfo {
        flow_rate: config.flow_sample,
        packet_rate: config.packet_rate(),
        interval_secs: config.interval_secs,
        inputs: args
            .inputs
            .iter()
            .map(|p| p.display().to_string())
            .collect(),
    };
    let sink = open_sink(run, run_info)?;
    let progress = (!run.quiet && std::io::stderr().is_terminal()).then(|| {
        let total: Option<u64> = inputs.iter().map(|i| i.len()).sum();
        let bar = ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .expect("valid progress template"),
        );
        bar
    });
    let outcome = pipeline::replay(
        inputs,
        &config,
        &decode,
        sink,
        run.threads(),
        run.quiet,
        progress,
    )?;
    if let Some(path) = &run.stats {
        let json = serde_json::to_vec_pretty(&outcome.stats)?;
        std::fs::write(path, json)
            .with_context(|| format!("cannot write statistics to '{}'", path.display()))?;
    }
    if !run.quiet {
        eprint!("{}", outcome.stats);
    }
    for damage in &outcome.damaged {
        eprintln!("mirrorflow: error: {damage} (records up to there were written)");
    }
    Ok(if outcome.damaged.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The output of `-f`/`-o`, opened now so that an unwritable one fails
/// before any packet is read.
fn open_sink(run: &RunArgs, info: export::RunInfo) -> Result<export::Sink> {
    match run.format {
        Format::Json => {
            let parquet_only = [
                ("--compression", run.compression.is_some()),
                ("--rotate-mb", run.rotate_mb.is_some()),
                ("--rotate-secs", run.rotate_secs.is_some()),
            ];
            if let Some((flag, _)) = parquet_only.iter().find(|(_, given)| *given) {
                anyhow::bail!("{flag} is a Parquet option: add -f parquet");
            }
            Ok(export::Sink::ndjson(&run.out, info)?)
        }
        Format::Parquet => {
            if run.out == std::path::Path::new("-") {
                anyhow::bail!("-f parquet writes a folder of files: give it with -o DIR");
            }
            let options = export::ParquetOptions {
                compression: match run.compression.unwrap_or(CompressionArg::Zstd) {
                    CompressionArg::Zstd => export::Compression::Zstd,
                    CompressionArg::Snappy => export::Compression::Snappy,
                    CompressionArg::None => export::Compression::None,
                },
                rotate_bytes: run.rotate_mb.map(|mb| mb.saturating_mul(1 << 20)),
                rotate_after: run.rotate_secs.map(std::time::Duration::from_secs),
            };
            Ok(export::Sink::parquet(&run.out, options, info)?)
        }
    }
}
