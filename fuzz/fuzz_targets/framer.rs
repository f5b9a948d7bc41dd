//! The newline framer: arbitrary chunking of arbitrary bytes never panics, never returns a line
//! over the limit, and frames the same bytes the same way however they are split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mcpmux_protocol::framing::{Frame, LineFramer};

fn run(data: &[u8], cuts: &[usize], max: usize) -> Vec<Frame> {
    let mut f = LineFramer::new(max);
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let end = cut.clamp(start, data.len());
        f.buffer_mut().extend_from_slice(&data[start..end]);
        while let Some(fr) = f.next_frame() {
            out.push(fr);
        }
        start = end;
    }
    out.extend(f.finish());
    out
}

fuzz_target!(|input: (u8, Vec<u16>, Vec<u8>)| {
    let (max, cuts, data) = input;
    let max = usize::from(max) + 1;
    let mut cuts: Vec<usize> = cuts.into_iter().map(usize::from).collect();
    cuts.sort_unstable();
    let chunked = run(&data, &cuts, max);
    let whole = run(&data, &[], max);
    for fr in &chunked {
        if let Frame::Line(l) = fr {
            assert!(l.len() <= max);
        }
    }
    assert_eq!(chunked, whole);
});
