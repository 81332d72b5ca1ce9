//! Fuzz target `decode`: First 2 bytes pick a link type (common::link_for), the rest is the frame.
//! The checks live in common.rs, shared with capture/tests/fuzz_corpus.rs.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;

fuzz_target!(|data: &[u8]| common::decode_frame(data));
