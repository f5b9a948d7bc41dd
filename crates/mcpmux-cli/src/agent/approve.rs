//! `--approve`: the toolset's approval hook asks on the terminal before each tool call, one
//! question at a time (the calls of a turn run at once, the questions do not).

use std::io::{self, BufRead as _, Write as _};
use std::sync::Arc;

use indicatif::MultiProgress;
use mcpmux::{Approval, ApprovalFuture, ApprovalHook, ApprovalRequest};

/// Asks on stderr and reads the answer from stdin (a terminal: checked before), with the
/// spinners of the running calls held still meanwhile.
#[derive(Debug, Clone)]
pub struct AskUser {
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
    progress: Option<MultiProgress>,
}

impl AskUser {
    /// Asks with the spinners of `progress` (if any) out of the way.
    pub fn new(progress: Option<MultiProgress>) -> AskUser {
        AskUser {
            one_at_a_time: Arc::default(),
            progress,
        }
    }
}

impl ApprovalHook for AskUser {
    fn check(&self, request: ApprovalRequest) -> ApprovalFuture {
        let lock = Arc::clone(&self.one_at_a_time);
        let progress = self.progress.clone();
        Box::pin(async move {
            let _turn = lock.lock().await;
            let question = format!(
                "mcpmux: call `{}` of server `{}` with {}? [y/N] ",
                request.tool.name, request.server, request.arguments
            );
            let answer = tokio::task::spawn_blocking(move || {
                let ask = || {
                    let mut stderr = io::stderr().lock();
                    let _ = stderr.write_all(question.as_bytes());
                    let _ = stderr.flush();
                    let mut line = String::new();
                    io::stdin().lock().read_line(&mut line).map(|_| line)
                };
                match &progress {
                    Some(progress) => progress.suspend(ask),
                    None => ask(),
                }
            })
            .await;
            match answer {
                Ok(Ok(line)) if matches!(line.trim(), "y" | "Y" | "yes" | "Yes") => Approval::Allow,
                _ => Approval::Deny("the user declined this call".to_owned()),
            }
        })
    }
}
