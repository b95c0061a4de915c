//! No import cycle between the files of `testkit/src`: each file's
//! `crate::…`, `super::…` and `self::…` paths (in `use` lines and in code,
//! not in comments or visibility like `pub(super)`) are resolved to the
//! file that defines the module they name, and the graph of files must be
//! acyclic. A parent module file importing its children (`mod.rs`
//! re-exports) is an edge like any other, so a child that imports through
//! its parent's re-exports closes a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

type Module = Vec<String>;

fn collect(dir: &Path, root: &Path, files: &mut BTreeMap<Module, String>) {
    for entry in fs::read_dir(dir).expect("readable src dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect(&path, root, files);
            continue;
        }
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let rel = path.strip_prefix(root).expect("under src");
        let mut module: Module = rel
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        if module.first().map(String::as_str) == Some("bin") {
            continue;
        }
        if matches!(module.last().map(String::as_str), Some("mod" | "lib")) {
            module.pop();
        }
        files.insert(module, fs::read_to_string(&path).expect("readable file"));
    }
}

/// The file defining the longest prefix of `path`.
fn resolve(files: &BTreeMap<Module, String>, path: &[String]) -> Option<Module> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|m| files.contains_key(m))
}

/// Paths starting at `crate`, `super` or `self` in one line of code, with
/// `{a, b}` groups expanded one level.
fn paths(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let rest: String = bytes[i..].iter().collect();
        let start = ["crate::", "super::", "self::"]
            .iter()
            .find(|p| rest.starts_with(**p))
            .is_some();
        let boundary = i == 0 || !(bytes[i - 1].is_alphanumeric() || bytes[i - 1] == '_');
        if !(start && boundary) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len()
            && (bytes[end].is_alphanumeric() || bytes[end] == '_' || bytes[end] == ':')
        {
            end += 1;
        }
        let head: String = bytes[i..end].iter().collect();
        let prefix: Vec<String> = head
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        if end < bytes.len() && bytes[end] == '{' {
            let close = bytes[end..]
                .iter()
                .position(|c| *c == '}')
                .map_or(bytes.len(), |p| end + p);
            let group: String = bytes[end + 1..close].iter().collect();
            for item in group.split(',') {
                let first = item
                    .trim()
                    .split("::")
                    .next()
                    .unwrap_or("")
                    .split(' ')
                    .next()
                    .unwrap_or("");
                if first.is_empty() {
                    continue;
                }
                let mut path = prefix.clone();
                if first != "self" {
                    path.push(first.to_owned());
                }
                out.push(path);
            }
            i = close;
        } else {
            out.push(prefix);
            i = end;
        }
    }
    out
}

fn edges(files: &BTreeMap<Module, String>) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut graph = BTreeMap::new();
    for (module, text) in files {
        let code = text.split("#[cfg(test)]\nmod tests {").next().unwrap_or("");
        let mut targets = BTreeSet::new();
        for line in code.lines() {
            let line = line.trim();
            if line.starts_with("//") {
                continue;
            }
            let line = line.split("//").next().unwrap_or("");
            let line = line
                .replace("pub(super)", "")
                .replace("pub(crate)", "")
                .replace("pub(in crate::master)", "")
                .replace("pub(in crate::harness)", "");
            for path in paths(&line) {
                let target: Module = match path.first().map(String::as_str) {
                    Some("crate") => path[1..].to_vec(),
                    Some("self") => {
                        let mut t = module.clone();
                        t.extend(path[1..].iter().cloned());
                        t
                    }
                    Some("super") => {
                        let ups = path.iter().take_while(|s| *s == "super").count();
                        let mut t = module[..module.len().saturating_sub(ups)].to_vec();
                        t.extend(path[ups..].iter().cloned());
                        t
                    }
                    _ => continue,
                };
                if let Some(file) = resolve(files, &target) {
                    if &file != module {
                        targets.insert(file);
                    }
                }
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// Strongly connected components with more than one file.
fn cycles(graph: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<BTreeSet<Module>> {
    let reach = |from: &Module| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.clone()];
        while let Some(m) = todo.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&Module, BTreeSet<Module>> =
        graph.keys().map(|m| (m, reach(m))).collect();
    let mut out: Vec<BTreeSet<Module>> = Vec::new();
    for (m, from_m) in &reached {
        let comp: BTreeSet<Module> = from_m
            .iter()
            .filter(|other| reached.get(other).is_some_and(|r| r.contains(*m)))
            .cloned()
            .collect();
        if comp.len() > 1 && !out.contains(&comp) {
            out.push(comp);
        }
    }
    out
}

#[test]
fn no_import_cycle_between_files_of_the_testkit() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    collect(&root, &root, &mut files);
    assert!(
        files.len() > 50,
        "the walk found the sources: {}",
        files.len()
    );
    let graph = edges(&files);
    let name = |m: &Module| m.join("/");
    let found: Vec<Vec<String>> = cycles(&graph)
        .iter()
        .map(|c| c.iter().map(name).collect())
        .collect();
    assert!(found.is_empty(), "import cycles between files: {found:?}");
}

#[test]
fn the_checker_sees_a_cycle() {
    let mut files = BTreeMap::new();
    let m = |s: &str| s.split('/').map(str::to_owned).collect::<Module>();
    files.insert(Vec::new(), "mod a;\nmod b;\n".to_owned());
    files.insert(m("a"), "use super::b::B;\npub struct A;\n".to_owned());
    files.insert(
        m("b"),
        "use crate::a::A;\npub(super) struct B;\n".to_owned(),
    );
    let found = cycles(&edges(&files));
    assert_eq!(found.len(), 1, "{found:?}");
    files.insert(
        m("b"),
        "pub(super) struct B; // crate::a::A in a comment\n".to_owned(),
    );
    assert!(cycles(&edges(&files)).is_empty());
}

/// The book a file of `master/books` belongs to: `master/books/<book>`.
fn book_of(module: &Module) -> Option<&str> {
    match module.as_slice() {
        [m, b, book, ..] if m == "master" && b == "books" => Some(book.as_str()),
        _ => None,
    }
}

/// What a book may import from the crate: its own files, and what lies
/// below every book.
fn allowed_for_books(target: &Module) -> bool {
    let t: Vec<&str> = target.iter().map(String::as_str).collect();
    matches!(
        t.as_slice(),
        ["master", "config"] | ["master", "sim"] | ["allocator", ..] | ["agent", ..] | ["rng"]
    )
}

#[test]
fn no_book_imports_another_book_or_the_code_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    collect(&root, &root, &mut files);
    let graph = edges(&files);
    let books: BTreeSet<&str> = graph.keys().filter_map(book_of).collect();
    assert!(
        ["agents", "frameworks", "tasks", "offers"]
            .iter()
            .all(|b| books.contains(b)),
        "the walk found the books: {books:?}"
    );
    let mut wrong = Vec::new();
    for (module, targets) in &graph {
        let Some(book) = book_of(module) else {
            continue;
        };
        for target in targets {
            if book_of(target) == Some(book) || allowed_for_books(target) {
                continue;
            }
            wrong.push(format!("{} imports {}", module.join("/"), target.join("/")));
        }
    }
    assert!(
        wrong.is_empty(),
        "books importing outside themselves: {wrong:?}"
    );
}

/// The books work on plain types: no file of `master/books` names the
/// wire (`pb::` paths of `corral_proto`), tests included.
#[test]
fn no_book_names_the_wire() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    collect(&root, &root, &mut files);
    let books: Vec<&Module> = files.keys().filter(|m| book_of(m).is_some()).collect();
    assert!(books.len() >= 6, "the walk found the book files: {books:?}");
    let wire: Vec<String> = files
        .iter()
        .filter(|(m, text)| {
            book_of(m).is_some() && (text.contains("pb::") || text.contains("proto::pb"))
        })
        .map(|(m, _)| m.join("/"))
        .collect();
    assert!(wire.is_empty(), "books naming the wire: {wire:?}");
}

