//! The union of the upstreams' resources, resource templates and prompts, and the way back from
//! an offered URI or prompt name to the upstream that owns it.
//!
//! Resource URIs pass through unchanged; only a URI that two upstreams both list is rewritten,
//! to `mcpmux://SERVER/URI`. Prompt names follow the tools' `--prefix` rule.

use std::collections::HashMap;
use std::time::Duration;

use mcpmux::Guard;
use mcpmux_protocol::{Prompt, Resource, ResourceTemplate};

use crate::names::sanitize;
use crate::{Gateway, Prefix};

/// How long listing waits for one upstream: a hung one is left out of the list, never holds
/// it up for long.
pub(crate) const LIST_WAIT: Duration = Duration::from_secs(10);

/// The scheme of rewritten URIs.
const SHARED: &str = "mcpmux://";

/// What one list request shows, and who owns each entry.
#[derive(Debug, Default, Clone)]
pub(crate) struct Catalog {
    pub(crate) resources: Vec<Resource>,
    pub(crate) templates: Vec<ResourceTemplate>,
    pub(crate) prompts: Vec<Prompt>,
    /// Offered URI → (server, the server's URI).
    uris: HashMap<String, (String, String)>,
    /// (server, template) for routing URIs no list names.
    template_owners: Vec<(String, String)>,
    /// Offered prompt name → (server, the server's name).
    prompt_names: HashMap<String, (String, String)>,
}

/// Which lists to read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Want {
    Resources,
    Templates,
    Prompts,
}

impl Catalog {
    /// This catalog with the `want` parts taken from `fresh`.
    pub(crate) fn merged_with(&self, fresh: &Catalog, want: &[Want]) -> Catalog {
        let mut out = self.clone();
        for w in want {
            match w {
                Want::Resources => {
                    out.resources = fresh.resources.clone();
                    out.uris = fresh.uris.clone();
                }
                Want::Templates => {
                    out.templates = fresh.templates.clone();
                    out.template_owners = fresh.template_owners.clone();
                }
                Want::Prompts => {
                    out.prompts = fresh.prompts.clone();
                    out.prompt_names = fresh.prompt_names.clone();
                }
            }
        }
        out
    }

    /// The owner of offered URI `uri` and the URI to ask it for: a listed resource, a
    /// rewritten one, or one a template of exactly one upstream matches. `None`: unknown here
    /// (try every upstream).
    pub(crate) fn route_uri(&self, uri: &str) -> Option<(String, String)> {
        if let Some(owner) = self.uris.get(uri) {
            return Some(owner.clone());
        }
        if let Some(rest) = uri.strip_prefix(SHARED)
            && let Some((server, inner)) = rest.split_once('/')
        {
            return Some((server.to_owned(), inner.to_owned()));
        }
        let mut matching = self
            .template_owners
            .iter()
            .filter(|(_, t)| template_matches(t, uri));
        match (matching.next(), matching.next()) {
            (Some((server, _)), None) => Some((server.clone(), uri.to_owned())),
            _ => None,
        }
    }

    /// The URI a client sees for upstream `server`'s `uri` (for notifications).
    pub(crate) fn offered_uri(&self, server: &str, uri: &str) -> String {
        match self.uris.get(uri) {
            Some((owner, _)) if owner == server => uri.to_owned(),
            Some(_) => format!("{SHARED}{server}/{uri}"),
            None if self.uris.contains_key(&format!("{SHARED}{server}/{uri}")) => {
                format!("{SHARED}{server}/{uri}")
            }
            None => uri.to_owned(),
        }
    }

    /// The upstream that lists template `template` exactly.
    pub(crate) fn template_server(&self, template: &str) -> Option<String> {
        self.template_owners
            .iter()
            .find(|(_, t)| t == template)
            .map(|(s, _)| s.clone())
    }

    /// The owner of offered prompt `name` and its own name for it.
    pub(crate) fn route_prompt(&self, name: &str) -> Option<(String, String)> {
        self.prompt_names.get(name).cloned()
    }
}

/// The upstreams that are up now, each with a live connection (a dead one is reconnected,
/// within [`LIST_WAIT`]).
pub(crate) async fn live_upstreams(gateway: &Gateway) -> Vec<(String, Guard)> {
    let toolset = gateway.toolset();
    let names: Vec<String> = toolset.server_names().map(str::to_owned).collect();
    let found = futures_util::future::join_all(names.into_iter().map(|name| async move {
        let guard = upstream(gateway, &name).await.ok()?;
        Some((name, guard))
    }))
    .await;
    found.into_iter().flatten().collect()
}

