//! Packs the `nextstep` binary's relative relocations (`-z pack-relative-relocs`, DT_RELR) on
//! Linux with glibc, when this machine's C toolchain and C library support it.
//!
//! The time-zone tables that calcard and chrono-tz carry hold ~48,000 pointers. The binary is a
//! PIE (its own address is randomised, docs/design.md "Where we departed from the contract"), so
//! the loader patches each one at start-up from a relocation record: 24 bytes a pointer in
//! `.rela.dyn`, about 1.1 MB read in and kept resident for the life of the daemon. Packed, the
//! same relocations take a few kilobytes. Support needs binutils 2.38 or lld, and glibc 2.36 to
//! load the result; a toolchain without it links as before (the probe below tries the flag on an
//! empty program with the same C compiler the link uses).
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    // Off for the side-by-side figure of scripts/bench-idle.sh (RELR=no).
    println!("cargo:rerun-if-env-changed=NEXTSTEP_NO_RELR");
    if std::env::var_os("NEXTSTEP_NO_RELR").is_some() {
        return;
    }
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" && links_with_packed_relocs() {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}

/// Whether `cc` links an empty PIE with the flag (so the linker knows it and the C library
/// provides the `GLIBC_ABI_DT_RELR` version the result needs).
fn links_with_packed_relocs() -> bool {
    let Some(out) = std::env::var_os("OUT_DIR") else {
        return false;
    };
    let dir = std::path::PathBuf::from(out);
    let src = dir.join("relr_probe.c");
    if std::fs::write(&src, "int main(void) { return 0; }\n").is_err() {
        return false;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    Command::new(cc)
        .arg("-pie")
        .arg("-fPIE")
        .arg("-Wl,-z,pack-relative-relocs")
        .arg("-o")
        .arg(dir.join("relr_probe"))
        .arg(&src)
        .output()
        .is_ok_and(|o| o.status.success())
}