/// The files of `master/` that may name the wire: the edge (decoding calls,
/// encoding events, the checks of wire values, the wire forms around local
/// agents), the gRPC services and what carries their messages to the actor
/// (the handle that mounts them, the command channel, the actor, the
/// operator API's service and client), and the HTTP door (an edge of its
/// own). Everything else — the core, the books, the calls, the processes,
/// the driver loop — works on plain types.
fn may_name_the_wire(module: &Module) -> bool {
    let m: Vec<&str> = module.iter().map(String::as_str).collect();
    matches!(
        m.as_slice(),
        ["master"]
            | ["master", "edge" | "outbox" | "validate" | "local_wire"]
            | ["master", "server" | "commands"]
            | ["master", "operator", "pb" | "service" | "client"]
            | ["master", "http_door", ..]
    )
}

/// Whether `text` (a file's code, tests left out) names the wire.
fn names_the_wire(text: &str) -> bool {
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .any(|l| l.contains("pb::") || l.contains("proto::pb") || l.contains("corral_proto"))
}

/// The master's own tests: modules only compiled for `cargo test`.
fn is_test_file(module: &Module, files: &BTreeMap<Module, String>) -> bool {
    let Some((name, parent)) = module.split_last() else {
        return false;
    };
    files
        .get(parent)
        .is_some_and(|text| text.contains(&format!("#[cfg(test)]\nmod {name};")))
}

/// Only the wire edge and the gRPC services of the master name `pb`.
#[test]
fn only_the_edge_and_the_services_of_the_master_name_the_wire() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    collect(&root, &root, &mut files);
    let master: Vec<&Module> = files
        .keys()
        .filter(|m| m.first().map(String::as_str) == Some("master"))
        .collect();
    assert!(master.len() >= 40, "the walk found the master: {master:?}");
    let wire: Vec<String> = files
        .iter()
        .filter(|(m, _)| m.first().map(String::as_str) == Some("master"))
        .filter(|(m, _)| !may_name_the_wire(m) && !is_test_file(m, &files))
        .filter(|(_, text)| {
            names_the_wire(text.split("#[cfg(test)]\nmod tests {").next().unwrap_or(""))
        })
        .map(|(m, _)| m.join("/"))
        .collect();
    assert!(
        wire.is_empty(),
        "master files naming the wire outside its edge: {wire:?}"
    );
}

#[test]
fn the_wire_check_sees_a_file_naming_the_wire() {
    assert!(names_the_wire("use corral_proto::pb;\n"));
    assert!(names_the_wire("fn f(e: pb::Event) {}\n"));
    assert!(!names_the_wire("// pb::Event in a comment\nfn f() {}\n"));
    assert!(!may_name_the_wire(&vec!["master".into(), "core".into()]));
    assert!(may_name_the_wire(&vec!["master".into(), "edge".into()]));
}
