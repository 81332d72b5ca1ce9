//! `mirrorflow`: flow logs from packet mirrors and capture files.
//!
//! Parses the command line, builds the pipeline, and turns its end into the
//! exit status of docs/cli.md: 0 every input read to its end, 1 the run could not
//! start or its output failed, 2 an input was damaged (its records up to the
//! damage were written); and 130 a replay stopped by SIGINT or SIGTERM (the
//! records of the packets read were written), as a shell reports Ctrl-C.

mod cli;
mod inputs;
mod metrics;
mod pipeline;
mod stats;

use std::{
    io::IsTerminal,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use anyhow::{Context, Result};
use capture::{
    decode::{Decap, DecodeConfig, MAX_VXLAN_PORTS},
    source::{Input, LiveCapture, LiveConfig},
};
use clap::Parser;
use flowagg::AggConfig;
use indicatif::{ProgressBar, ProgressStyle};
use signal_hook::{
    consts::{SIGINT, SIGTERM},
    iterator::Signals,
};

use crate::{
    cli::{
        AnalyzeArgs, Cli, Command, CompressionArg, DecapArg, Format, LiveArgs, MetricArg,
        ReplayArgs, ReportArgs, RunArgs, TopArgs, TopFormat,
    },
    metrics::{Counters, MetricsServer},
    pipeline::{LiveSource, Options, Source},
};

/// Exit status of a replay stopped by a signal: 128 + SIGINT, as a shell
/// reports Ctrl-C (docs/cli.md, "Exit status").
const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // docs/cli.md, "Exit status": a bad flag is status 1 (clap's own 2
            // means damaged input here).
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match cli.command {
        Command::Replay(args) => replay(&args),
        Command::Live(args) => live(&args),
        Command::Top(args) => top(&args),
        Command::Report(args) => html_report(&args),
    };
    match result {
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
    }
}

/// The aggregation and decoding settings of `replay` and `live`.
fn settings(run: &RunArgs) -> Result<(AggConfig, DecodeConfig)> {
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
    if let Some(max_flows) = run.max_flows {
        config.max_flows = usize::try_from(max_flows).unwrap_or(usize::MAX);
    }
    config.tcp_analysis = !run.no_tcp_analysis;
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
    Ok((config, decode))
}

fn replay(args: &ReplayArgs) -> Result<ExitCode> {
    let run = &args.run;
    let (config, decode) = settings(run)?;
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
        annotator: annotator(run)?,
    };
    let threads = run.threads();
    let counters = Arc::new(Counters::new(pipeline::shards_for(threads)));
    let sink = open_sink(run, run_info, &counters)?;
    let progress = (!run.quiet && std::io::stderr().is_terminal()).then(|| {
        let total: Option<u64> = inputs.iter().map(Input::size).sum();
        let bar = ProgressBar::new(total.unwrap_or(0));
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            )
            .expect("valid progress template"),
        );
        bar
    });
    let options = Options {
        threads,
        quiet: run.quiet,
        bar: progress,
        counters: Arc::clone(&counters),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let signals = watch_signals(
        Arc::clone(&stop),
        run.quiet,
        "stopping the replay, writing the records of the packets read",
    )?;
    let source = Source::Files { inputs, stop };
    let outcome = pipeline::run(source, &config, &decode, sink, options);
    signals.close();
    report(run, outcome?, &counters)
}

