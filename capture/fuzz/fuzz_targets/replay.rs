//! Fuzz target `replay`: a capture file, then bytes choosing the flow budget,
//! the lateness and packets read out of order (replay_check::Choices). The
//! checks live in replay_check.rs, shared with the integration tests.
#![no_main]

use libfuzzer_sys::fuzz_target;

mod replay_check;

fuzz_target!(|data: &[u8]| replay_check::replay(data));
