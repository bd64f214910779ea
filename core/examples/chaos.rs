//! The long chaos run behind `bench/chaos.sh`: the suite's seeded fault mixes (see
//! `tests/support/chaos.rs`) at scale, printing p50/p99 latency, throughput, failures and
//! upstream calls per mix, the fault-free figures first. The mock runs on a thread of its
//! own so it does not share the client's two workers. Loopback only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/chaos.rs"]
mod chaos;

use chaos::Mix;
use switchyard_mock_provider::{MockServer, Script};

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .nth(index)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `RUST_LOG=switchyard=warn` shows each circuit opening, on stderr.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let calls = arg(1, 10_000);
    let callers = arg(2, 16);
    // Optional third and fourth arguments: only the mixes at this fault rate (e.g. 30),
    // only `plain` or `stream` calls.
    let only = std::env::args().nth(3).and_then(|a| a.parse::<u32>().ok());
    let style = std::env::args().nth(4);
    let mock = MockServer::start_on_own_thread(Script::default()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        println!("{calls} calls per mix; plain and stream; 1 and {callers} callers; primary faulty at the given rate");
        println!("faults: 500, 503, 429 (retry-after-ms 20), reset, malformed, cut, 60 ms spike; +hangs adds hang and stall (attempt timeout 250 ms; 30 s without)");
        let styles = [false, true].into_iter().filter(|stream| {
            style
                .as_deref()
                .is_none_or(|s| s == if *stream { "stream" } else { "plain" })
        });
        for stream in styles {
            for n in [1, callers] {
                for (i, (percent, hangs, fallback)) in [
                    (0, false, true),
                    (10, false, true),
                    (30, false, true),
                    (50, false, true),
                    (30, true, true),
                    (30, false, false),
                ]
                .into_iter()
                .enumerate()
                .filter(|(_, (percent, _, _))| only.is_none_or(|p| p == *percent))
                {
                    let mix = Mix {
                        percent,
                        seed: 1_600 + i as u64,
                        fallback,
                        stream,
                        callers: n,
                        calls,
                        hangs,
                    };
                    let report = chaos::run(&mock, mix).await;
                    println!("{}", report.line());
                }
            }
        }
    });
}