/// `live`: everything that can fail is checked (interface, permission,
/// link type, filter, output, metrics address) before the first packet is
/// read; then capture runs until SIGINT, SIGTERM or `--duration`, and every
/// open interval is written before the summary.
fn live(args: &LiveArgs) -> Result<ExitCode> {
    let run = &args.run;
    let (config, decode) = settings(run)?;
    let capture = LiveCapture::open(&LiveConfig {
        interface: args.interface.clone(),
        snaplen: args.snaplen,
        buffer_bytes: args.buffer_mb.saturating_mul(1 << 20),
        promiscuous: true,
        filter: args.bpf.clone(),
    })?;
    let run_info = export::RunInfo {
        flow_rate: config.flow_sample,
        packet_rate: config.packet_rate(),
        interval_secs: config.interval_secs,
        inputs: vec![format!("live:{}", args.interface)],
        annotator: annotator(run)?,
    };
    let threads = run.threads();
    let counters = Arc::new(Counters::new(pipeline::shards_for(threads)));
    let sink = open_sink(run, run_info, &counters)?;
    let metrics = args
        .metrics
        .as_deref()
        .map(|addr| MetricsServer::start(addr, Arc::clone(&counters)))
        .transpose()?;
    let stop = Arc::new(AtomicBool::new(false));
    let signals = watch_signals(
        Arc::clone(&stop),
        run.quiet,
        "stopping capture, writing every open interval",
    )?;
    if !run.quiet {
        eprintln!(
            "mirrorflow: capturing on '{}' (index {}, link type {}, snaplen {}, {} timestamps{}{}); stop with Ctrl-C or SIGTERM",
            capture.interface(),
            capture.index(),
            capture.link(),
            args.snaplen,
            if capture.nanosecond_timestamps() { "ns" } else { "µs" },
            args.bpf
                .as_deref()
                .map(|f| format!(", filter '{f}'"))
                .unwrap_or_default(),
            args.metrics
                .as_deref()
                .map(|a| format!(", metrics at http://{a}/metrics"))
                .unwrap_or_default(),
        );
    }
    let bar = (!run.quiet && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .expect("valid progress template"),
        );
        bar
    });
    let source = Source::Live(LiveSource {
        capture,
        stop,
        duration: args.duration.map(Duration::from_secs),
    });
    let options = Options {
        threads,
        quiet: run.quiet,
        bar,
        counters: Arc::clone(&counters),
    };
    let outcome = pipeline::run(source, &config, &decode, sink, options);
    drop(metrics);
    signals.close();
    report(run, outcome?, &counters)
}

/// SIGINT and SIGTERM stop a live capture or a replay: the first sets
/// `stop` (saying `what` happens now), and the run then writes every open
/// interval and finishes its files; later ones are ignored with a message
/// (even under `-q`: the user asked for something and is told why it is not
/// happening at once).
fn watch_signals(
    stop: Arc<AtomicBool>,
    quiet: bool,
    what: &'static str,
) -> Result<signal_hook::iterator::Handle> {
    let mut signals =
        Signals::new([SIGINT, SIGTERM]).context("cannot install the SIGINT/SIGTERM handlers")?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
                if stop.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "mirrorflow: {name} ignored: still writing the open intervals and finishing the files (SIGKILL would lose them)"
                    );
                } else if !quiet {
                    eprintln!("mirrorflow: {name}: {what}");
                }
            }
        })
        .context("cannot start the signal thread")?;
    Ok(handle)
}

