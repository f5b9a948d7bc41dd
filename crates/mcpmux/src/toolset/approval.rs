//! The approval hook: a caller-supplied check that allows or denies each call before it is sent.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::Tool;

/// What the approval hook is asked about: one call, before it is sent.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApprovalRequest {
    /// The toolset's (prefixed) name of the tool.
    pub name: String,
    /// The server.
    pub server: String,
    /// The tool as the server describes it (annotations such as `destructiveHint` included;
    /// never trust them from an untrusted server).
    pub tool: Tool,
    /// The arguments the call would send.
    pub arguments: Value,
}

impl ApprovalRequest {
    /// Whether the server marks the tool destructive (`destructiveHint`; the MCP default for a
    /// tool that is not read-only is `true`).
    pub fn is_destructive(&self) -> bool {
        let Some(a) = &self.tool.annotations else {
            return true;
        };
        if a.read_only_hint == Some(true) {
            return false;
        }
        a.destructive_hint.unwrap_or(true)
    }
}

/// The approval hook's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// Send the call.
    Allow,
    /// Do not send it; the call fails with a `denied` error carrying this reason.
    Deny(String),
}

/// The future an [`ApprovalHook`] returns.
pub type ApprovalFuture = Pin<Box<dyn Future<Output = Approval> + Send>>;

/// Decides, before each call is sent, whether it may be. Implemented for closures
/// `Fn(ApprovalRequest) -> impl Future<Output = Approval>`.
///
/// ```
/// use mcpmux::{Approval, ApprovalRequest};
/// let hook = |req: ApprovalRequest| async move {
///     if req.is_destructive() {
///         Approval::Deny(format!("{} may change things; not without a human", req.name))
///     } else {
///         Approval::Allow
///     }
/// };
/// let builder = mcpmux::Toolset::builder().approval(hook);
/// # let _ = builder;
/// ```
pub trait ApprovalHook: Send + Sync + 'static {
    /// Allows or denies one call.
    fn check(&self, request: ApprovalRequest) -> ApprovalFuture;
}

impl<F, Fut> ApprovalHook for F
where
    F: Fn(ApprovalRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Approval> + Send + 'static,
{
    fn check(&self, request: ApprovalRequest) -> ApprovalFuture {
        Box::pin(self(request))
    }
}
