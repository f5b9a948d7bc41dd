//! Spinners and progress bars on stderr: only on a terminal, never with `-q`.

use std::io::{self, IsTerminal};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Whether progress may be drawn: stderr is a terminal and `-q` was not given.
pub fn visible(quiet: bool) -> bool {
    !quiet && io::stderr().is_terminal()
}

/// A spinner with `message`, ticking by itself (hidden when not [`visible`]).
pub fn spinner(message: impl Into<String>, quiet: bool) -> ProgressBar {
    if !visible(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
        bar.set_style(style);
    }
    bar.set_message(message.into());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A bar of `total` calls with the ok/failed counts (set as its message) and an ETA; a
/// counter when the total is unknown (hidden when not [`visible`]).
pub fn calls(total: Option<u64>, quiet: bool) -> ProgressBar {
    let Some(total) = total else {
        return counter("calls", quiet);
    };
    if !visible(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template(
        "[{elapsed_precise}] {wide_bar} {pos}/{len} calls, {msg}, ETA {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_message("0 ok, 0 failed");
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

/// A bar counting `unit`s, of unknown length (hidden when not [`visible`]).
pub fn counter(unit: &'static str, quiet: bool) -> ProgressBar {
    if !visible(quiet) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let template = format!("{{spinner}} [{{elapsed_precise}}] {{pos}} {unit} {{msg}}");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
