//! The layering rule, checked on the source: base modules name no feature, every
//! top-level module has a layer, and no two top-level modules depend on each other, directly
//! or around a cycle. See docs/ARCHITECTURE.md ("Layers").

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Base modules, lowest first; each may use the ones before it (the test checks only that
/// they form no cycle and name no feature).
const BASE: &[&str] = &[
    "config",
    "messages",
    "clock",
    "text",
    "choice",
    "apidoc",
    "error",
    // Before `db`: the database file is made owner-only with the store's helpers.
    "files",
    "db",
    "xlsx",
    "crypto",
    "state",
    "ops",
    "audit",
    "jobs",
    "auth",
    "indicators",
    "web",
    // 扫码签到: the mechanism and its seam (`Feature::checkin`), under the features.
    "checkin",
    "feature",
    "notify",
];
/// Features: may use the base and, where they must, another feature's public functions.
const FEATURES: &[&str] = &[
    "account",
    "org",
    "orglife",
    "guidance",
    "grading",
    "pledges",
    "volunteer",
    "hotline",
    "system",
];
/// What puts it all together: the app, the command line and the tools run from it.
const TOP: &[&str] = &["lib", "main", "app", "cli", "bootstrap", "demo"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read src") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file belongs to: `src/org/members.rs` → `org`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel
        .components()
        .next()
        .expect("a component")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.trim_end_matches(".rs").to_string()
}

/// The code without line comments (doc comments mention modules freely).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            // Not inside a string: good enough for this codebase's paths.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules named by `crate::x` paths and `use crate::{x, y::z}` groups.
fn named_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 1 => {
                        let id = ident_at(&group[j..]);
                        if !id.is_empty() {
                            out.insert(id);
                        }
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident_at(rest);
            if !id.is_empty() {
                out.insert(id);
            }
        }
    }
    out
}

fn graph() -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    // module → named module → the files that name it
    let mut g: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    for f in files {
        let m = module_of(&src, &f);
        let text = std::fs::read_to_string(&f).expect("read");
        let entry = g.entry(m.clone()).or_default();
        for n in named_modules(&code_of(&text)) {
            if n != m && n != "self" {
                entry
                    .entry(n)
                    .or_default()
                    .push(f.strip_prefix(&src).expect("rel").display().to_string());
            }
        }
    }
    g
}

#[test]
fn the_parser_reads_paths_and_groups() {
    let code = "use crate::db::{now, Sql};\nuse crate::{auth::Role, web::{self, PageCtx}};\nlet x = crate::org::members::list();";
    let got: Vec<String> = named_modules(code).into_iter().collect();
    assert_eq!(got, ["auth", "db", "org", "web"]);
    assert_eq!(code_of("let a = 1; // crate::org"), "let a = 1; ");
}

#[test]
fn every_module_has_a_layer() {
    for m in graph().keys() {
        assert!(
            BASE.contains(&m.as_str()) || FEATURES.contains(&m.as_str()) || TOP.contains(&m.as_str()),
            "src/{m} is in no layer: add it to BASE, FEATURES or TOP in tests/layers.rs (and to docs/ARCHITECTURE.md)"
        );
    }
}

#[test]
fn base_modules_name_no_feature_and_nothing_above() {
    let mut wrong = Vec::new();
    for (m, named) in graph() {
        if !BASE.contains(&m.as_str()) {
            continue;
        }
        for (n, files) in named {
            if FEATURES.contains(&n.as_str()) || TOP.contains(&n.as_str()) {
                wrong.push(format!("{m} → {n} (in {})", files.join(", ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "base modules reaching up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn features_do_not_reach_the_top() {
    let mut wrong = Vec::new();
    for (m, named) in graph() {
        if !FEATURES.contains(&m.as_str()) {
            continue;
        }
        for (n, files) in named {
            if TOP.contains(&n.as_str()) {
                wrong.push(format!("{m} → {n} (in {})", files.join(", ")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "features reaching the app:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_two_modules_depend_on_each_other() {
    let g = graph();
    // Depth-first search; a back edge closes a cycle, reported with the files on its way.
    fn visit<'a>(
        g: &'a BTreeMap<String, BTreeMap<String, Vec<String>>>,
        m: &'a str,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| *p == m) {
            let mut cycle: Vec<&str> = path[i..].to_vec();
            cycle.push(m);
            return Some(
                cycle
                    .windows(2)
                    .map(|w| {
                        let files = g
                            .get(w[0])
                            .and_then(|n| n.get(w[1]))
                            .map(|f| f.join(", "))
                            .unwrap_or_default();
                        format!("{} → {} (in {files})", w[0], w[1])
                    })
                    .collect(),
            );
        }
        if done.contains(m) {
            return None;
        }
        path.push(m);
        if let Some(named) = g.get(m) {
            for n in named.keys() {
                if let Some(c) = visit(g, n, path, done) {
                    return Some(c);
                }
            }
        }
        path.pop();
        done.insert(m);
        None
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        if let Some(cycle) = visit(&g, m, &mut Vec::new(), &mut done) {
            panic!("modules depending on each other:\n{}", cycle.join("\n"));
        }
    }
}
