//! uniffi's code generator, built from the same uniffi version as the
//! library so that the generated Kotlin and Swift always match it. Run by
//! `bindings/generate.sh` in library mode:
//!
//! ```text
//! cargo run -p wangge-bindings --bin uniffi-bindgen -- generate \
//!     --library target/debug/libwangge_ffi.so --language kotlin --out-dir bindings/kotlin
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