/// A live connection to upstream `server`, waiting at most [`LIST_WAIT`] for a reconnection.
///
/// # Errors
/// Why not: the server is unknown, failed to start, or cannot be reached now.
pub(crate) async fn upstream(gateway: &Gateway, server: &str) -> Result<Guard, String> {
    let toolset = gateway.toolset();
    if let Some(guard) = toolset.guard(server)
        && !guard.is_closed()
    {
        return Ok(guard);
    }
    let Some(handle) = toolset.server(server) else {
        return Err(format!("there is no server `{server}`"));
    };
    match tokio::time::timeout(LIST_WAIT, handle.enter()).await {
        Ok(Ok(guard)) => Ok(guard),
        Ok(Err(e)) => Err(format!(
            "server `{server}` is unavailable: {}",
            crate::dispatch::chain(&e)
        )),
        Err(_) => Err(format!(
            "server `{server}` is unavailable: not connected within {} s",
            LIST_WAIT.as_secs()
        )),
    }
}

/// Reads the `want` lists of every live upstream that offers them and builds the catalog.
pub(crate) async fn read(gateway: &Gateway, want: &[Want]) -> Catalog {
    let upstreams = live_upstreams(gateway).await;
    let lists = futures_util::future::join_all(upstreams.iter().map(|(name, guard)| async move {
        let caps = &guard.initialize_result().capabilities;
        let mut resources = Vec::new();
        let mut templates = Vec::new();
        let mut prompts = Vec::new();
        for w in want {
            let wait = |f| tokio::time::timeout(LIST_WAIT, f);
            match w {
                Want::Resources if caps.resources.is_some() => {
                    match wait(guard.resources()).await {
                        Ok(Ok(list)) => resources = list.as_ref().clone(),
                        Ok(Err(e)) => warn(name, "resources", &e.to_string()),
                        Err(_) => warn(name, "resources", "no answer in time"),
                    }
                }
                Want::Templates if caps.resources.is_some() => {
                    match tokio::time::timeout(LIST_WAIT, guard.list_resource_templates()).await {
                        Ok(Ok(list)) => templates = list,
                        Ok(Err(e)) => warn(name, "resource templates", &e.to_string()),
                        Err(_) => warn(name, "resource templates", "no answer in time"),
                    }
                }
                Want::Prompts if caps.prompts.is_some() => {
                    match tokio::time::timeout(LIST_WAIT, guard.prompts()).await {
                        Ok(Ok(list)) => prompts = list.as_ref().clone(),
                        Ok(Err(e)) => warn(name, "prompts", &e.to_string()),
                        Err(_) => warn(name, "prompts", "no answer in time"),
                    }
                }
                _ => {}
            }
        }
        (name.clone(), resources, templates, prompts)
    }))
    .await;
    build(lists, gateway.prefix(), gateway.toolset().separator())
}

fn warn(server: &str, what: &str, why: &str) {
    tracing::warn!(server, "cannot list the {what}: {why}");
}

type Lists = (String, Vec<Resource>, Vec<ResourceTemplate>, Vec<Prompt>);

/// The catalog of the upstreams' lists (in upstream order).
fn build(lists: Vec<Lists>, prefix: Prefix, separator: &str) -> Catalog {
    let mut catalog = Catalog::default();
    // URIs listed by more than one upstream are rewritten.
    let mut owners: HashMap<&str, usize> = HashMap::new();
    for (_, resources, _, _) in &lists {
        for r in resources {
            *owners.entry(r.uri.as_str()).or_default() += 1;
        }
    }
    let shared: Vec<String> = owners
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(uri, _)| uri.to_owned())
        .collect();
    let mut prompt_count: HashMap<String, usize> = HashMap::new();
    for (_, _, _, prompts) in &lists {
        for p in prompts {
            *prompt_count.entry(p.name.clone()).or_default() += 1;
        }
    }
    for (server, resources, templates, prompts) in lists {
        for mut r in resources {
            let upstream_uri = r.uri.clone();
            if shared.contains(&r.uri) {
                r.uri = format!("{SHARED}{server}/{}", r.uri);
            }
            catalog
                .uris
                .insert(r.uri.clone(), (server.clone(), upstream_uri));
            catalog.resources.push(r);
        }
        for t in templates {
            catalog
                .template_owners
                .push((server.clone(), t.uri_template.clone()));
            catalog.templates.push(t);
        }
        for mut p in prompts {
            let collides = prompt_count.get(&p.name) > Some(&1);
            let raw = match prefix {
                Prefix::Always => format!("{server}{separator}{}", p.name),
                // A prompt name two servers share is prefixed even under `never`: prompts are
                // listed lazily, after startup, so a conflict cannot stop the start.
                Prefix::Auto | Prefix::Never if collides => {
                    format!("{server}{separator}{}", p.name)
                }
                Prefix::Auto | Prefix::Never => p.name.clone(),
            };
            let Some(name) = sanitize(&raw) else {
                continue;
            };
            if catalog.prompt_names.contains_key(&name) {
                tracing::warn!(server, prompt = %p.name, "a prompt whose offered name is taken is left out");
                continue;
            }
            let upstream = std::mem::replace(&mut p.name, name.clone());
            catalog
                .prompt_names
                .insert(name, (server.clone(), upstream));
            catalog.prompts.push(p);
        }
    }
    catalog
}

