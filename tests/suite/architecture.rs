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
    ("mas-booking", &["mas-context", "mas-catalog", "mas-clients"]),
    ("mas-documents", &["mas-catalog", "mas-clients", "mas-accounts", "mas-booking"]),
    ("mas-publishing", &["mas-context", "mas-catalog", "mas-accounts"]),
    ("mas-messaging", &["mas-context", "mas-catalog", "mas-clients", "mas-accounts", "mas-booking", "mas-documents"]),
    (
        "mas-portal",
        &["mas-context", "mas-catalog", "mas-clients", "mas-accounts", "mas-booking", "mas-documents", "mas-messaging"],
    ),
    // The export lists the client's receipts (mas-documents issues them).
    (
        "mas-privacy",
        &["mas-context", "mas-clients", "mas-accounts", "mas-booking", "mas-documents", "mas-messaging"],
    ),
    ("mas-staff-auth", &["mas-context", "mas-accounts", "mas-messaging"]),
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
