//! The docs hold together: every relative link and `#anchor` in README.md, CONTRIBUTING.md and
//! the book (`docs/`) points at a file and a heading that exist, and every message the book
//! quotes from `events/` or `fixtures/` is what that file holds, so that neither a renamed
//! heading nor a changed sample can leave the docs wrong.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::repo_path;

/// The Markdown files the checks cover: README.md, CONTRIBUTING.md and every page of docs/.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut files = vec![root.join("README.md"), root.join("CONTRIBUTING.md")];
    let mut pending = vec![root.join("docs")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.retain(|f| f.exists());
    files.sort();
    files
}

/// The lines of a Markdown text that are prose: fenced code blocks blanked out (a link in a
/// code sample is not a link), line numbers kept.
fn prose_lines(text: &str) -> Vec<String> {
    let mut fence: Option<String> = None;
    text.lines()
        .map(|line| {
            let trimmed = line.trim_start();
            match &fence {
                Some(open) => {
                    if trimmed.starts_with(open.as_str()) && trimmed.trim_end() == open.as_str() {
                        fence = None;
                    }
                    String::new()
                }
                None if trimmed.starts_with("```") || trimmed.starts_with("~~~") => {
                    let marker: String = trimmed
                        .chars()
                        .take_while(|c| *c == '`' || *c == '~')
                        .collect();
                    fence = Some(marker);
                    String::new()
                }
                None => without_code_spans(line),
            }
        })
        .collect()
}

/// A line with its inline code spans blanked out.
fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else if in_code {
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// The GitHub (and mdBook) id of a heading: lowercase, letters, digits, `-` and `_` kept,
/// spaces made `-`, everything else dropped.
fn slug(heading: &str) -> String {
    let text = heading.replace('`', "");
    // A link in a heading reads as its text.
    let mut plain = String::new();
    let mut rest = text.as_str();
    while let Some(open) = rest.find('[') {
        plain.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match (after.find("]("), after.find(')')) {
            (Some(close), Some(end)) if close < end => {
                plain.push_str(&after[..close]);
                rest = &after[end + 1..];
            }
            _ => {
                plain.push('[');
                rest = after;
            }
        }
    }
    plain.push_str(rest);
    plain
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// The ids of a Markdown text's headings, a repeated one suffixed `-1`, `-2`, … as GitHub does.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut fence = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fence = !fence;
            continue;
        }
        if fence {
            continue;
        }
        let hashes = trimmed.chars().take_while(|c| *c == '#').count();
        if (1..=6).contains(&hashes) && trimmed[hashes..].starts_with(' ') {
            let base = slug(trimmed[hashes..].trim().trim_end_matches('#').trim());
            let mut id = base.clone();
            let mut n = 0;
            while seen.contains(&id) {
                n += 1;
                id = format!("{base}-{n}");
            }
            seen.insert(id);
        }
    }
    seen
}

/// Every inline link target of a prose line: `[text](target)` and `![alt](target)`, without
/// a title.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let Some(end) = after.find(')') else {
            break;
        };
        let target = after[..end].split_whitespace().next().unwrap_or("");
        targets.push(target.trim_matches(['<', '>']).to_owned());
        rest = &after[end + 1..];
    }
    targets
}

/// What is wrong with the links of `files` (paths relative to `root`), one line each.
fn broken_links(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut broken = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        for (n, line) in prose_lines(&text).iter().enumerate() {
            for target in link_targets(line) {
                if target.is_empty()
                    || target.contains("://")
                    || target.starts_with("mailto:")
                    || target.starts_with("{{")
                {
                    continue;
                }
                let (path, anchor) = match target.split_once('#') {
                    Some((path, anchor)) => (path, Some(anchor)),
                    None => (target.as_str(), None),
                };
                let linked = if path.is_empty() {
                    file.clone()
                } else {
                    file.parent().unwrap_or(root).join(path)
                };
                let at = format!("{name}:{}: {target}", n + 1);
                if !linked.exists() {
                    broken.push(format!("{at}: no such file"));
                    continue;
                }
                let Some(anchor) = anchor else {
                    continue;
                };
                if linked.extension().is_none_or(|e| e != "md") {
                    broken.push(format!("{at}: an anchor into a file that is not Markdown"));
                    continue;
                }
                let headings = anchors(&std::fs::read_to_string(&linked).unwrap());
                if !headings.contains(anchor) {
                    broken.push(format!("{at}: no heading with that id"));
                }
            }
        }
    }
    broken
}

/// Whether `part` equals `whole` or a value somewhere inside it.
fn contains(whole: &Value, part: &Value) -> bool {
    whole == part
        || match whole {
            Value::Array(items) => items.iter().any(|v| contains(v, part)),
            Value::Object(map) => map.values().any(|v| contains(v, part)),
            _ => false,
        }
}

