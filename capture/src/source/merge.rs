//! Reading several captures as one: each capture file named with the time
//! of its first packet ([`Input`]), and their packets merged in time order
//! ([`Merge`]).

use std::{
    fs,
    path::{Path, PathBuf},
};

use crate::{source::CaptureReader, Error, RawPacket, Timestamp};

/// One capture to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A capture file.
    File {
        /// Where it is.
        path: PathBuf,
        /// The time of its first packet (0 if it has none, or the first is
        /// damaged).
        first: Timestamp,
    },
    /// Standard input (`-`), always the only input.
    Stdin,
}

impl Input {
    /// A capture file, with the time of its first packet (read here, so
    /// that captures can be put in time order before any is read).
    pub fn file(path: PathBuf) -> Result<Input, Error> {
        let mut reader = CaptureReader::open(&path)?;
        // A capture whose first packet is damaged still sorts (first); the
        // damage is reported when it is read.
        let first = reader.step().ok().flatten().unwrap_or(Timestamp(0));
        Ok(Input::File { path, first })
    }

    /// Opens the capture (reads and checks its header).
    pub fn open(&self) -> Result<CaptureReader, Error> {
        match self {
            Input::File { path, .. } => CaptureReader::open(path),
            Input::Stdin => {
                CaptureReader::from_reader(Box::new(std::io::stdin()), PathBuf::from("-"))
            }
        }
    }

    /// The name to put in messages.
    pub fn name(&self) -> &Path {
        match self {
            Input::File { path, .. } => path,
            Input::Stdin => Path::new("-"),
        }
    }

    /// Size in bytes, for the progress bar (unknown for stdin).
    pub fn size(&self) -> Option<u64> {
        match self {
            Input::File { path, .. } => fs::metadata(path).ok().map(|m| m.len()),
            Input::Stdin => None,
        }
    }

    /// When the merge reaches this input: the time of its first packet.
    pub fn first(&self) -> Timestamp {
        match self {
            Input::File { first, .. } => *first,
            Input::Stdin => Timestamp(0),
        }
    }
}

/// The packets of several captures merged in time order, as mergecap
/// merges them: each capture is read in its own order, on its own
/// read-ahead thread, and the earliest of their next packets comes first
/// (on a tie, the capture that starts first). A capture is opened when the
/// merge reaches its first packet, so consecutive captures (a rotated
/// folder) hold one or two open, and captures of the same time (two
/// mirrors, two interfaces) give the records one capture of both would.
pub struct Merge<'a> {
    inputs: &'a [Input],
    /// Index in `inputs` of the next capture to open.
    pending: usize,
    /// Every open capture holds its next packet, not yet handed out.
    open: Vec<Open>,
    /// Bytes read of the captures closed so far.
    consumed_closed: u64,
}

/// An open capture, held at its next packet.
struct Open {
    input: usize,
    reader: CaptureReader,
    ts: Timestamp,
}

impl Open {
    /// Where this capture's next packet falls in the merge.
    fn place(&self) -> (Timestamp, usize) {
        (self.ts, self.input)
    }
}

impl<'a> Merge<'a> {
    /// A merge of `inputs`, sorted by [`Input::first`] (stable: inputs
    /// starting together are taken in the order given).
    pub fn new(inputs: &'a [Input]) -> Self {
        Merge {
            inputs,
            pending: 0,
            open: Vec::new(),
            consumed_closed: 0,
        }
    }

