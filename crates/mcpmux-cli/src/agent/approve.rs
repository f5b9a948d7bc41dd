//! `--approve`: the toolset's approval hook asks on the terminal before each tool call, one
//! question at a time (the calls of a turn run at once, the questions do not).

use std::io::{self, BufRead as _, Write as _};
use std::sync::Arc;

use mcpmux::{Approval, ApprovalFuture, ApprovalHook, ApprovalRequest};

/// Asks on stderr and reads the answer from stdin (a terminal: checked before).
#[derive(Debug, Default, Clone)]
pub struct AskUser {
    one_at_a_time: Arc<tokio::sync::Mutex<()>>,
}

impl ApprovalHook for AskUser {
    fn check(&self, request: ApprovalRequest) -> ApprovalFuture {
        let lock = Arc::clone(&self.one_at_a_time);
        Box::pin(async move {
            let _turn = lock.lock().await;
            let question = format!(
                "mcpmux: call `{}` of server `{}` with {}? [y/N] ",
                request.tool.name, request.server, request.arguments
            );
            let answer = tokio::task::spawn_blocking(move || {
                let mut stderr = io::stderr().lock();
                let _ = stderr.write_all(question.as_bytes());
                let _ = stderr.flush();
                let mut line = String::new();
                io::stdin().lock().read_line(&mut line).map(|_| line)
            })
            .await;
            match answer {
                Ok(Ok(line)) if matches!(line.trim(), "y" | "Y" | "yes" | "Yes") => Approval::Allow,
                _ => Approval::Deny("the user declined this call".to_owned()),
            }
        })
    }
}
