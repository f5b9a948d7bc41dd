#!/usr/bin/env python3
"""Where a client's CPU time goes: perf samples attributed to mcpmux's components.

    perf script -i PROFILE.data | python3 bench/perf_breakdown.py

Reads `perf script` output (a header line per sample, then its call stack, one indented frame
per line; record with --call-graph dwarf) and attributes each sample to the first component whose pattern
matches a frame, walking from the leaf towards the root, so an allocation or a page fault is
charged to the code that caused it (generic task-polling frames match nothing). Prints the share of samples per component.
"""

import re
import sys

# (component, regex on a frame), checked leaf-first; the first match wins.
COMPONENTS = [
    ("caller: structured-output check (tool cache)", r"check_structured_output|ListCache"),
    ("caller: encode request (write::encode_tool_call; serde_json elsewhere)", r"encode_request|CallToolParams.*serialize|mcpmux_protocol::write::"),
    ("caller: parse result into CallToolResult", r"request::parse_result|request::parse_raw_result|CallToolResult.*Deserialize"),
    ("caller: drop params / args", r"drop_in_place<mcpmux_protocol::types::CallToolParams>"),
    ("connection task: request deadlines (one timer, BTreeSet)", r"Conn::expire|BTreeSet|btree::"),
    ("timers (tokio Sleep; the harness's run deadline)", r"tokio::time::|runtime::time::|Sleep as "),
    ("caller: oneshot / channel send and wait", r"oneshot::|mpsc::|ConnHandle::send"),
    ("connection task: decode (envelope + RawValue)", r"mcpmux_protocol::jsonrpc::decode"),
    ("connection task: route response (copy result, pending map)", r"Conn::on_message|take_pending"),
    ("connection task: queue request (pending map, frame)", r"Conn::on_command"),
    ("transport: I/O and framing (stdio pipes; reqwest/hyper on HTTP)", r"StdioTransport|LineFramer|transport::http|reqwest|hyper"),
    ("caller: Guard::call_tool (rest)", r"mcpmux::server::Guard|mcpmux::request::send"),
    ("connection task (rest)", r"mcpmux::connection::Conn"),
    ("harness: spawn a task per call (allocates the call future)", r"task::spawn::spawn|JoinSet<T>::spawn"),
    ("harness: join results", r"join_next|JoinSet"),
    ("harness: build args / call wrapper", r"mcpmux_bench::worker"),
    ("tokio: park, wake-ups, context switches", r"park|futex|epoll_wait|finish_task_switch|steal_into|notify_parked|wake_by_ref|wake_by_val|schedule_local|schedule_remote|sched_yield"),
]
COMPILED = [(name, re.compile(p)) for name, p in COMPONENTS]
PAGE_FAULT = re.compile(r"exc_page_fault")


def main() -> None:
    counts: dict[str, int] = {}
    faults: dict[str, int] = {}
    total = 0
    stack: list[str] = []

    def flush() -> None:
        nonlocal total
        if not stack:
            return
        total += 1
        name = "other (libc, kernel)"
        for frame in stack:  # leaf first
            hit = next((n for n, rx in COMPILED if rx.search(frame)), None)
            if hit:
                name = hit
                break
        counts[name] = counts.get(name, 0) + 1
        if any(PAGE_FAULT.search(f) for f in stack):
            faults[name] = faults.get(name, 0) + 1
        stack.clear()

    for n, line in enumerate(sys.stdin):
        if n > 50_000_000:
            break
        if not line.strip():
            continue
        if not line[0].isspace():  # a sample's header line
            flush()
            continue
        # "    ffffffff813a2413 finish_task_switch.isra.0+0x93 ([kernel.kallsyms])"
        parts = line.strip().split(" ", 1)
        stack.append(parts[1] if len(parts) == 2 else parts[0])
    flush()
    if total == 0:
        print("no samples")
        return
    print(f"{total} samples; share of samples, (of which page faults), component")
    for name, c in sorted(counts.items(), key=lambda kv: -kv[1]):
        pf = faults.get(name, 0)
        note = f"({100 * pf / total:4.1f} %)" if pf else " " * 8
        print(f"{100 * c / total:5.1f} % {note}  {name}")
    print(f"{100 * sum(faults.values()) / total:5.1f} % in page faults overall")


if __name__ == "__main__":
    main()
