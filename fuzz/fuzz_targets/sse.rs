//! The SSE parser: arbitrary chunking never panics, events never exceed the cap, and the events
//! are the same however the bytes are split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpmux_protocol::sse::SseParser;

fn run(data: &[u8], cuts: &[usize], max: usize) -> Vec<String> {
    let mut p = SseParser::new(max);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let end = cut.clamp(start, data.len());
        p.push(&data[start..end]);
        while let Some(ev) = p.next_event() {
            if let Ok(ev) = &ev {
                assert!(ev.data.as_ref().map_or(0, String::len) <= max * 4);
            }
            out.push(format!("{ev:?}"));
        }
        start = end;
    }
    p.finish();
    out
}

fuzz_target!(|input: (u8, Vec<u16>, Vec<u8>)| {
    let (max, cuts, data) = input;
    let max = usize::from(max) * 4 + 1;
    let mut cuts: Vec<usize> = cuts.into_iter().map(usize::from).collect();
    cuts.sort_unstable();
    let chunked = run(&data, &cuts, max);
    // Below the cap, the events do not depend on how the bytes were split.
    let whole = run(&data, &[], max);
    let too_large = |events: &[String]| events.iter().any(|e| e.starts_with("Err"));
    if !too_large(&chunked) && !too_large(&whole) {
        assert_eq!(chunked, whole);
    }
});
