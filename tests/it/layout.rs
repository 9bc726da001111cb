//! The product crate's layout: its modules form no import circle, at either granularity (the
//! crate's top-level modules, and each file's module), each imports only from its layer or
//! below, and the proactive layer knows nothing of the stream or of reconciliation; what is
//! written once is written once, and the time of day is read by the clock alone. Read from the
//! sources: `crate::…` paths and `super::…` paths outside test modules and comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use alexa_smart_home::alexa::interface::Interface;
use alexa_smart_home::device::Field;

use crate::support::repo_path;

/// Module path ("store::dynamo", "" for the crate root) → the file's text, tests left out.
fn modules() -> BTreeMap<String, String> {
    let src = repo_path("src");
    let mut out = BTreeMap::new();
    let mut pending = vec![src.clone()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "bin") {
                    pending.push(path);
                }
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            out.insert(
                module_path(&src, &path),
                code(&std::fs::read_to_string(&path).unwrap()),
            );
        }
    }
    out
}

fn module_path(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts.join("::")
}

/// The code of a file: its `#[cfg(test)]` module and every comment line left out.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module a path names: its longest prefix that is a module.
fn resolve<'a>(known: &'a BTreeSet<String>, path: &[&str]) -> Option<&'a String> {
    (1..=path.len())
        .rev()
        .find_map(|n| known.get(&path[..n].join("::")))
}

/// Every module each module imports (itself and its ancestors left out).
fn imports(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let known: BTreeSet<String> = modules.keys().cloned().collect();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut edges = BTreeMap::new();
    for (module, text) in modules {
        let own: Vec<&str> = module.split("::").filter(|p| !p.is_empty()).collect();
        let mut found = BTreeSet::new();
        for (prefix, base) in [
            ("crate::", Vec::new()),
            ("super::", own[..own.len().saturating_sub(1)].to_vec()),
        ] {
            for (at, _) in text.match_indices(prefix) {
                if at > 0 && text[..at].ends_with(ident) {
                    continue;
                }
                let rest = &text[at + prefix.len()..];
                // `a::b::{c, d::e}`: the path up to the brace, then each group member.
                let path_end = rest
                    .find(|c: char| !(ident(c) || c == ':'))
                    .unwrap_or(rest.len());
                let path: Vec<&str> = rest[..path_end]
                    .split("::")
                    .filter(|p| !p.is_empty())
                    .collect();
                let mut targets = vec![path.clone()];
                if rest[path_end..].starts_with('{') {
                    let group = &rest[path_end + 1
                        ..rest[path_end..]
                            .find('}')
                            .map_or(path_end + 1, |e| path_end + e)];
                    for member in group.split(',') {
                        let first = member.trim().split("::").next().unwrap_or("");
                        if first.starts_with(|c: char| c.is_ascii_lowercase()) && first != "self" {
                            let mut t = path.clone();
                            t.push(first);
                            targets.push(t);
                        }
                    }
                }
                for target in targets {
                    let full: Vec<&str> = base.iter().copied().chain(target).collect();
                    if let Some(m) = resolve(&known, &full)
                        && m != module
                        && !module.starts_with(&format!("{m}::"))
                        && !m.is_empty()
                    {
                        found.insert(m.clone());
                    }
                }
            }
        }
        edges.insert(module.clone(), found);
    }
    edges
}

/// The circles of a graph: each strongly connected set of two or more modules.
fn circles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &String, to: &String| {
        let mut seen = BTreeSet::new();
        let mut pending = vec![from];
        while let Some(m) = pending.pop() {
            if m == to {
                return true;
            }
            for next in edges.get(m).into_iter().flatten() {
                if seen.insert(next) {
                    pending.push(next);
                }
            }
        }
        false
    };
    let mut out: Vec<Vec<String>> = Vec::new();
    for a in edges.keys() {
        let set: Vec<String> = edges
            .keys()
            .filter(|b| *b == a || (reaches(a, b) && reaches(b, a)))
            .cloned()
            .collect();
        if set.len() > 1 && !out.contains(&set) {
            out.push(set);
        }
    }
    out
}

fn top_level(edges: &BTreeMap<String, BTreeSet<String>>) -> BTreeMap<String, BTreeSet<String>> {
    let top = |m: &str| m.split("::").next().unwrap_or("").to_owned();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, tos) in edges {
        let entry = out.entry(top(from)).or_default();
        for to in tos {
            if top(to) != top(from) {
                entry.insert(top(to));
            }
        }
    }
    out
}

#[test]
fn the_product_crate_has_no_import_circle() {
    let edges = imports(&modules());
    assert!(
        edges.len() > 40,
        "the sources were not read: {:?}",
        edges.keys()
    );
    assert!(
        edges["stream"].contains("proactive::delivery"),
        "imports are not seen: {:?}",
        edges["stream"]
    );
    let files = circles(&edges);
    assert!(
        files.is_empty(),
        "modules that import each other: {files:?}"
    );
    let tops = top_level(&edges);
    let layers = circles(&tops);
    assert!(
        layers.is_empty(),
        "top-level modules that import each other: {layers:?}"
    );
}

#[test]
fn the_proactive_layer_knows_nothing_of_streams_or_reconciliation() {
    let tops = top_level(&imports(&modules()));
    for above in ["stream", "reconcile", "handlers", "skill", "view"] {
        assert!(
            !tops["proactive"].contains(above),
            "proactive imports {above}: {:?}",
            tops["proactive"]
        );
    }
}

