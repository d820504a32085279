//! The snippets of `README.md` and `docs/*.md` are doctests (`src/lib.rs`
//! includes each file). This keeps it so: a new guide must be included, and
//! no snippet may opt out of compiling.

use std::path::Path;

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn markdown_files() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![("README.md".to_string(), read(&root.join("README.md")))];
    let mut docs: Vec<_> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.ends_with(".md"))
        .collect();
    docs.sort();
    for name in docs {
        let text = read(&root.join("docs").join(&name));
        files.push((format!("docs/{name}"), text));
    }
    files
}

#[test]
fn every_markdown_file_is_included_as_doctests() {
    let lib = read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs"));
    for (name, _) in markdown_files() {
        let include = format!("#[doc = include_str!(\"../{name}\")]");
        assert!(
            lib.contains(&include),
            "{name} is not compiled: add `{include}` on a `#[cfg(doctest)]` module in src/lib.rs"
        );
    }
}

#[test]
fn no_rust_snippet_is_ignored() {
    for (name, text) in markdown_files() {
        for (n, line) in text.lines().enumerate() {
            let Some(info) = line.trim_start().strip_prefix("```") else { continue };
            let attrs: Vec<&str> = info.split(',').map(str::trim).collect();
            assert!(
                !attrs.contains(&"ignore"),
                "{name}:{}: `ignore` compiles nothing; use `no_run` (or `compile_fail` for a snippet that shows an error)",
                n + 1
            );
        }
    }
}
