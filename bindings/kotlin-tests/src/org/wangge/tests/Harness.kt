// A tiny test runner: no Gradle, no JUnit. Each test is a named block (a
// suspend block, run with runBlocking, so it calls the library's suspend
// functions directly); a failure is any exception. The closing line, "N passed, M failed", is what
// scripts/test-kotlin.sh and CI read.
package org.wangge.tests

import kotlin.system.exitProcess
import kotlinx.coroutines.runBlocking

/** One named test. */
class TestCase(val name: String, val body: suspend () -> Unit)

/** Collects tests: `suite.test("name") { ... }`. */
class Suite(val name: String) {
    val tests = mutableListOf<TestCase>()

    fun test(name: String, body: suspend () -> Unit) {
        tests += TestCase(name, body)
    }
}

/**
 * Runs every test of every suite, prints one line per test and the closing
 * line `label: N passed, M failed`, and exits non-zero if any failed (or
 * none ran). A text given as the first argument runs only the tests whose
 * name contains it.
 */
fun runSuites(label: String, suites: List<Suite>, args: Array<String>) {
    val filter = args.firstOrNull()
    var passed = 0
    var failed = 0
    for (suite in suites) {
        println("── ${suite.name}")
        for (t in suite.tests) {
            if (filter != null && !t.name.contains(filter)) continue
            val started = System.nanoTime()
            try {
                runBlocking { t.body() }
                passed++
                println("  ok    ${t.name} (${(System.nanoTime() - started) / 1_000_000} ms)")
            } catch (e: Throwable) {
                failed++
                println("  FAIL  ${t.name}: ${e::class.qualifiedName}: ${e.message}")
                e.printStackTrace(System.out)
            }
        }
    }
    println("$label: $passed passed, $failed failed")
    System.out.flush()
    exitProcess(if (failed == 0 && (passed > 0 || filter != null)) 0 else 1)
}

/** Asserts that `block` throws an exception of type [T], and returns it. */
inline fun <reified T : Throwable> assertThrows(block: () -> Unit): T {
    try {
        block()
    } catch (e: Throwable) {
        if (e is T) return e
        throw AssertionError("expected ${T::class.simpleName}, got ${e::class.qualifiedName}: ${e.message}", e)
    }
    throw AssertionError("expected ${T::class.simpleName}, but nothing was thrown")
}

/** Asserts that `actual` equals `expected`. */
fun <T> assertEq(expected: T, actual: T, what: String = "value") {
    if (expected != actual) throw AssertionError("$what: expected <$expected>, got <$actual>")
}

/** Asserts that `condition` holds; `what` says what was expected. */
fun assertThat(condition: Boolean, what: () -> String) {
    if (!condition) throw AssertionError(what())
}