/// The product's layers, bottom up (docs/architecture.md, "The layers"): a module imports
/// only from its own layer or those below. Every top-level module has its place here, so that
/// a new one is placed on purpose.
const LAYERS: &[&[&str]] = &[
    // What everything shares: the ids, the time, deadlines, error chains, metric names.
    &["ids", "clock", "deadline", "chain", "metrics"],
    // The two models.
    &["alexa", "device"],
    // The ports and clients, and the configuration they are built from.
    &[
        "http", "config", "gateway", "store", "cloud", "lwa", "linking",
    ],
    // Above the ports: grants, proactive events, the Alexa view, a customer's endpoints, and
    // the one mapping of the ports' errors to Alexa's.
    &["grants", "proactive", "view", "endpoints", "error"],
    // The Lambdas' cores.
    &["handlers", "stream", "reconcile", "bridge"],
    // The skill and the cold start the binaries share.
    &["skill", "runtime"],
];

#[test]
fn each_module_imports_only_from_its_layer_or_below() {
    let tops = top_level(&imports(&modules()));
    let layer = |m: &str| LAYERS.iter().position(|l| l.contains(&m));
    let mut wrong = Vec::new();
    for (from, tos) in tops.iter().filter(|(m, _)| !m.is_empty()) {
        let Some(own) = layer(from) else {
            wrong.push(format!("{from} has no layer"));
            continue;
        };
        for to in tos {
            if layer(to).is_none_or(|l| l > own) {
                wrong.push(format!(
                    "{from} (layer {own}) imports {to} ({:?})",
                    layer(to)
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn a_circle_is_seen() {
    let edges: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circles(&edges), [vec!["a", "b", "c"]]);
    let text = BTreeMap::from([
        (
            "x".to_owned(),
            "use crate::y::{self, z::W};\nfn f() {}".to_owned(),
        ),
        ("y".to_owned(), "use super::x;".to_owned()),
        ("y::z".to_owned(), String::new()),
    ]);
    let edges = imports(&text);
    assert_eq!(
        edges["x"],
        BTreeSet::from(["y".to_owned(), "y::z".to_owned()])
    );
    assert_eq!(edges["y"], BTreeSet::from(["x".to_owned()]));
}

/// Every file of the product (binaries too), tests and comments left out.
fn product_files() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut pending = vec![repo_path("src")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = code(&std::fs::read_to_string(&path).unwrap());
                out.insert(path.display().to_string(), text);
            }
        }
    }
    out
}

/// Each state field's attribute name is written once, where the field is declared; the same
/// word may also be Alexa's name of a property (`Property::name`, in the catalogue), which is
/// another vocabulary that happens to agree.
#[test]
fn each_state_field_name_is_spelled_once() {
    let files = product_files();
    assert!(files.len() > 40, "the sources were not read");
    for field in Field::NAMED.iter().chain([&Field::Connectivity]) {
        let literal = format!("\"{}\"", field.name());
        let mut spelled = Vec::new();
        for (path, text) in &files {
            for line in text.lines().filter(|l| l.contains(&literal)) {
                let alexa_name = path.ends_with("catalogue.rs")
                    && line.trim_start().starts_with("Self::")
                    && line.trim_end().ends_with(&format!("=> {literal},"));
                if !alexa_name {
                    spelled.push(format!("{path}: {}", line.trim()));
                }
            }
        }
        assert_eq!(spelled.len(), 1, "{field} is spelled {spelled:#?}");
    }
}

/// Each Alexa namespace is written once, on `Interface`; everything else names the interface.
#[test]
fn each_alexa_namespace_is_spelled_once() {
    let files = product_files();
    for interface in Interface::ALL {
        let literal = format!("\"{}\"", interface.namespace());
        let spelled: Vec<String> = files
            .iter()
            .flat_map(|(path, text)| {
                text.lines()
                    .filter(|l| l.contains(&literal))
                    .map(move |l| format!("{path}: {}", l.trim()))
            })
            .collect();
        assert_eq!(spelled.len(), 1, "{interface} is spelled {spelled:#?}");
    }
    // A namespace the enum lacks, written as a string somewhere, is not an interface yet.
    let namespaces: BTreeSet<&str> = files
        .values()
        .flat_map(|text| text.split('"').skip(1).step_by(2))
        .filter(|s| {
            s.strip_prefix("Alexa.").is_some_and(|rest| {
                !rest.is_empty() && rest.chars().all(|c| c.is_ascii_alphanumeric())
            })
        })
        .collect();
    let declared: BTreeSet<&str> = Interface::ALL.iter().map(|i| i.namespace()).collect();
    let undeclared: Vec<_> = namespaces.difference(&declared).collect();
    assert!(
        undeclared.is_empty(),
        "namespaces outside Interface: {undeclared:?}"
    );
}

/// The time of day is read by `Clock` alone (which a test sets), and by the deadline's
/// conversion of Lambda's epoch deadline to the monotonic clock, which is a duration.
#[test]
fn the_time_of_day_is_read_only_by_the_clock() {
    let reads: Vec<String> = product_files()
        .iter()
        .filter(|(path, _)| !path.ends_with("src/clock.rs") && !path.ends_with("src/deadline.rs"))
        .flat_map(|(path, text)| {
            text.lines()
                .filter(|l| {
                    ["SystemTime::now", "Utc::now", "Local::now"]
                        .iter()
                        .any(|r| l.contains(r))
                })
                .map(move |l| format!("{path}: {}", l.trim()))
        })
        .collect();
    assert!(
        reads.is_empty(),
        "the time of day read outside Clock: {reads:#?}"
    );
}
