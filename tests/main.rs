//! Integration tests: the real `mirrorflow` binary on fixture captures, compared
//! with expectations computed independently (tshark or by hand).

mod analyze;
mod annotate;
mod common;
mod compressed;
mod counting;
mod encap;
mod errors;
mod export;
mod intervals;
mod ipfix;
mod ipfix_live;
mod live;
mod regression;
mod replay;
mod report;
mod robustness;
mod sampling;
mod tcp;
mod tcp_live;
