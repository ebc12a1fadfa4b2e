//! The layering as tests over `cargo metadata`: what each crate may depend on. Cargo already
//! refuses a cycle; these refuse an edge that would bend the architecture (a capability reaching
//! up or sideways, the domain or the HTTP layer reaching an adapter, SQLite outside the embedded
//! crate).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each workspace crate's normal (non-dev, non-build) dependencies, by crate name.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(crate::repo_root())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&output.stderr));
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata answers JSON");
    metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|package| {
            let deps = package["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("name").to_owned())
                .collect();
            (package["name"].as_str().expect("name").to_owned(), deps)
        })
        .collect()
}

fn ours(deps: &BTreeSet<String>) -> BTreeSet<&str> {
    deps.iter().filter(|d| d.starts_with("mas-")).map(String::as_str).collect()
}

/// The capability crates and what each may use of the others (README: Architecture).
const CAPABILITIES: &[(&str, &[&str])] = &[
    ("mas-context", &[]),
    ("mas-catalog", &["mas-context"]),
    ("mas-clients", &["mas-context"]),
    ("mas-accounts", &["mas-context", "mas-catalog"]),
    // The academy knows only the foundation, so that Stripe's webhook (booking) settles an
    // enrolment's payment page through it.
    ("mas-academy", &[]),
    ("mas-booking", &["mas-context", "mas-catalog", "mas-clients", "mas-academy"]),
    ("mas-documents", &["mas-catalog", "mas-clients", "mas-accounts", "mas-booking"]),
    ("mas-publishing", &["mas-context", "mas-catalog", "mas-accounts"]),
    ("mas-messaging", &["mas-context", "mas-catalog", "mas-clients", "mas-accounts", "mas-booking", "mas-documents"]),
    (
        "mas-portal",
        &["mas-context", "mas-catalog", "mas-clients", "mas-accounts", "mas-booking", "mas-documents", "mas-messaging"],
    ),
    // The export lists the client's receipts (mas-documents issues them).
    ("mas-privacy", &["mas-context", "mas-clients", "mas-accounts", "mas-booking", "mas-documents", "mas-messaging"]),
    ("mas-staff-auth", &["mas-context", "mas-accounts", "mas-messaging"]),
    // Partner webhooks and API keys stand on the context alone (the partner routes call the
    // other capabilities' reads from the HTTP layer).
    ("mas-partners", &["mas-context"]),
    // The projections read events and write rollups of their own: the foundation is enough.
    ("mas-insight", &["mas-context"]),
];

/// What every layer above the domain may use: the pure crates and the ports.
const FOUNDATION: &[&str] = &["mas-domain", "mas-ports", "mas-store", "mas-site"];

/// Crates that talk to a network, a cloud or a database: adapters' business only. (The Lambda
/// runtime is not one: `mas-http` serves its router on it.)
fn is_adapter_dependency(name: &str) -> bool {
    name.starts_with("aws-") || ["async-stripe", "reqwest", "rusqlite", "hyper"].contains(&name)
}

#[test]
fn each_capability_crate_uses_only_the_capabilities_below_it_and_no_adapter() {
    let deps = dependencies();
    for (name, allowed) in CAPABILITIES {
        let mine = deps.get(*name).unwrap_or_else(|| panic!("{name} is a workspace crate"));
        for dep in ours(mine) {
            assert!(
                allowed.contains(&dep) || FOUNDATION.contains(&dep),
                "{name} depends on {dep}, which is not below it in the architecture"
            );
        }
        if let Some(dep) = mine.iter().find(|d| is_adapter_dependency(d)) {
            panic!("{name} depends on {dep}: use cases reach the world through ports only");
        }
    }
}

#[test]
fn every_use_case_crate_is_listed_in_the_architecture() {
    let deps = dependencies();
    let listed: BTreeSet<&str> = CAPABILITIES.iter().map(|(name, _)| *name).collect();
    let facade = &deps["mas-usecases"];
    for dep in ours(facade).into_iter().filter(|d| !FOUNDATION.contains(d)) {
        assert!(listed.contains(dep), "mas-usecases uses {dep}, which the architecture test does not place");
    }
}

#[test]
fn the_domain_is_pure_and_the_http_layer_knows_no_adapter() {
    let deps = dependencies();
    assert_eq!(ours(&deps["mas-domain"]), BTreeSet::new(), "the domain depends on no other crate of ours");
    for name in ["mas-domain", "mas-ports", "mas-store", "mas-site", "mas-http", "mas-usecases"] {
        for dep in deps[name].iter() {
            assert!(!is_adapter_dependency(dep), "{name} depends on {dep}");
            assert!(
                !dep.starts_with("mas-") || !deps[dep.as_str()].iter().any(|d| d == "aws-config"),
                "{name} depends on the adapter {dep}"
            );
        }
        assert!(!deps[name].contains("mas-embedded"), "{name} depends on the embedded adapters");
    }
}

