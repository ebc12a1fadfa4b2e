//! Placeholder library so the test package has a target of its own; the tests live in suite/.
