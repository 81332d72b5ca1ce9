//! Writes a synthetic pcap for benchmarks and tests:
//! `gentrace OUT [PACKETS] [FLOWS] [IP_LEN] [SNAPLEN] [SEED] [--KNOB N]...`,
//! the knobs being the other fields of `capture::synth::TraceSpec`.

use std::{fs::File, io::BufWriter, str::FromStr};

use capture::synth::{write_pcap, TraceSpec};

const USAGE: &str = "usage: gentrace OUT [PACKETS] [FLOWS] [IP_LEN] [SNAPLEN] [SEED] \
    [--rate-pps N] [--vlan-one-in N] [--qinq-one-in N] [--mpls-one-in N] \
    [--vxlan-one-in N] [--fragment-one-in N] [--jitter-us N]";

fn main() -> std::io::Result<()> {
    let mut spec = TraceSpec::default();
    let mut positional = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let Some(knob) = arg.strip_prefix("--") else {
            positional.push(arg);
            continue;
        };
        let value = args
            .next()
            .unwrap_or_else(|| usage(&format!("--{knob} needs a value")));
        match knob {
            "rate-pps" => spec.rate_pps = number(&value),
            "vlan-one-in" => spec.vlan_one_in = number(&value),
            "qinq-one-in" => spec.qinq_one_in = number(&value),
            "mpls-one-in" => spec.mpls_one_in = number(&value),
            "vxlan-one-in" => spec.vxlan_one_in = number(&value),
            "fragment-one-in" => spec.fragment_one_in = number(&value),
            "jitter-us" => spec.jitter_us = number(&value),
            _ => usage(&format!("unknown option --{knob}")),
        }
    }
    let Some(out) = positional.first() else {
        usage("no output file")
    };
    for (i, text) in positional.iter().enumerate().skip(1) {
        match i {
            1 => spec.packets = number(text),
            2 => spec.flows = number(text),
            3 => spec.ip_len = number(text),
            4 => spec.snaplen = number(text),
            5 => spec.seed = number(text),
            _ => usage("too many arguments"),
        }
    }
    let mut file = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let bytes = write_pcap(&spec, &mut file)?;
    eprintln!(
        "{out}: {} packets, {} flows, {bytes} bytes",
        spec.packets, spec.flows
    );
    Ok(())
}

fn number<T: FromStr>(text: &str) -> T {
    text.parse()
        .unwrap_or_else(|_| usage(&format!("not a number in range: {text}")))
}

fn usage(problem: &str) -> ! {
    eprintln!("gentrace: {problem}\n{USAGE}");
    std::process::exit(1);
}
