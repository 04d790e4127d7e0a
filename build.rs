//! Links the `nextstep` binary as a position-dependent executable on Linux.
//!
//! The time-zone tables that calcard and chrono-tz carry hold ~50,000 pointers. In a PIE every one
//! of them is patched by the loader at start-up, which makes ~1.5 MB of `.data.rel.ro` private
//! dirty memory plus ~1.4 MB of relocation records read in, for the life of the daemon. Linked at
//! a fixed address they stay clean file pages, and only the zones in use are ever paged in
//! (issue 2: the idle daemon under 10 MB resident). The cost is that the executable's own image is
//! not address-randomised; libraries, heap and stacks still are.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
