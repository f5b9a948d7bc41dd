//! The future of one tool call ([`Guard::call_tool`] and its variants).
//!
//! Written by hand rather than as an `async fn`: a compiler-built state machine keeps room for
//! every nested future and for the parameters each one copies, which made a call's future
//! 904 bytes (release) — per call in flight, and copied when an application spawns it. The
//! common call (a session over stdio or Streamable HTTP, no tasks, no progress callback)
//! needs only its inputs until it is queued and then the reply channel and the cancel guard;
//! every other call runs the general `async` path, boxed.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use mcpmux_protocol::methods;

use crate::error::{Error, Result};
use crate::request::{self, RequestOptions, Waiting};
use crate::server::{Guard, ToolArgs};
use mcpmux_protocol::CallToolResult;

/// A boxed step of the general path.
type Boxed<'a> = Pin<Box<dyn Future<Output = Result<CallToolResult>> + Send + 'a>>;

/// The future returned by [`Guard::call_tool`], [`Guard::call_tool_with`] and
/// [`Guard::call_tool_ref`]. Nothing is sent before its first poll; dropping it before it
/// completes cancels the call.
pub(crate) struct CallTool<'a> {
    state: State<'a>,
}

enum State<'a> {
    /// Not polled yet.
    Start {
        guard: &'a Guard,
        name: &'a str,
        arguments: ToolArgs<'a>,
        options: RequestOptions,
    },
    /// The common path: queued, waiting for the response.
    Waiting {
        guard: &'a Guard,
        name: &'a str,
        waiting: Waiting<'a>,
    },
    /// The general path (or the structured-output check after the common one).
    Boxed(Boxed<'a>),
    /// Completed.
    Done,
}

impl<'a> CallTool<'a> {
    pub(crate) fn new(
        guard: &'a Guard,
        name: &'a str,
        arguments: ToolArgs<'a>,
        options: RequestOptions,
    ) -> Self {
        CallTool {
            state: State::Start {
                guard,
                name,
                arguments,
                options,
            },
        }
    }
}

impl Future for CallTool<'_> {
    type Output = Result<CallToolResult>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        // At most three turns: start, wait, then possibly the boxed check.
        loop {
            match &mut this.state {
                State::Start { .. } => {
                    let State::Start {
                        guard,
                        name,
                        arguments,
                        options,
                    } = std::mem::replace(&mut this.state, State::Done)
                    else {
                        return Poll::Ready(Err(polled_after_completion()));
                    };
                    if guard.is_plain_call(&options) {
                        match guard.queue_plain_call(name, &arguments, &options) {
                            Ok(waiting) => {
                                this.state = State::Waiting {
                                    guard,
                                    name,
                                    waiting,
                                }
                            }
                            Err(e) => return Poll::Ready(Err(e)),
                        }
                    } else {
                        this.state = State::Boxed(Box::pin(
                            guard.call_tool_general(name, arguments, options),
                        ));
                    }
                }
                State::Waiting {
                    guard,
                    name,
                    waiting,
                } => {
                    let raw = ready!(waiting.poll_result(cx, methods::TOOLS_CALL));
                    let (guard, name) = (*guard, *name);
                    this.state = State::Done;
                    let result = raw.and_then(|raw| {
                        request::parse_raw_result::<CallToolResult>(methods::TOOLS_CALL, &raw)
                    });
                    match result {
                        Ok(result) if guard.needs_output_check(&result) => {
                            this.state = State::Boxed(Box::pin(async move {
                                guard.check_structured_output(name, &result).await?;
                                Ok(result)
                            }));
                        }
                        Ok(result) => {
                            return Poll::Ready(
                                guard.check_missing_output(name, &result).map(|()| result),
                            );
                        }
                        Err(e) => return Poll::Ready(Err(e)),
                    }
                }
                State::Boxed(fut) => {
                    let result = ready!(fut.as_mut().poll(cx));
                    this.state = State::Done;
                    return Poll::Ready(result);
                }
                State::Done => return Poll::Ready(Err(polled_after_completion())),
            }
        }
    }
}

fn polled_after_completion() -> Error {
    Error::invalid("a tool call's future was polled after it completed")
}
