// The Kotlin test suite of the bindings, run by scripts/test-kotlin.sh
// against the real native library (target/debug/libwangge_ffi.so).
package org.wangge.tests

fun main(args: Array<String>) {
    runSuites(
        "bindings",
        listOf(catalogTests(), officerDayTests(), errorTests(), encryptionTests(), concurrencyTests(), syncTests(), pairingTests(), asyncTests()),
        args,
    )
}