/// Whether `uri` matches RFC 6570 `template` (simple `{var}` expressions match one or more
/// characters other than `/`; `{+var}` / `{#var}` / others match anything).
pub(crate) fn template_matches(template: &str, uri: &str) -> bool {
    // Parts: literal text and expressions.
    fn go(t: &str, u: &str) -> bool {
        match t.find('{') {
            None => t == u,
            Some(open) => {
                let (lit, rest) = t.split_at(open);
                let Some(u) = u.strip_prefix(lit) else {
                    return false;
                };
                let Some(close) = rest.find('}') else {
                    return false;
                };
                let expr = &rest[1..close];
                let after = &rest[close + 1..];
                let any = expr.starts_with(['+', '#', '/', '.', ';', '?', '&']);
                // Try every length for the expression's value, shortest first.
                for (i, c) in u.char_indices() {
                    if !any && c == '/' {
                        return false;
                    }
                    let end = i + c.len_utf8();
                    if go(after, &u[end..]) {
                        return true;
                    }
                }
                false
            }
        }
    }
    go(template, uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(uri: &str) -> Resource {
        serde_json::from_value(serde_json::json!({"uri": uri, "name": uri}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn prompt(name: &str) -> Prompt {
        serde_json::from_value(serde_json::json!({"name": name})).unwrap_or_else(|e| panic!("{e}"))
    }

    fn template(t: &str) -> ResourceTemplate {
        serde_json::from_value(serde_json::json!({"uriTemplate": t, "name": t}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn templates_match_simple_and_reserved_expressions() {
        assert!(template_matches(
            "test://template/{id}/data",
            "test://template/123/data"
        ));
        assert!(!template_matches(
            "test://template/{id}/data",
            "test://template/1/2/data"
        ));
        assert!(!template_matches(
            "test://template/{id}/data",
            "test://template//data"
        ));
        assert!(template_matches("file:///{+path}", "file:///a/b/c.txt"));
        assert!(template_matches("x://{a}-{b}", "x://1-2"));
        assert!(!template_matches("x://{a}", "y://1"));
        assert!(template_matches("plain://uri", "plain://uri"));
    }

    #[test]
    fn shared_uris_are_rewritten_and_the_rest_pass_through() {
        let lists = vec![
            (
                "a".to_owned(),
                vec![resource("file:///shared"), resource("a://only")],
                vec![template("a://t/{id}")],
                vec![prompt("greet"), prompt("solo")],
            ),
            (
                "b".to_owned(),
                vec![resource("file:///shared")],
                vec![template("b://t/{id}")],
                vec![prompt("greet")],
            ),
        ];
        let c = build(lists, Prefix::Never, "_");
        let uris: Vec<&str> = c.resources.iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "mcpmux://a/file:///shared",
                "a://only",
                "mcpmux://b/file:///shared"
            ]
        );
        assert_eq!(
            c.route_uri("mcpmux://b/file:///shared"),
            Some(("b".into(), "file:///shared".into()))
        );
        assert_eq!(
            c.route_uri("a://only"),
            Some(("a".into(), "a://only".into()))
        );
        assert_eq!(c.route_uri("b://t/7"), Some(("b".into(), "b://t/7".into())));
        assert_eq!(c.route_uri("nobody://x"), None);
        assert_eq!(
            c.offered_uri("b", "file:///shared"),
            "mcpmux://b/file:///shared"
        );
        assert_eq!(c.offered_uri("a", "a://only"), "a://only");
        let names: Vec<&str> = c.prompts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["a_greet", "solo", "b_greet"]);
        assert_eq!(
            c.route_prompt("b_greet"),
            Some(("b".into(), "greet".into()))
        );
        let always = build(
            vec![("s".to_owned(), vec![], vec![], vec![prompt("p")])],
            Prefix::Always,
            "_",
        );
        assert_eq!(always.route_prompt("s_p"), Some(("s".into(), "p".into())));
    }
}
