//! Tool names made valid for a model API: allowed characters, 64 characters at most, no two
//! alike.

use std::collections::HashSet;

use crate::error::{Error, Result};

/// The longest function name any supported API accepts.
pub(crate) const MAX_NAME: usize = 64;

/// Which names an API accepts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NameRules {
    /// The first character must be an ASCII letter or `_` (Gemini).
    pub(crate) letter_first: bool,
}

impl NameRules {
    fn allowed(self, c: char) -> bool {
        c.is_ascii_alphanumeric() || c == '_' || c == '-'
    }

    /// Whether `name` is valid as it is.
    pub(crate) fn is_valid(self, name: &str) -> bool {
        !name.is_empty()
            && name.len() <= MAX_NAME
            && name.chars().all(|c| self.allowed(c))
            && (!self.letter_first
                || name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_'))
    }

    /// `name` with each disallowed character replaced by `_` (and `_` put first if the first
    /// character must be a letter), not yet shortened.
    fn clean(self, name: &str) -> String {
        let mut out: String = name
            .chars()
            .map(|c| if self.allowed(c) { c } else { '_' })
            .collect();
        if self.letter_first && !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
            out.insert(0, '_');
        }
        out
    }
}

/// FNV-1a, 32 bits: a stable, dependency-free hash for name suffixes.
fn fnv1a(s: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in s.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

/// The clean name cut to fit with `_` and 8 hex digits of a hash of `original` (+ `salt`).
fn hashed(rules: NameRules, original: &str, salt: u32) -> String {
    let clean = rules.clean(original);
    let keep = MAX_NAME - 9;
    let cut: String = clean.chars().take(keep).collect();
    let key = if salt == 0 {
        original.to_owned()
    } else {
        format!("{original}#{salt}")
    };
    format!("{cut}_{:08x}", fnv1a(&key))
}

/// Assigns an API name to each of `names` (same order): a valid name is kept; others are cleaned
/// (`.` → `_`, ...), and shortened with a hash suffix when too long or when the cleaned name is
/// taken. Valid names are claimed first, so a valid name never changes because of another.
pub(crate) fn assign(rules: NameRules, names: &[&str]) -> Result<Vec<String>> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out: Vec<Option<String>> = vec![None; names.len()];
    for (i, n) in names.iter().enumerate() {
        if rules.is_valid(n) && taken.insert((*n).to_owned()) {
            out[i] = Some((*n).to_owned());
        }
    }
    for (i, n) in names.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let clean = rules.clean(n);
        let mut candidate = if clean.len() <= MAX_NAME {
            clean
        } else {
            hashed(rules, n, 0)
        };
        let mut salt = 0;
        while taken.contains(&candidate) {
            salt += 1;
            if salt > 1000 {
                return Err(Error::invalid(format!(
                    "cannot find a unique API name for tool `{n}`"
                )));
            }
            candidate = hashed(rules, n, salt - 1);
        }
        taken.insert(candidate.clone());
        out[i] = Some(candidate);
    }
    Ok(out.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPENAI: NameRules = NameRules {
        letter_first: false,
    };
    const GEMINI: NameRules = NameRules { letter_first: true };

    #[test]
    fn valid_names_are_kept_and_invalid_ones_cleaned() {
        let got = assign(OPENAI, &["fs_read", "web.search", "a b/c", "tool-1"]).unwrap();
        assert_eq!(got, ["fs_read", "web_search", "a_b_c", "tool-1"]);
        let got = assign(GEMINI, &["9lives_x", "ok"]).unwrap();
        assert_eq!(got, ["_9lives_x", "ok"]);
    }

    #[test]
    fn cleaned_names_never_collide_with_valid_ones() {
        // `a.b` cleans to `a_b`, which is taken by the valid `a_b` (listed later).
        let got = assign(OPENAI, &["a.b", "a_b"]).unwrap();
        assert_eq!(got[1], "a_b");
        assert_eq!(got[0], format!("a_b_{:08x}", fnv1a("a.b")));
        // Two invalid names cleaning to the same text.
        let got = assign(OPENAI, &["x.y", "x/y"]).unwrap();
        assert_eq!(got[0], "x_y");
        assert_ne!(got[1], "x_y");
        assert!(OPENAI.is_valid(&got[1]));
    }

    #[test]
    fn long_names_are_cut_to_64_with_a_hash() {
        let long = format!("server_{}", "t".repeat(80));
        let got = assign(OPENAI, &[&long]).unwrap();
        assert_eq!(got[0].len(), 64);
        assert!(got[0].starts_with("server_ttt"));
        assert_eq!(&got[0][55..56], "_");
        assert!(got[0][56..].chars().all(|c| c.is_ascii_hexdigit()));
        // Two long names sharing a 55-character prefix get different suffixes.
        let other = format!("server_{}x", "t".repeat(80));
        let got = assign(OPENAI, &[&long, &other]).unwrap();
        assert_ne!(got[0], got[1]);
        assert!(got.iter().all(|n| n.len() == 64));
    }
}
