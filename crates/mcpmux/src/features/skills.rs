//! Skills (SEP-2640, extension `io.modelcontextprotocol/skills`): listed by the server, loaded
//! only when needed, and verified before use.
//!
//! [`Guard::list_skills`] reads no skill file. [`Guard::load_skill`] reads the skill's
//! `SKILL.md` and checks it against the listing: byte size, `sha256:` digest, and the YAML
//! frontmatter field by field; any mismatch refuses the skill. [`Guard::read_skill_file`] reads a
//! supporting file of a loaded skill and verifies it the same way.

use base64::Engine as _;
use mcpmux_protocol::{JsonObject, ReadResourceResult};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::server::Guard;

/// The extension's id, as servers advertise it under `capabilities.extensions`.
pub const SKILLS_EXTENSION: &str = "io.modelcontextprotocol/skills";
const SKILLS_LIST: &str = "skills/list";
const MAX_PAGES: usize = 1000;

/// A file belonging to a skill, with what it must hash to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillFile {
    /// The resource URI.
    pub uri: String,
    /// `sha256:<hex>` of its bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Its length in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

/// A skill as `skills/list` describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillEntry {
    /// The URI of its `SKILL.md`.
    pub uri: String,
    /// The frontmatter the `SKILL.md` must carry (`name`, `description`, ...).
    #[serde(default)]
    pub frontmatter: JsonObject,
    /// Its files (the `SKILL.md` among them), with digests and sizes.
    #[serde(default)]
    pub resources: Vec<SkillFile>,
    /// Unmodelled fields.
    #[serde(flatten)]
    pub extra: JsonObject,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListSkillsResult {
    #[serde(default)]
    skills: Vec<SkillEntry>,
    #[serde(default)]
    next_cursor: Option<String>,
}

/// A skill whose `SKILL.md` was fetched and verified.
#[derive(Debug, Clone)]
pub struct LoadedSkill {
    /// The listing it was verified against.
    pub entry: SkillEntry,
    /// The verified `SKILL.md`.
    pub skill_md: String,
}

/// The bytes of the first content of a `resources/read` result.
fn resource_bytes(r: &ReadResourceResult, uri: &str) -> Result<Vec<u8>> {
    let c = r
        .contents
        .iter()
        .find(|c| c.uri == uri)
        .or_else(|| r.contents.first())
        .ok_or_else(|| Error::protocol(format!("resources/read of {uri} returned no contents")))?;
    if let Some(t) = &c.text {
        return Ok(t.as_bytes().to_vec());
    }
    let b = c.blob.as_deref().unwrap_or("");
    base64::engine::general_purpose::STANDARD
        .decode(b)
        .map_err(|e| Error::protocol_from(format!("resource {uri} has an invalid base64 blob"), e))
}

/// Checks `bytes` against a listed size and digest.
fn verify(file: &SkillFile, bytes: &[u8]) -> Result<()> {
    if let Some(size) = file.size
        && size != bytes.len() as u64
    {
        return Err(Error::protocol(format!(
            "skill file {} refused: {} bytes, the listing says {size}",
            file.uri,
            bytes.len()
        )));
    }
    if let Some(digest) = &file.digest {
        let Some(hex) = digest.strip_prefix("sha256:") else {
            return Err(Error::protocol(format!(
                "skill file {} refused: unsupported digest {digest:?}",
                file.uri
            )));
        };
        let actual: String = Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        if !actual.eq_ignore_ascii_case(hex) {
            return Err(Error::protocol(format!(
                "skill file {} refused: its sha256 is {actual}, the listing says {hex}",
                file.uri
            )));
        }
    }
    Ok(())
}

