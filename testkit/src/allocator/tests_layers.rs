//! The allocator's shape, checked mechanically on its own source: no import
//! cycle between its files, the books import only the shared leaves (never
//! another book nor the code above them), and no type's inherent `impl`
//! blocks spread over more than three files.
//!
//! A file imports another when its code (comments and an inline
//! `mod tests` left out) names `super::other` (in a `use` or a path), or
//! names an item of `mod.rs` through `super::` (an edge to `mod.rs`).
//! `mod.rs` imports the files it names in a `use`, not those it only
//! declares with `mod`.

use std::collections::{BTreeMap, BTreeSet};

/// The shared leaves every part may use.
const LEAVES: [&str; 5] = ["types", "qty", "amounts", "hierarchy", "tree"];
/// The books: each owns its state and imports only leaves.
const BOOKS: [&str; 5] = ["agents", "frameworks", "roles", "quota", "filters"];

fn sources() -> BTreeMap<String, String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/allocator");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("the allocator's sources") {
        let path = entry.expect("a directory entry").path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if let Some(module) = name.strip_suffix(".rs") {
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.insert(module.to_owned(), code_of(&text));
        }
    }
    out
}

/// The code of a file: line comments dropped, and an inline test module
/// (whose `super` is the file itself) cut off.
fn code_of(text: &str) -> String {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    match code.find("#[cfg(test)]\nmod tests {") {
        Some(at) => code[..at].to_owned(),
        None => code,
    }
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Which files each file imports.
fn imports(files: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let target = |name: &str| {
        if files.contains_key(name) && name != "mod" {
            name.to_owned()
        } else {
            "mod".to_owned()
        }
    };
    let mut out = BTreeMap::new();
    for (file, code) in files {
        let mut to = BTreeSet::new();
        for (at, _) in code.match_indices("super::") {
            let rest = &code[at + "super::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let group = &group[..group.find('}').unwrap_or(group.len())];
                for item in group.split(',').map(str::trim).filter(|i| !i.is_empty()) {
                    if item != "self" {
                        to.insert(target(ident(item)));
                    }
                }
            } else if rest.starts_with('*') {
                to.insert("mod".to_owned());
            } else {
                to.insert(target(ident(rest)));
            }
        }
        if file == "mod" {
            for line in code.lines().map(str::trim) {
                let line = line.strip_prefix("pub ").unwrap_or(line);
                if let Some(path) = line.strip_prefix("use ") {
                    let first = ident(path);
                    if files.contains_key(first) {
                        to.insert(first.to_owned());
                    }
                }
            }
        }
        to.remove(file);
        out.insert(file.clone(), to);
    }
    out
}

/// A cycle of imports, if there is one (depth-first search).
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        at: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|p| p == at) {
            return Some(path[start..].to_vec());
        }
        if done.contains(at) {
            return None;
        }
        path.push(at.to_owned());
        for next in graph.get(at).into_iter().flatten() {
            if let Some(found) = visit(next, graph, done, path) {
                return Some(found);
            }
        }
        path.pop();
        done.insert(at.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|f| visit(f, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_import_cycle_between_the_allocators_files() {
    let graph = imports(&sources());
    assert!(graph.len() > 20, "sources not found: {graph:?}");
    assert_eq!(cycle(&graph), None, "{graph:#?}");
}

#[test]
fn the_cycle_check_sees_a_cycle() {
    let files: BTreeMap<String, String> = [
        ("roles", "use super::quota::QuotaState;"),
        ("quota", "use super::roles::RoleTable;"),
        ("qty", "use super::amounts::Amounts;"),
        ("amounts", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let found = cycle(&imports(&files)).expect("roles <-> quota");
    assert_eq!(found.len(), 2);
    assert!(found.contains(&"roles".to_owned()) && found.contains(&"quota".to_owned()));
}

#[test]
fn books_import_only_the_shared_leaves() {
    let graph = imports(&sources());
    for book in BOOKS {
        let to = graph.get(book).expect("the book's file");
        let bad: Vec<&String> = to
            .iter()
            .filter(|t| !LEAVES.contains(&t.as_str()))
            .collect();
        assert!(bad.is_empty(), "{book} imports {bad:?}");
    }
}

#[test]
fn no_type_has_inherent_impl_blocks_in_more_than_three_files() {
    let mut files_of: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, code) in sources() {
        for line in code.lines() {
            let Some(rest) = line.trim_start().strip_prefix("impl") else {
                continue;
            };
            let rest = match rest.strip_prefix('<') {
                Some(generic) => &generic[generic.find('>').map_or(0, |i| i + 1)..],
                None => rest,
            };
            if !rest.starts_with(' ') || rest.contains(" for ") {
                continue;
            }
            // The type's last path segment (`super::Allocator` counts too).
            let path = rest.trim_start();
            let path = &path[..path.find([' ', '<', '{']).unwrap_or(path.len())];
            let ty = ident(path.rsplit("::").next().unwrap_or(path));
            if ty.starts_with(|c: char| c.is_uppercase()) {
                files_of
                    .entry(ty.to_owned())
                    .or_default()
                    .insert(file.clone());
            }
        }
    }
    assert!(files_of.contains_key("Allocator"), "{files_of:?}");
    for (ty, files) in &files_of {
        assert!(files.len() <= 3, "impl {ty} stands in {files:?}");
    }
}
