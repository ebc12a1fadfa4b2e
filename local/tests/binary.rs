//! The `local` binary itself. Being an integration test of this package also makes
//! `cargo test --workspace` build `target/debug/local` with the features the tests resolve, so
//! `scripts/test` runs the binary it just built instead of a second, differently featured build.

use std::process::Command;

#[test]
fn local_openapi_prints_the_document_the_router_serves() {
    let output = Command::new(env!("CARGO_BIN_EXE_local")).arg("--openapi").output().expect("runs `local`");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).expect("`local --openapi` prints JSON");
    let served = serde_json::to_value(mas_http::openapi()).unwrap();
    assert_eq!(printed, served);
    assert!(printed["openapi"].as_str().is_some_and(|v| v.starts_with("3.1")), "{}", printed["openapi"]);
}
