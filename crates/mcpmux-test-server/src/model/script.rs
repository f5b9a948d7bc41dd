//! The script a [`ModelServer`](super::ModelServer) replays: one reply per model turn.

use serde_json::Value;

/// What the model says in one turn.
#[derive(Debug, Clone, PartialEq)]
pub enum Turn {
    /// A reply: text (may be empty) and tool calls (may be none), in that order.
    Reply {
        /// The text.
        text: String,
        /// The tool calls: name and arguments (a JSON object).
        tool_calls: Vec<(String, Value)>,
    },
    /// HTTP 200 with a body that is not the API's JSON (nor its event stream).
    Garbage,
}

/// The turns, replayed by position: a request whose history holds N assistant messages gets
/// turn N (the last turn again once the script is exhausted). Choosing by history, not by
/// arrival, lets several conversations share one server.
///
/// As JSON:
/// `{"turns": [{"text": "...", "tool_calls": [{"name": "...", "arguments": {...}}]}, {"garbage": true}]}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    /// The turns in order (never empty).
    pub turns: Vec<Turn>,
}

impl Script {
    /// A script of these turns.
    ///
    /// # Errors
    /// No turns.
    pub fn new(turns: Vec<Turn>) -> Result<Script, String> {
        if turns.is_empty() {
            return Err("a model script needs at least one turn".to_owned());
        }
        Ok(Script { turns })
    }

    /// Reads the JSON form (see [`Script`]).
    ///
    /// # Errors
    /// A message naming what is wrong with the JSON.
    pub fn from_json(value: &Value) -> Result<Script, String> {
        let turns = value
            .get("turns")
            .and_then(Value::as_array)
            .ok_or("a model script is {\"turns\": [...]}")?;
        let turns = turns
            .iter()
            .enumerate()
            .map(|(i, turn)| parse_turn(turn).map_err(|e| format!("turn {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Script::new(turns)
    }

    /// The turn answering a history with `assistant_messages` assistant messages.
    pub fn turn(&self, assistant_messages: usize) -> (usize, &Turn) {
        let last = self.turns.len().saturating_sub(1);
        let index = assistant_messages.min(last);
        match self.turns.get(index) {
            Some(turn) => (assistant_messages, turn),
            None => (assistant_messages, &Turn::Garbage),
        }
    }
}

fn parse_turn(turn: &Value) -> Result<Turn, String> {
    if turn.get("garbage").and_then(Value::as_bool) == Some(true) {
        return Ok(Turn::Garbage);
    }
    let text = match turn.get("text") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => return Err("`text` must be a string".to_owned()),
    };
    let mut tool_calls = Vec::new();
    if let Some(calls) = turn.get("tool_calls") {
        let calls = calls.as_array().ok_or("`tool_calls` must be an array")?;
        for call in calls {
            let name = call
                .get("name")
                .and_then(Value::as_str)
                .ok_or("each tool call needs a `name`")?;
            let arguments = call
                .get("arguments")
                .cloned()
                .unwrap_or_else(|| Value::Object(Default::default()));
            if !arguments.is_object() {
                return Err("a tool call's `arguments` must be an object".to_owned());
            }
            tool_calls.push((name.to_owned(), arguments));
        }
    }
    Ok(Turn::Reply { text, tool_calls })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_replies_and_garbage_and_repeats_the_last_turn() {
        let script = Script::from_json(&json!({"turns": [
            {"text": "hi", "tool_calls": [{"name": "a_echo", "arguments": {"text": "x"}}]},
            {"garbage": true}
        ]}))
        .unwrap();
        assert_eq!(
            script.turn(0).1,
            &Turn::Reply {
                text: "hi".into(),
                tool_calls: vec![("a_echo".into(), json!({"text": "x"}))]
            }
        );
        assert_eq!(script.turn(1).1, &Turn::Garbage);
        assert_eq!(script.turn(7).1, &Turn::Garbage);
    }

    #[test]
    fn rejects_bad_scripts() {
        assert!(Script::from_json(&json!({"turns": []})).is_err());
        assert!(Script::from_json(&json!({"turns": [{"tool_calls": [{}]}]})).is_err());
        assert!(Script::from_json(&json!([])).is_err());
    }
}
