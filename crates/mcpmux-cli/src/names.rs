//! The one tool-naming rule of every subcommand: `SERVER.TOOL` (bare `TOOL` for a single ad-hoc
//! server) is what `tools` prints and what `call` and `batch` accept; `SERVER_TOOL` (the
//! prefixed name of `mcpmux --json tools`, the LLM-export form) is accepted everywhere too. Also
//! the "did you mean" suggestions for mistyped names.

/// The separator of prefixed names (the `Toolset`'s default).
pub const PREFIX_SEPARATOR: &str = "_";

/// The servers and tool names `name` may mean, most likely first, found without starting any
/// server: `SERVER.TOOL` (split at the first `.`) when SERVER is one of `servers`, then
/// `SERVER_TOOL` for each server whose name prefixes it (the longest first).
pub fn candidates<'a>(name: &'a str, servers: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut out = Vec::new();
    if let Some((server, tool)) = name.split_once('.')
        && !tool.is_empty()
        && let Some(s) = servers.iter().find(|s| **s == server)
    {
        out.push((*s, tool));
    }
    let mut prefixed: Vec<(&str, &str)> = servers
        .iter()
        .filter_map(|s| {
            let tool = name.strip_prefix(s)?.strip_prefix(PREFIX_SEPARATOR)?;
            (!tool.is_empty()).then_some((*s, tool))
        })
        .collect();
    prefixed.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
    for c in prefixed {
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The tool names `name` may mean on the single ad-hoc server `server`: `name` itself, then
/// `name` without a leading `SERVER.` or `SERVER_`.
pub fn ad_hoc_candidates<'a>(name: &'a str, server: &str) -> Vec<&'a str> {
    let mut out = vec![name];
    for sep in [".", PREFIX_SEPARATOR] {
        if let Some(tool) = name
            .strip_prefix(server)
            .and_then(|rest| rest.strip_prefix(sep))
            .filter(|t| !t.is_empty())
        {
            out.push(tool);
        }
    }
    out
}

/// The known name closest to `given`, if any is close enough to be a likely typo: within an
/// edit distance of a third of its length (at least 1), or an abbreviation of the other (3+
/// characters, the same first one, the others in order: `args` for `arguments`).
pub fn suggest<'a, I>(given: &str, known: I) -> Option<String>
where
    I: IntoIterator<Item = &'a str>,
{
    let mut best: Option<(usize, &str)> = None;
    for k in known {
        if k == given {
            continue;
        }
        let d = distance(given, k);
        let longest = given.chars().count().max(k.chars().count());
        let near = d <= (longest / 3).max(1);
        if (near || abbreviates(given, k) || abbreviates(k, given))
            && best.is_none_or(|(b, _)| d < b)
        {
            best = Some((d, k));
        }
    }
    best.map(|(_, k)| k.to_owned())
}

/// Whether `short` (3+ characters) starts like `long` and has the rest of its characters in
/// `long`, in order.
fn abbreviates(short: &str, long: &str) -> bool {
    if short.chars().count() < 3 || short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

/// `; did you mean `X`?` for a suggestion, else nothing.
pub fn did_you_mean(suggestion: Option<String>) -> String {
    suggestion
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

/// The edit distance of `a` and `b` in characters (insertions, deletions, substitutions and
/// swaps of neighbours, each 1: the optimal string alignment distance).
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_then_prefixed_longest_first() {
        let servers = ["a", "a_b", "local"];
        assert_eq!(candidates("local.echo", &servers), [("local", "echo")]);
        assert_eq!(candidates("local_echo", &servers), [("local", "echo")]);
        assert_eq!(candidates("a_b_c", &servers), [("a_b", "c"), ("a", "b_c")]);
        assert_eq!(candidates("a.b.c", &servers), [("a", "b.c")]);
        assert!(candidates("nosuch.echo", &servers).is_empty());
        assert!(candidates("echo", &servers).is_empty());
        assert!(candidates("local_", &servers).is_empty());
        assert!(candidates("local.", &servers).is_empty());
    }

    #[test]
    fn ad_hoc_names_with_or_without_the_server() {
        assert_eq!(ad_hoc_candidates("echo", "srv"), ["echo"]);
        assert_eq!(ad_hoc_candidates("srv.echo", "srv"), ["srv.echo", "echo"]);
        assert_eq!(ad_hoc_candidates("srv_echo", "srv"), ["srv_echo", "echo"]);
        assert_eq!(ad_hoc_candidates("srv.", "srv"), ["srv."]);
    }

    #[test]
    fn suggestions_for_typos_and_prefixes() {
        let known = ["local.echo", "local.add", "remote.echo"];
        assert_eq!(suggest("local.ech", known).as_deref(), Some("local.echo"));
        assert_eq!(suggest("locl.add", known).as_deref(), Some("local.add"));
        assert_eq!(suggest("local.nosuch", known), None);
        assert_eq!(
            suggest("args", ["id", "tool", "arguments"]).as_deref(),
            Some("arguments")
        );
        assert_eq!(
            suggest("tol", ["id", "tool", "arguments"]).as_deref(),
            Some("tool")
        );
        assert_eq!(suggest("zzz", ["id", "tool", "arguments"]), None);
        assert!(abbreviates("args", "arguments") && !abbreviates("asg", "arguments"));
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ecoh", "echo"), 1);
        assert_eq!(suggest("ecoh", ["echo", "add"]).as_deref(), Some("echo"));
        assert_eq!(did_you_mean(None), "");
        assert_eq!(did_you_mean(Some("x".into())), "; did you mean `x`?");
    }
}
