//! The command line (docs/cli.md): clap definitions only.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Flow logs (Google Cloud VPC Flow Logs fields) from packet mirrors and pcap files.
#[derive(Debug, Parser)]
#[command(name = "mirrorflow", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read pcap/pcapng files (a folder means every capture in it, in time order; - means stdin).
    Replay(ReplayArgs),
    /// Read a live interface through libpcap until SIGINT/SIGTERM (or --duration).
    Live(LiveArgs),
    /// Flow-Analyzer-style summary of written records: the largest groups by a metric.
    Top(TopArgs),
    /// A self-contained HTML report of written records (opens with no network).
    Report(ReportArgs),
}

/// Options shared by `top` and `report` (docs/analyze.md).
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// Parquet folders or files, NDJSON files, or - for NDJSON on stdin.
    #[arg(required = true, value_name = "OUTPUT")]
    pub inputs: Vec<PathBuf>,
    /// Group by these fields: dotted record fields (a unique last part will do),
    /// src_net/N, dest_net/N, interval.
    #[arg(long, value_name = "FIELD,…", default_value = analyze::DEFAULT_BY)]
    pub by: String,
    /// What to rank groups by (flows: distinct 5-tuples in the group).
    #[arg(long, value_enum, default_value_t = MetricArg::Bytes)]
    pub metric: MetricArg,
    /// Rows shown; the rest are summed in an "other" row.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: u64,
    /// Only intervals starting at or after this time: RFC 3339 or relative (-15m, -2h).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Only intervals starting before this time: RFC 3339 or relative (-15m, -2h).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub until: Option<String>,
    /// Count only records where FIELD=VALUE or FIELD!=VALUE (repeatable; all must hold):
    /// a CIDR for addresses, LO-HI for numbers, tcp|udp|icmp|N for protocol.
    #[arg(long = "where", value_name = "EXPR")]
    pub filters: Vec<String>,
}

/// `--metric` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    /// Sum of bytes_sent.
    Bytes,
    /// Sum of packets_sent.
    Packets,
    /// Distinct 5-tuples.
    Flows,
    /// Records.
    Records,
}

/// `mirrorflow top`.
#[derive(Debug, Args)]
pub struct TopArgs {
    /// Options shared with `report`.
    #[command(flatten)]
    pub query: AnalyzeArgs,
    /// Output: an aligned table in human units, or exact figures for scripts.
    #[arg(long, value_enum, default_value_t = TopFormat::Table)]
    pub format: TopFormat,
}

/// `top --format` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopFormat {
    /// Aligned columns, KB/MB/GB and the share of the total.
    Table,
    /// One header row, exact figures.
    Csv,
    /// One JSON document, exact figures.
    Json,
}

/// `mirrorflow replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Capture files, folders of captures, or - for stdin.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// Options shared with `live`.
    #[command(flatten)]
    pub run: RunArgs,
}

/// `mirrorflow live`.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// Interface to capture on: where the mirror arrives (SPAN port, tc mirred target, VXLAN stream); `any` for all.
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: String,
    /// Capture only what this BPF filter (tcpdump syntax) accepts, e.g. 'udp port 4789'.
    #[arg(long, value_name = "EXPR")]
    pub bpf: Option<String>,
    /// Bytes kept of each packet: only headers are read, and byte counts come from the IP headers.
    #[arg(long, value_name = "N", default_value_t = capture::source::DEFAULT_SNAPLEN,
          value_parser = clap::value_parser!(u32).range(64..=262_144))]
    pub snaplen: u32,
    /// Kernel capture ring size in MiB: what absorbs bursts while the reader is busy.
    #[arg(long = "buffer-mb", value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=2047))]
    pub buffer_mb: u32,
    /// Stop after SECS seconds, as on SIGTERM.
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub duration: Option<u64>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9750).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,
    /// Options shared with `replay`.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Options shared by `replay` and `live` (docs/cli.md).
