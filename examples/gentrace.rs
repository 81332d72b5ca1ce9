//! Writes a synthetic pcap for benchmarks: `gentrace OUT [PACKETS] [FLOWS] [IP_LEN] [SNAPLEN] [SEED]`.

use std::{fs::File, io::BufWriter};

use capture::synth::{write_pcap, TraceSpec};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: gentrace OUT [PACKETS] [FLOWS] [IP_LEN] [SNAPLEN] [SEED]");
        std::process::exit(1);
    };
    let num = |i: usize, default: u64| {
        args.get(i)
            .map_or(default, |a| a.parse().expect("a number"))
    };
    let defaults = TraceSpec::default();
    let spec = TraceSpec {
        packets: num(1, defaults.packets),
        flows: num(2, u64::from(defaults.flows)) as u32,
        ip_len: num(3, u64::from(defaults.ip_len)) as u16,
        snaplen: num(4, u64::from(defaults.snaplen)) as u32,
        seed: num(5, defaults.seed),
        ..defaults
    };
    let mut file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let bytes = write_pcap(&spec, &mut file)?;
    eprintln!(
        "{out}: {} packets, {} flows, {bytes} bytes",
        spec.packets, spec.flows
    );
    Ok(())
}
