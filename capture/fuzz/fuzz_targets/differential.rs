//! Fuzz target `differential`: An Ethernet frame, decoded by us and by etherparse; the flow keys must agree.
//! The checks live in common.rs, shared with capture/tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::differential(data));