#[derive(Debug, Args)]
pub struct RunArgs {
    /// File to write (- for stdout); with -f parquet, the folder to write (required); with
    /// -f ipfix, udp://HOST:PORT, tcp://HOST:PORT or FILE.ipfix.
    #[arg(short = 'o', long = "out", default_value = "-", value_name = "PATH")]
    pub out: PathBuf,
    /// Output format.
    #[arg(short = 'f', long = "format", value_enum, default_value_t = Format::Json)]
    pub format: Format,
    /// Aggregation interval, whole seconds 1..3600.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    pub interval: u64,
    /// How long an interval stays open after packet time passes its end.
    #[arg(long, default_value_t = 1, value_name = "SECS")]
    pub lateness: u32,
    /// Keep a flow iff hash(key, salt) < R, 0 < R <= 1.
    #[arg(long = "flow-sample", default_value_t = 1.0, value_name = "R")]
    pub flow_sample: f64,
    /// Count one packet in N and scale the estimates by N.
    #[arg(long = "packet-sample", default_value_t = 1, value_name = "N")]
    pub packet_sample: u64,
    /// Seed for packet sampling and the flow-sampling salt.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Write the run's statistics as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub stats: Option<PathBuf>,
    /// No progress bar or summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
    /// Worker threads: 1 reads, aggregates and writes on one thread; N > 1
    /// runs a reader and N − 1 aggregating shards. Default: one per core.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Peel mirror tunnels (all), keep outer flows (none), or also peel IP-in-IP (deep).
    #[arg(long, value_enum, default_value_t = DecapArg::All)]
    pub decap: DecapArg,
    /// Extra UDP destination ports decoded as VXLAN (besides 4789; repeatable, up to 7).
    #[arg(long = "vxlan-port", value_name = "N")]
    pub vxlan_ports: Vec<u16>,
    /// Drop duplicate copies of a packet seen within WINDOW (e.g. 2ms, 500us).
    #[arg(long, value_name = "WINDOW", value_parser = parse_window)]
    pub dedup: Option<std::time::Duration>,
    /// Flows held at once (all shards together, late records included); beyond,
    /// the oldest flows are written early as partial records [default: 4194304;
    /// ~100 bytes a flow at peak].
    #[arg(long = "max-flows", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_flows: Option<u64>,
    /// Parquet: compression codec of the files [default: zstd].
    #[arg(long, value_enum, value_name = "CODEC")]
    pub compression: Option<CompressionArg>,
    /// Parquet: start a new file when the one being written passes N MiB.
    #[arg(long = "rotate-mb", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rotate_mb: Option<u64>,
    /// Parquet: start a new file when the one being written has been open N seconds (wall clock).
    #[arg(long = "rotate-secs", value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub rotate_secs: Option<u64>,
    /// IPFIX over UDP: send the templates again every SECS seconds [default: 60].
    #[arg(long = "template-refresh", value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..))]
    pub template_refresh: Option<u64>,
    /// IPFIX: largest message in bytes, under the path MTU to the collector [default: 1400].
    #[arg(long = "ipfix-mtu", value_name = "BYTES",
          value_parser = clap::value_parser!(u16).range(export::ipfix::MIN_MTU as i64..))]
    pub ipfix_mtu: Option<u16>,
    /// A network of ours (CIDR or address; repeatable): fills `reporter` with
    /// the end that is in one (docs/annotate.md).
    #[arg(long = "local-net", value_name = "CIDR", value_parser = export::annotate::parse_net)]
    pub local_nets: Vec<export::annotate::IpNet>,
    /// A flow between two local ends gives two records, SRC and DEST, as GCP
    /// logs VM-to-VM traffic at both VMs (sums over records count it twice).
    #[arg(long = "report-both-ends")]
    pub report_both_ends: bool,
    /// Do not follow TCP connections: records carry neither rtt_msec nor
    /// retransmitted_packets, and a TCP-heavy run is faster (docs/record.md).
    #[arg(long = "no-tcp-analysis")]
    pub no_tcp_analysis: bool,
    /// A CSV of your addresses (header: cidr, vm_name, project_id, zone, region,
    /// vpc_name, subnetwork_name): fills src_instance, dest_instance, src_vpc,
    /// dest_vpc; its CIDRs are local unless --local-net is given.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// A MaxMind DB (City or Country, and ASN; repeatable): fills src_location
    /// and dest_location of ends that are not local.
    #[arg(long, value_name = "FILE.mmdb")]
    pub geoip: Vec<PathBuf>,
}

/// `--compression` values (docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompressionArg {
    /// zstd: the smallest files; every engine reads it.
    Zstd,
    /// Snappy: faster to write, larger.
    Snappy,
    /// No compression.
    None,
}

impl RunArgs {
    /// Worker threads: `--threads`, or one per core.
    pub fn threads(&self) -> usize {
        self.threads
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    }
}

/// `--decap` values (docs/cli.md, docs/decoding.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DecapArg {
    /// Peel the mirror tunnels: VXLAN, Geneve, GRE, ERSPAN I/II/III.
    All,
    /// Keep every tunnel as an ordinary outer flow.
    None,
    /// Peel mirror tunnels and IP-in-IP (IP protocols 4 and 41).
    Deep,
}

/// A duration with a unit: `2ms`, `500us`, `1s`.
fn parse_window(text: &str) -> Result<std::time::Duration, String> {
    let window =
        humantime::parse_duration(text).map_err(|e| format!("{e} (write e.g. 2ms, 500us, 1s)"))?;
    if window.is_zero() {
        return Err("the window must be longer than 0".into());
    }
    Ok(window)
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Flow-log NDJSON (GCP VPC Flow Logs field names).
    Json,
    /// Hive-partitioned Parquet files in the folder given by -o.
    Parquet,
    /// IPFIX (RFC 7011) to a collector (-o udp://HOST:PORT or tcp://HOST:PORT) or an IPFIX file.
    Ipfix,
}

/// `mirrorflow report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Options shared with `top`: --by and --metric choose the report's top-records table.
    #[command(flatten)]
    pub query: AnalyzeArgs,
    /// The HTML file to write.
    #[arg(short = 'o', long = "out", value_name = "FILE.html", required = true)]
    pub out: PathBuf,
}