#[test]
fn sqlite_lives_only_in_the_embedded_crate() {
    for (name, deps) in dependencies() {
        if name != "mas-embedded" {
            assert!(!deps.contains("rusqlite"), "{name} depends on rusqlite");
        }
    }
}

/// The lines of `source` before its unit tests, numbered from 1.
fn lines_before_tests(source: &str) -> impl Iterator<Item = (usize, &str)> {
    source.lines().enumerate().map(|(i, line)| (i + 1, line)).take_while(|(_, line)| line.trim() != "#[cfg(test)]")
}

/// Whether `line` holds a pattern that picks an `AppError` by its string code (`AppError::Conflict
/// { code: "…", .. } =>`, `matches!(e, AppError::Invalid { code: "…", .. })`): a decision that a
/// renamed code would silently change. Building one (`AppError::conflict("…", …)`) is not.
fn decides_on_a_code(line: &str) -> bool {
    let Some(at) = line.find("AppError::") else { return false };
    let rest = &line[at..];
    let Some(open) = rest.find("{ code:") else { return false };
    let Some(close) = rest[open..].find('}') else { return false };
    let fields = &rest[open..open + close];
    let after = rest[open + close + 1..].trim_start();
    fields.contains("..") || after.starts_with("=>") || after.starts_with(") =>") || after.starts_with("))")
}

fn rust_sources(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a source directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_sources(&path, found);
        } else if path.extension().is_some_and(|e| e == "rs") {
            found.push(path);
        }
    }
}

#[test]
fn no_use_case_decides_by_matching_an_error_s_string_code() {
    let mut sources = Vec::new();
    rust_sources(&crate::repo_root().join("shared/usecases"), &mut sources);
    assert!(sources.len() > 40, "the use cases' sources are found ({})", sources.len());
    let mut offending = Vec::new();
    for path in sources.iter().filter(|p| !p.ends_with("tests.rs")) {
        let source = std::fs::read_to_string(path).expect("a readable source");
        for (number, line) in lines_before_tests(&source).filter(|(_, line)| decides_on_a_code(line)) {
            offending.push(format!("{}:{number}: {}", path.display(), line.trim()));
        }
    }
    assert!(offending.is_empty(), "match on a typed variant instead:\n{}", offending.join("\n"));
}

#[test]
fn a_pattern_on_a_code_is_told_from_building_an_error_with_one() {
    assert!(decides_on_a_code(
        r#"        Err(AppError::Conflict { code: "payments_not_connected", .. }) => (false, None),"#
    ));
    assert!(decides_on_a_code(r#"        Err(AppError::Conflict { code: "payments_not_connected", message }) => {"#));
    assert!(decides_on_a_code(r#"    if matches!(err, AppError::Invalid { code: "email_required", .. }) {"#));
    assert!(!decides_on_a_code(
        r#"        AppError::Conflict { code: "host_taken", message: "that domain is taken".into() },"#
    ));
    assert!(!decides_on_a_code(r#"            E::SlugTaken => AppError::conflict("slug_taken", message),"#));
    assert!(!decides_on_a_code(
        r#"        return Err(AppError::Limited { code: "rate_limited", retry_after_seconds: 1 });"#
    ));
}

/// The OpenAPI document names each schema after its Rust type (or its `#[schema(as = …)]`): two
/// types of one name would silently share one schema, and the document would describe one of
/// them wrongly (a stock movement validated as a loyalty movement). Every name is one type's.
#[test]
fn every_openapi_schema_name_is_one_types() {
    let mut sources = Vec::new();
    rust_sources(&crate::repo_root().join("shared"), &mut sources);
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut clashes = Vec::new();
    for path in &sources {
        let source = std::fs::read_to_string(path).expect("a readable source");
        let lines: Vec<&str> = source.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            let Some(rest) = trimmed.strip_prefix("pub struct ").or_else(|| trimmed.strip_prefix("pub enum ")) else {
                continue;
            };
            let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            if name.is_empty() {
                continue; // a macro's `$name`: each expansion is its own type
            }
            // The attributes right above the item.
            let attributes: Vec<&str> =
                lines[..i].iter().rev().take_while(|l| l.trim_start().starts_with("#[")).copied().collect();
            if !attributes.iter().any(|a| a.contains("derive(") && a.contains("ToSchema")) {
                continue;
            }
            let alias = attributes.iter().find_map(|a| {
                let at = a.find("schema(as = ")? + "schema(as = ".len();
                Some(a[at..].chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>())
            });
            let schema = alias.unwrap_or(name);
            let place = format!("{}:{}", path.display(), i + 1);
            if let Some(first) = seen.insert(schema.clone(), place.clone()) {
                clashes.push(format!("{schema}: {first} and {place}"));
            }
        }
    }
    assert!(seen.len() > 100, "the schemas are found ({})", seen.len());
    assert!(clashes.is_empty(), "schema names used by two types:\n{}", clashes.join("\n"));
}