/// Parses the YAML frontmatter of a `SKILL.md`: `key: value` lines between `---` fences.
///
/// Deliberately small (no YAML crate): plain and quoted scalars only. A field it cannot read
/// compares unequal, so the skill is refused rather than trusted.
pub(crate) fn frontmatter(md: &str) -> Option<JsonObject> {
    let mut lines = md.lines();
    if lines.next()?.trim_end() != "---" {
        return None;
    }
    let mut out = JsonObject::new();
    for line in lines {
        if line.trim_end() == "---" {
            return Some(out);
        }
        if line.starts_with([' ', '\t', '#']) || line.trim().is_empty() {
            continue;
        }
        let (k, v) = line.split_once(':')?;
        let v = v.trim();
        let v = if v.len() >= 2
            && ((v.starts_with('"') && v.ends_with('"'))
                || (v.starts_with('\'') && v.ends_with('\'')))
        {
            &v[1..v.len() - 1]
        } else {
            v
        };
        out.insert(k.trim().to_owned(), Value::String(v.to_owned()));
    }
    None
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Guard {
    /// `skills/list`: the server's skills (all pages). Reads no skill file.
    ///
    /// # Errors
    /// As [`Guard::request`].
    ///
    /// # Cancel safety
    /// Dropping the future cancels the page request in flight; nothing is kept.
    pub async fn list_skills(&self) -> Result<Vec<SkillEntry>> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let mut params = JsonObject::new();
            if let Some(c) = cursor.take() {
                params.insert("cursor".into(), Value::String(c));
            }
            let page: ListSkillsResult = self.request(SKILLS_LIST, &params).await?;
            all.extend(page.skills);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
        Err(Error::protocol("skills/list returned too many pages"))
    }

    /// Loads a skill: fetches its `SKILL.md` and verifies size, digest and frontmatter against
    /// the listing.
    ///
    /// # Errors
    /// A protocol error naming the mismatch when verification fails (the content is not
    /// returned); as [`Guard::request`] otherwise.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the resource read in flight; nothing is kept.
    pub async fn load_skill(&self, entry: &SkillEntry) -> Result<LoadedSkill> {
        let listed = entry
            .resources
            .iter()
            .find(|f| f.uri == entry.uri)
            .cloned()
            .unwrap_or(SkillFile {
                uri: entry.uri.clone(),
                digest: None,
                size: None,
            });
        let read = self.read_resource(&entry.uri).await?;
        let bytes = resource_bytes(&read, &entry.uri)?;
        verify(&listed, &bytes)?;
        let skill_md = String::from_utf8(bytes)
            .map_err(|e| Error::protocol_from(format!("skill {} is not UTF-8", entry.uri), e))?;
        let parsed = frontmatter(&skill_md).ok_or_else(|| {
            Error::protocol(format!(
                "skill {} refused: no readable frontmatter",
                entry.uri
            ))
        })?;
        for (key, want) in &entry.frontmatter {
            let got = parsed.get(key).map(scalar);
            if got.as_deref() != Some(scalar(want).as_str()) {
                return Err(Error::protocol(format!(
                    "skill {} refused: frontmatter {key:?} is {:?}, the listing says {:?}",
                    entry.uri,
                    got.unwrap_or_default(),
                    scalar(want)
                )));
            }
        }
        Ok(LoadedSkill {
            entry: entry.clone(),
            skill_md,
        })
    }

    /// Reads a supporting file of a loaded skill, verified against the listing.
    ///
    /// # Errors
    /// A protocol error if `uri` is not one of the skill's files or fails verification.
    ///
    /// # Cancel safety
    /// Dropping the future cancels the resource read in flight; nothing is kept.
    pub async fn read_skill_file(&self, skill: &LoadedSkill, uri: &str) -> Result<Vec<u8>> {
        let file = skill
            .entry
            .resources
            .iter()
            .find(|f| f.uri == uri)
            .ok_or_else(|| {
                Error::protocol(format!("{uri} is not a file of skill {}", skill.entry.uri))
            })?;
        let read = self.read_resource(uri).await?;
        let bytes = resource_bytes(&read, uri)?;
        verify(file, &bytes)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontmatter_is_read_and_compared_as_strings() {
        let md =
            "---\nname: pdf-processing\ndescription: \"Extract, fill: assemble\"\n---\n\nBody\n";
        let fm = frontmatter(md).unwrap();
        assert_eq!(fm["name"], "pdf-processing");
        assert_eq!(fm["description"], "Extract, fill: assemble");
        assert!(frontmatter("no fence").is_none());
        assert!(frontmatter("---\nname: x\n").is_none(), "unterminated");
    }

    #[test]
    fn size_and_digest_are_checked() {
        let body = b"hello\n";
        let digest: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let ok = SkillFile {
            uri: "skill://x".into(),
            digest: Some(format!("sha256:{digest}")),
            size: Some(6),
        };
        assert!(verify(&ok, body).is_ok());
        assert!(verify(&ok, b"hellO\n").is_err());
        let wrong_size = SkillFile {
            size: Some(7),
            ..ok.clone()
        };
        assert!(verify(&wrong_size, body).is_err());
        let md5 = SkillFile {
            digest: Some("md5:abc".into()),
            ..ok
        };
        assert!(verify(&md5, body).is_err());
    }
}