/// What is wrong with the quoted examples of `files`: a fenced block right after
/// `<!-- quote: PATH -->` must hold that file's content (as JSON, if the file is JSON), and
/// each JSON value of a block after `<!-- quote-part: PATH -->` must stand in that file. The
/// number of blocks checked comes back too.
fn broken_quotes(root: &Path, files: &[PathBuf]) -> (Vec<String>, usize) {
    let (mut broken, mut checked) = (Vec::new(), 0);
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        let name = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        let lines: Vec<&str> = text.lines().collect();
        for (n, line) in lines.iter().enumerate() {
            let line = line.trim();
            let (whole, source) = if let Some(s) = line.strip_prefix("<!-- quote:") {
                (true, s)
            } else if let Some(s) = line.strip_prefix("<!-- quote-part:") {
                (false, s)
            } else {
                continue;
            };
            let source = source.trim_end_matches("-->").trim();
            let at = format!("{name}:{}: {source}", n + 1);
            let Ok(quoted) = std::fs::read_to_string(root.join(source)) else {
                broken.push(format!("{at}: no such file"));
                continue;
            };
            let Some(open) = lines
                .get(n + 1)
                .filter(|l| l.trim_start().starts_with("```"))
            else {
                broken.push(format!("{at}: no fenced block right after the comment"));
                continue;
            };
            let fence: String = open
                .trim_start()
                .chars()
                .take_while(|c| *c == '`')
                .collect();
            let block: Vec<&str> = lines[n + 2..]
                .iter()
                .take_while(|l| l.trim() != fence)
                .copied()
                .collect();
            let block = block.join("\n");
            checked += 1;
            let json = serde_json::from_str::<Value>(&quoted).ok();
            match (whole, json) {
                (true, Some(file_value)) => match serde_json::from_str::<Value>(&block) {
                    Ok(v) if v == file_value => {}
                    Ok(_) => broken.push(format!("{at}: the block differs from the file")),
                    Err(e) => broken.push(format!("{at}: the block is not JSON: {e}")),
                },
                (true, None) => {
                    if block.trim() != quoted.trim() {
                        broken.push(format!("{at}: the block differs from the file"));
                    }
                }
                (false, Some(file_value)) => {
                    let values = serde_json::Deserializer::from_str(&block).into_iter::<Value>();
                    for value in values {
                        match value {
                            Ok(v) if contains(&file_value, &v) => {}
                            Ok(v) => broken.push(format!("{at}: not in the file: {v}")),
                            Err(e) => broken.push(format!("{at}: the block is not JSON: {e}")),
                        }
                    }
                }
                (false, None) => {
                    broken.push(format!("{at}: quote-part needs a JSON file"));
                }
            }
        }
    }
    (broken, checked)
}

#[test]
fn every_link_and_anchor_of_the_docs_points_at_something_that_exists() {
    let root = repo_path("");
    let files = documents(&root);
    assert!(
        files.iter().any(|f| f.ends_with("docs/SUMMARY.md")),
        "the book's table of contents is missing: {files:?}"
    );
    let broken = broken_links(&root, &files);
    assert!(
        broken.is_empty(),
        "{} broken links:\n{}",
        broken.len(),
        broken.join("\n")
    );
}

#[test]
fn every_example_the_docs_quote_is_what_its_file_holds() {
    let root = repo_path("");
    let (broken, checked) = broken_quotes(&root, &documents(&root));
    assert!(
        broken.is_empty(),
        "{} quoted examples are wrong:\n{}",
        broken.len(),
        broken.join("\n")
    );
    assert!(checked >= 3, "only {checked} quoted examples checked");
}

/// A scratch folder with the given files, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = std::env::temp_dir().join(format!("docs-check-{}", uuid::Uuid::new_v4()));
        for (name, text) in files {
            let path = dir.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_renamed_heading_or_a_changed_sample_is_caught() {
    let dir = Scratch::new(&[
        (
            "README.md",
            "# Title\n\nSee [the tables](docs/tables.md#the-devices-table), \
             [the keys](docs/tables.md#keys-and-streams), [gone](docs/gone.md) and \
             [here](#title).\n\n```md\n[not a link](nowhere.md)\n```\n",
        ),
        (
            "docs/tables.md",
            "# Tables\n\n## The `devices` table\n\n## Keys, and streams (2)\n\n<!-- quote: events/a.json -->\n```json\n{\"a\": 1}\n```\n\n<!-- quote-part: events/a.json -->\n```json\n{\"b\": [2]}\n```\n",
        ),
        ("events/a.json", "{\"a\": 2, \"c\": {\"b\": [2]}}"),
    ]);
    let files = documents(&dir.0);
    let broken = broken_links(&dir.0, &files);
    assert_eq!(
        broken,
        [
            "README.md:3: docs/tables.md#keys-and-streams: no heading with that id",
            "README.md:3: docs/gone.md: no such file",
        ]
    );
    let (broken, checked) = broken_quotes(&dir.0, &files);
    assert_eq!(checked, 2);
    assert_eq!(
        broken,
        ["docs/tables.md:7: events/a.json: the block differs from the file"]
    );
}

#[test]
fn headings_become_the_ids_github_and_mdbook_give_them() {
    assert_eq!(
        slug("The HTTPS contract (for your API)"),
        "the-https-contract-for-your-api"
    );
    assert_eq!(
        slug("Issue #12: the catalogue and the new device kinds"),
        "issue-12-the-catalogue-and-the-new-device-kinds"
    );
    assert_eq!(slug("The `table` adapter"), "the-table-adapter");
    assert_eq!(slug("[Linked](x.md) heading"), "linked-heading");
    let ids = anchors("# A\n## A\n```\n# not a heading\n```\n### B c\n");
    assert_eq!(
        ids.into_iter().collect::<Vec<_>>(),
        ["a", "a-1", "b-c"].map(String::from)
    );
}
