//! Where the real-world corpus is, for the tests that read it.

/// `../shared/corpus` beside the checkout, when it is there; without it
/// the caller skips (saying so), except under `CI=true`, where it fails.
pub(crate) fn dir() -> Option<std::path::PathBuf> {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    if corpus.join("MANIFEST.tsv").is_file() {
        return Some(corpus);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "corpus missing under CI=true"
    );
    eprintln!("skipping: no corpus at {}", corpus.display());
    None
}