/// Statistics to `--stats` and stderr (with what the IPFIX export sent and
/// lost, if any), damage messages, and the exit status.
fn report(run: &RunArgs, mut outcome: pipeline::Outcome, counters: &Counters) -> Result<ExitCode> {
    if let Some(ipfix) = counters.ipfix.get() {
        outcome.stats.add_ipfix(ipfix);
    }
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
    Ok(if outcome.interrupted {
        eprintln!(
            "mirrorflow: interrupted: the records of the {} packets read were written; the rest of the input was not read",
            outcome.stats.packets_read
        );
        ExitCode::from(INTERRUPTED)
    } else if outcome.damaged.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

/// The annotator of `--local-net`, `--report-both-ends`, `--inventory` and
/// `--geoip` (docs/annotate.md), its files read before any packet is.
fn annotator(run: &RunArgs) -> Result<Arc<export::Annotator>> {
    if run.report_both_ends && run.local_nets.is_empty() && run.inventory.is_none() {
        anyhow::bail!("--report-both-ends needs --local-net or --inventory: which ends are ours?");
    }
    Ok(Arc::new(export::Annotator::load(
        &export::AnnotateConfig {
            local_nets: run.local_nets.clone(),
            report_both_ends: run.report_both_ends,
            inventory: run.inventory.clone(),
            geoip: run.geoip.clone(),
        },
    )?))
}

/// The output of `-f`/`-o`, opened now so that an unwritable one fails
/// before any packet is read. An IPFIX export's counters go to `counters`,
/// for the statistics and the metrics.
fn open_sink(run: &RunArgs, info: export::RunInfo, counters: &Counters) -> Result<export::Sink> {
    let parquet_only = [
        ("--compression", run.compression.is_some()),
        ("--rotate-mb", run.rotate_mb.is_some()),
        ("--rotate-secs", run.rotate_secs.is_some()),
    ];
    let ipfix_only = [
        ("--template-refresh", run.template_refresh.is_some()),
        ("--ipfix-mtu", run.ipfix_mtu.is_some()),
    ];
    // IPFIX has no information elements for them here (docs/annotate.md).
    let annotating = [
        ("--local-net", !run.local_nets.is_empty()),
        ("--report-both-ends", run.report_both_ends),
        ("--inventory", run.inventory.is_some()),
        ("--geoip", !run.geoip.is_empty()),
    ];
    let misplaced = |flags: &[(&'static str, bool)], format: &str| -> Result<()> {
        match flags.iter().find(|(_, given)| *given) {
            Some((flag, _)) => anyhow::bail!("{flag} is an option of -f {format}"),
            None => Ok(()),
        }
    };
    match run.format {
        Format::Json => {
            misplaced(&parquet_only, "parquet")?;
            misplaced(&ipfix_only, "ipfix")?;
            Ok(export::Sink::ndjson(&run.out, info)?)
        }
        Format::Parquet => {
            misplaced(&ipfix_only, "ipfix")?;
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
                on_reading_thread: pipeline::on_one_thread(run.threads()),
            };
            Ok(export::Sink::parquet(&run.out, options, info)?)
        }
        Format::Ipfix => {
            misplaced(&parquet_only, "parquet")?;
            misplaced(&annotating, "json or -f parquet")?;
            let out = run.out.to_str().context("-o is not UTF-8")?;
            if out == "-" {
                anyhow::bail!(
                    "-f ipfix sends to a collector or writes a file: give -o udp://HOST:PORT, tcp://HOST:PORT or FILE.ipfix"
                );
            }
            let destination = export::Destination::parse(out)?;
            let defaults = export::IpfixOptions::default();
            let options = export::IpfixOptions {
                mtu: run.ipfix_mtu.map_or(defaults.mtu, usize::from),
                template_refresh: run
                    .template_refresh
                    .map_or(defaults.template_refresh, std::time::Duration::from_secs),
            };
            let ipfix = Arc::clone(counters.ipfix.get_or_init(Default::default));
            Ok(export::Sink::ipfix(&destination, &options, info, ipfix)?)
        }
    }
}

/// The request `top` and `report` share, from their flags.
fn analyze_request(args: &AnalyzeArgs) -> analyze::Request {
    analyze::Request {
        inputs: args.inputs.clone(),
        by: vec![args.by.clone()],
        metric: match args.metric {
            MetricArg::Bytes => analyze::Metric::Bytes,
            MetricArg::Packets => analyze::Metric::Packets,
            MetricArg::Flows => analyze::Metric::Flows,
            MetricArg::Records => analyze::Metric::Records,
        },
        limit: usize::try_from(args.limit).unwrap_or(usize::MAX),
        since: args.since.clone(),
        until: args.until.clone(),
        filters: args.filters.clone(),
        threads: 0,
    }
}

/// `mirrorflow top`: the result on stdout; a closed pipe ends quietly.
fn top(args: &TopArgs) -> Result<ExitCode> {
    let (top, _) = analyze_request(&args.query).top()?;
    let text = match args.format {
        TopFormat::Table => top.to_table(),
        TopFormat::Csv => top.to_csv(),
        TopFormat::Json => top.to_json(),
    };
    match std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).context("writing to stdout"),
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// `mirrorflow report`: the page, written atomically (never half a file).
fn html_report(args: &ReportArgs) -> Result<ExitCode> {
    let html = analyze::report(&analyze_request(&args.query))?;
    let mut file = export::AtomicFile::create(&args.out)?;
    std::io::Write::write_all(&mut file, html.as_bytes())
        .with_context(|| format!("writing {}", args.out.display()))?;
    file.commit()?;
    Ok(ExitCode::SUCCESS)
}
