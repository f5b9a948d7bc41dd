//! Tasks (MCP 2025-11-25, experimental): a tool call that runs as a task the client polls.

use std::time::Duration;

use mcpmux_protocol::{
    CallToolParams, CallToolResult, CreateTaskResult, JsonObject, ListTasksResult, Task,
    TaskIdParams, TaskMetadata, TaskStatus, methods,
};

use crate::error::{Error, Result};
use crate::request::RequestOptions;
use crate::server::Guard;
use serde_json::Value;

/// Poll interval when the server suggests none.
const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// Floor on the server's poll interval, so a bad value cannot spin.
const MIN_POLL: Duration = Duration::from_millis(50);

/// A task the server is running for a tool call. [`wait`](Self::wait) polls it to the end.
///
/// # Drop behavior
/// Dropping the handle, or the [`wait`](Self::wait) future before it finished, cancels the
/// task on the server with `tasks/cancel` (tasks are not cancelled by `notifications/cancelled`).
/// Use [`detach`](Self::detach) to let it run on.
#[derive(Debug)]
#[must_use = "dropping a task handle cancels the task"]
pub struct TaskHandle {
    guard: Guard,
    task: Task,
    armed: bool,
    options: RequestOptions,
}

impl TaskHandle {
    /// The task as last seen.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The task's id.
    pub fn id(&self) -> &str {
        &self.task.task_id
    }

    /// Gives up the handle without cancelling the task; returns its id.
    pub fn detach(mut self) -> String {
        self.armed = false;
        self.task.task_id.clone()
    }

    /// Polls the task (honouring the server's `pollInterval`) until it finishes or needs input,
    /// then fetches its result with `tasks/result` (which also carries the server's requests,
    /// e.g. an elicitation, to the client's handlers).
    ///
    /// # Errors
    /// [`ErrorKind::Cancelled`](crate::ErrorKind::Cancelled) if the task was cancelled; a
    /// server error if it failed; as [`Guard::request`] otherwise.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the task (see the type's drop behavior).
    pub async fn wait(mut self) -> Result<CallToolResult> {
        loop {
            match self.task.status {
                TaskStatus::Cancelled => {
                    self.armed = false;
                    return Err(Error::cancelled(format!(
                        "task {} was cancelled{}",
                        self.task.task_id,
                        self.task
                            .status_message
                            .as_deref()
                            .map(|m| format!(": {m}"))
                            .unwrap_or_default()
                    )));
                }
                TaskStatus::Completed | TaskStatus::Failed | TaskStatus::InputRequired => break,
                TaskStatus::Working | TaskStatus::Unknown => {}
            }
            let wait = self
                .task
                .poll_interval
                .map_or(DEFAULT_POLL, Duration::from_millis)
                .max(MIN_POLL);
            tokio::time::sleep(wait).await;
            self.task = self.guard.get_task(&self.task.task_id).await?;
        }
        let result = self
            .guard
            .task_result(&self.task.task_id, &self.options)
            .await;
        self.armed = false;
        result
    }
}

impl Drop for TaskHandle {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        // Cancel in the background: Drop cannot await. Without a runtime the connection task
        // is gone anyway and the server drops the task with its session.
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let guard = self.guard.clone();
            let id = self.task.task_id.clone();
            rt.spawn(async move {
                if let Err(e) = guard.cancel_task(&id).await {
                    tracing::debug!("tasks/cancel {id} failed: {e}");
                }
            });
        }
    }
}

impl Guard {
    pub(crate) async fn start_task(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        meta: Option<JsonObject>,
        ttl: Option<Duration>,
        options: RequestOptions,
    ) -> Result<TaskHandle> {
        let params = CallToolParams {
            name: name.to_owned(),
            arguments,
            meta,
            task: Some(TaskMetadata {
                ttl: ttl.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            }),
        };
        let created: CreateTaskResult = self
            .request(methods::TOOLS_CALL, &params)
            .options(options.clone())
            .await?;
        Ok(TaskHandle {
            guard: self.clone(),
            task: created.task,
            armed: true,
            options,
        })
    }

    /// Calls a tool as a task (`tools/call` with `task`), for tools the server runs in the
    /// background. `ttl` asks the server to keep the task that long.
    ///
    /// [`call_tool`](Self::call_tool) already does this for tools that require it.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Examples
    /// ```no_run
    /// # async fn f(guard: mcpmux::Guard) -> mcpmux::Result<()> {
    /// let task = guard.call_tool_as_task("research", serde_json::json!({"topic": "rust"}), None).await?;
    /// println!("started {}", task.id());
    /// let result = task.wait().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Cancel safety
    /// Dropping the future before it returns cancels the `tools/call` that creates the task;
    /// once it has returned, the [`TaskHandle`] owns the task.
    pub async fn call_tool_as_task(
        &self,
        name: &str,
        arguments: Value,
        ttl: Option<Duration>,
    ) -> Result<TaskHandle> {
        let arguments = super::tool_arguments(arguments)?;
        self.start_task(name, arguments, None, ttl, RequestOptions::new())
            .await
    }

    /// `tasks/get`: a task's current state.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request (`notifications/cancelled`); the task is not
    /// affected.
    pub async fn get_task(&self, task_id: &str) -> Result<Task> {
        self.request(
            methods::TASKS_GET,
            &TaskIdParams {
                task_id: task_id.to_owned(),
            },
        )
        .await
    }

    /// `tasks/result`: a finished task's tool result (the server may hold the answer until the
    /// task ends).
    ///
    /// # Errors
    /// As [`Guard::request`]; a failed task's error as a server error.
    pub(crate) async fn task_result(
        &self,
        task_id: &str,
        options: &RequestOptions,
    ) -> Result<CallToolResult> {
        self.request(
            methods::TASKS_RESULT,
            &TaskIdParams {
                task_id: task_id.to_owned(),
            },
        )
        .options(options.clone())
        .await
    }

    /// `tasks/cancel`.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the request; whether the task was cancelled is then unknown.
    pub async fn cancel_task(&self, task_id: &str) -> Result<Task> {
        self.request(
            methods::TASKS_CANCEL,
            &TaskIdParams {
                task_id: task_id.to_owned(),
            },
        )
        .await
    }

    /// `tasks/list`: every task the server keeps for this client (all pages).
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the page request in flight; pages already received are
    /// dropped.
    pub async fn list_tasks(&self) -> Result<Vec<Task>> {
        super::walk(
            methods::TASKS_LIST,
            |c| self.page::<ListTasksResult>(methods::TASKS_LIST, c),
            |r| (r.tasks, r.next_cursor),
        )
        .await
    }
}
