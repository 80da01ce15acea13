//! The bundled instance passes `loket check` through the real binary.
mod common;

#[test]
fn bundled_instance_checks_clean() {
    let out = common::loket()
        .arg("-C")
        .arg(common::repo_root())
        .arg("check")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
