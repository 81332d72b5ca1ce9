//! Fuzz target `read_capture`: The whole input as a pcap/pcapng file; every packet is decoded.
//! The checks live in common.rs, shared with capture/tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::read_capture(data));
