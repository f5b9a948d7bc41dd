//! `mcpmux resources [SERVER]` and `mcpmux read URI`.

use std::io::{self, Write};

use mcpmux::Toolset;
use mcpmux::protocol::{ReadResourceResult, Resource};
use serde_json::json;

use crate::args::{GlobalArgs, ListArgs, ReadArgs};
use crate::exit::{Code, Failure, Outcome};
use crate::output;
use crate::table::Table;
use crate::target::{self, Targets};

/// Every resource of every connected server that offers resources, with its server's name.
async fn all_resources(toolset: &Toolset) -> Vec<(String, Result<Vec<Resource>, mcpmux::Error>)> {
    let lists = toolset.server_names().filter_map(|name| {
        let guard = toolset.guard(name)?;
        guard.initialize_result().capabilities.resources.as_ref()?;
        Some(async move { (name.to_owned(), guard.list_resources().await) })
    });
    futures_util::future::join_all(lists).await
}

/// Runs `mcpmux resources`.
pub async fn list(args: ListArgs, global: &GlobalArgs) -> Outcome {
    let targets = Targets::select(global, &args.server, args.name.as_deref())?;
    let (toolset, broken) = targets.connect(global).await?;
    let lists = all_resources(&toolset).await;
    let (rows, code) = output::merge_lists(lists, "resources");
    let mut stdout = io::stdout().lock();
    if global.json {
        output::write_json(&mut stdout, &output::rows_json(&rows)).map_err(Failure::output)?;
    } else {
        let mut table = Table::new(&[
            ("SERVER", None),
            ("URI", Some(60)),
            ("NAME", Some(30)),
            ("MIME", None),
            ("DESCRIPTION", Some(50)),
        ]);
        for (server, r) in &rows {
            table.row(vec![
                server.clone(),
                r.uri.clone(),
                r.title.clone().unwrap_or_else(|| r.name.clone()),
                r.mime_type.clone().unwrap_or_default(),
                r.description.clone().unwrap_or_default(),
            ]);
        }
        table.write(&mut stdout).map_err(Failure::output)?;
    }
    drop(stdout);
    let reported = target::report(&toolset, &broken);
    Ok(if reported == Code::Success {
        code
    } else {
        reported
    })
}

/// Runs `mcpmux read URI`.
pub async fn read(args: ReadArgs, global: &GlobalArgs) -> Outcome {
    let targets = Targets::select(global, &args.server, args.name.as_deref())?;
    let single = targets.servers.len() == 1 && (targets.ad_hoc || args.name.is_some());
    let (toolset, broken) = targets.connect(global).await?;
    let server = if single {
        toolset.server_names().next().map(str::to_owned)
    } else {
        let listing: Vec<String> = all_resources(&toolset)
            .await
            .into_iter()
            .filter(|(_, list)| {
                list.as_ref()
                    .is_ok_and(|l| l.iter().any(|r| r.uri == args.uri))
            })
            .map(|(name, _)| name)
            .collect();
        match listing.as_slice() {
            [one] => Some(one.clone()),
            [] => {
                target::report(&toolset, &broken);
                return Err(Failure::new(
                    Code::Failed,
                    anyhow::anyhow!(
                        "no server lists `{}`; name the server with --server NAME",
                        args.uri
                    ),
                ));
            }
            many => {
                return Err(Failure::new(
                    Code::Usage,
                    anyhow::anyhow!(
                        "several servers list `{}` ({}); choose one with --server NAME",
                        args.uri,
                        many.join(", ")
                    ),
                ));
            }
        }
    };
    let Some(guard) = server.as_deref().and_then(|s| toolset.guard(s)) else {
        return Ok(target::report(&toolset, &broken).max_with(Code::Connect));
    };
    let result = guard.read_resource(&args.uri).await.map_err(|e| {
        Failure::new(
            Code::Failed,
            anyhow::Error::new(e).context(format!("reading `{}` failed", args.uri)),
        )
    })?;
    let mut stdout = io::stdout().lock();
    if global.json {
        output::write_json(&mut stdout, &result).map_err(Failure::output)?;
    } else {
        write_contents(&mut stdout, &result, args.save_media.as_deref())
            .map_err(Failure::output)?;
    }
    Ok(Code::Success)
}

fn write_contents(
    out: &mut impl Write,
    result: &ReadResourceResult,
    save: Option<&std::path::Path>,
) -> io::Result<()> {
    for (i, c) in result.contents.iter().enumerate() {
        if let Some(text) = &c.text {
            out.write_all(text.as_bytes())?;
            if !text.ends_with('\n') {
                out.write_all(b"\n")?;
            }
        } else if let Some(blob) = &c.blob {
            let mime = c.mime_type.as_deref().unwrap_or("application/octet-stream");
            match save {
                Some(dir) => {
                    let data = decode_base64(blob)?;
                    std::fs::create_dir_all(dir)?;
                    let path = dir.join(format!("resource-{i}.{}", output::extension(mime)));
                    std::fs::write(&path, data)?;
                    writeln!(out, "[{} {mime}, saved to {}]", c.uri, path.display())?;
                }
                None => writeln!(out, "[{} {mime}, {} bytes base64]", c.uri, blob.len())?,
            }
        }
    }
    out.flush()
}

/// Decodes base64 with the library's converter.
fn decode_base64(blob: &str) -> io::Result<Vec<u8>> {
    let result: mcpmux::CallToolResult = serde_json::from_value(json!({"content": [
        {"type": "image", "data": blob, "mimeType": "application/octet-stream"}
    ]}))
    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
    match mcpmux::ToolOutput::from_result(&result)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?
        .parts
        .into_iter()
        .next()
    {
        Some(mcpmux::Part::Image { data, .. }) => Ok(data),
        _ => Err(io::Error::new(io::ErrorKind::InvalidData, "no data")),
    }
}