    /// Hands about `budget` packets in time order to `each`, with the index
    /// of their input, or fewer if `each` returns `false` (stop).
    /// `Ok(false)` once every capture has ended.
    ///
    /// Packets of one capture go out in a tight loop for as long as they
    /// come before every other capture's next packet: with one capture open
    /// the merge costs a comparison per packet. An error ends the capture it
    /// names; the merge goes on with the others at the next call (the
    /// caller decides whether to make it).
    #[inline]
    pub fn read(
        &mut self,
        budget: u64,
        mut each: impl FnMut(usize, &RawPacket<'_>) -> bool,
    ) -> Result<bool, Error> {
        let mut left = budget;
        loop {
            if self.pending < self.inputs.len() {
                self.open_due()?;
            }
            let Some(at) = self.earliest() else {
                return Ok(false);
            };
            // The first packet of any other capture: this one's packets go
            // out until they pass it.
            let others = self.open.iter().enumerate().filter(|&(i, _)| i != at);
            let pending = self.inputs.get(self.pending);
            let until = others
                .map(|(_, o)| o.place())
                .chain(pending.map(|input| (input.first(), self.pending)))
                .min()
                .unwrap_or((Timestamp(u64::MAX), usize::MAX));
            let open = &mut self.open[at];
            loop {
                let go_on = open
                    .reader
                    .packet()
                    .is_none_or(|packet| each(open.input, &packet));
                left = left.saturating_sub(1);
                // The packet handed out is behind every capture, even when
                // `each` says stop.
                match open.reader.step() {
                    Ok(Some(ts)) => open.ts = ts,
                    end => {
                        self.close(at, end.map(drop))?;
                        if go_on {
                            break;
                        }
                        return Ok(true);
                    }
                }
                if left == 0 || !go_on {
                    return Ok(true);
                }
                if open.place() > until {
                    break;
                }
            }
        }
    }

    /// Bytes read so far, over every input: a progress measure.
    pub fn consumed(&self) -> u64 {
        let open: u64 = self.open.iter().map(|o| o.reader.source_bytes_read()).sum();
        self.consumed_closed + open
    }

    /// Opens the captures whose first packet the merge has reached, each
    /// held at that packet.
    fn open_due(&mut self) -> Result<(), Error> {
        while let Some(input) = self.inputs.get(self.pending) {
            let reached = self.earliest().map(|at| self.open[at].place());
            if reached.is_some_and(|place| (input.first(), self.pending) > place) {
                break;
            }
            self.pending += 1;
            let mut reader = input.open()?;
            match reader.step() {
                Ok(Some(ts)) => self.open.push(Open {
                    input: self.pending - 1,
                    reader,
                    ts,
                }),
                end => {
                    self.consumed_closed += reader.source_bytes_read();
                    end?;
                }
            }
        }
        Ok(())
    }

    /// Position in `open` of the earliest next packet.
    fn earliest(&self) -> Option<usize> {
        let (at, _) = self
            .open
            .iter()
            .enumerate()
            .min_by_key(|(_, o)| o.place())?;
        Some(at)
    }

    /// Closes the capture at `at`, which ended with `end`.
    #[cold]
    fn close(&mut self, at: usize, end: Result<(), Error>) -> Result<(), Error> {
        let closed = self.open.swap_remove(at);
        self.consumed_closed += closed.reader.source_bytes_read();
        end
    }
}

#[cfg(test)]
mod tests {
    use std::{fs, path::Path};

    use super::*;

    /// A classic µs pcap (LINKTYPE_RAW) at `dir/name` whose packets are
    /// stamped `seconds` and carry their own second as their one byte.
    fn capture(dir: &Path, name: &str, seconds: &[u32]) -> Input {
        let mut bytes = Vec::new();
        for word in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
            bytes.extend_from_slice(&word.to_le_bytes());
        }
        for &s in seconds {
            for word in [s, 0, 1, 1] {
                bytes.extend_from_slice(&word.to_le_bytes());
            }
            bytes.push(s as u8);
        }
        let path = dir.join(name);
        fs::write(&path, bytes).unwrap();
        Input::file(path).unwrap()
    }

    /// (input, second) of every packet the merge hands out, calling `read`
    /// with `budget` and stopping after every `stop_every` packets.
    fn merged(inputs: &[Input], budget: u64, stop_every: usize) -> Vec<(usize, u8)> {
        let mut merge = Merge::new(inputs);
        let mut seen = Vec::new();
        while merge
            .read(budget, |input, packet| {
                seen.push((input, packet.data[0]));
                seen.len() % stop_every != 0
            })
            .unwrap()
        {}
        seen
    }

    #[test]
    fn captures_merge_in_time_order_whatever_the_steps() {
        let dir = std::env::temp_dir().join(format!("mirrorflow-merge-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        // Named and given against time order; b and c tie at 5 s (b starts
        // first, so it goes first); d starts after the others end.
        let mut inputs = vec![
            capture(&dir, "d.pcap", &[9, 10]),
            capture(&dir, "c.pcap", &[2, 5, 6]),
            capture(&dir, "b.pcap", &[1, 3, 5, 7]),
        ];
        inputs.sort_by_key(Input::first);
        let names: Vec<_> = inputs.iter().map(|i| i.name().to_owned()).collect();
        assert_eq!(
            names,
            ["b", "c", "d"].map(|n| dir.join(format!("{n}.pcap")))
        );
        let want = vec![
            (0, 1),
            (1, 2),
            (0, 3),
            (0, 5),
            (1, 5),
            (1, 6),
            (0, 7),
            (2, 9),
            (2, 10),
        ];
        for (budget, stop_every) in [
            (u64::MAX, usize::MAX),
            (1, usize::MAX),
            (2, 3),
            (u64::MAX, 1),
        ] {
            assert_eq!(
                merged(&inputs, budget, stop_every),
                want,
                "budget {budget}, stop every {stop_every}"
            );
        }
        let _ = fs::remove_dir_all(&dir);
    }
}
