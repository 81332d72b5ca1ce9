//! The read-only floor of the whole-run benchmark: `readpass TRACE`.
//!
//! Opens the capture with the same [`CaptureReader`] mirrorflow uses and walks
//! every packet, summing the captured and original lengths (and touching the
//! first and last captured byte) so the walk cannot be optimised away. No
//! decode, no aggregation, no output but one line of totals on stdout:
//! `packets=N bytes=N orig_bytes=N file_bytes=N secs=S pps=P`.

use std::{hint::black_box, path::PathBuf, time::Instant};

use capture::source::CaptureReader;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: readpass TRACE");
        std::process::exit(2);
    };
    let start = Instant::now();
    let mut reader = CaptureReader::open(&path)?;
    let (mut packets, mut bytes, mut orig_bytes, mut touch) = (0u64, 0u64, 0u64, 0u64);
    while let Some(packet) = reader.next_packet()? {
        packets += 1;
        bytes += packet.data.len() as u64;
        orig_bytes += u64::from(packet.orig_len);
        if let (Some(first), Some(last)) = (packet.data.first(), packet.data.last()) {
            touch = touch.wrapping_add(u64::from(*first) ^ u64::from(*last));
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(touch);
    println!(
        "packets={packets} bytes={bytes} orig_bytes={orig_bytes} file_bytes={} secs={secs:.6} pps={:.0}",
        reader.bytes_consumed(),
        packets as f64 / secs.max(1e-9)
    );
    Ok(())
}
