// Benchmark of the Kotlin API (not a test): what a screen waits for.
//   - recording 1,000 cases, one durable call each;
//   - listing 1,000 cases in one call;
//   - one small call (the checklist's item count; the store's clock).
// Prints medians and 95th percentiles. Run with `bash scripts/bench-kotlin.sh`.
package org.wangge.bench

import java.io.File
import org.wangge.core.Actor
import org.wangge.core.CaseQuery
import org.wangge.core.Catalog
import org.wangge.core.model.GpsFix
import org.wangge.core.NewCase
import org.wangge.core.model.Role
import org.wangge.core.Store
import org.wangge.core.generateDeviceId

private fun percentile(sortedNs: List<Long>, p: Double): Long =
    sortedNs[((sortedNs.size - 1) * p).toInt()]

private fun report(what: String, samplesNs: List<Long>, unit: String, target: String? = null) {
    val s = samplesNs.sorted()
    val div = if (unit == "ms") 1_000_000.0 else 1_000.0
    fun fmt(ns: Long) = "%.3f %s".format(ns / div, unit)
    println(
        "%-44s median %s   p95 %s   (n=%d)%s".format(
            what, fmt(percentile(s, 0.5)), fmt(percentile(s, 0.95)), s.size,
            target?.let { "   target $it" } ?: "",
        ),
    )
}

/** Median over `batches` of the mean time of `perBatch` calls, in ns. */
private inline fun perCall(batches: Int, perBatch: Int, call: () -> Unit): List<Long> =
    List(batches) {
        val start = System.nanoTime()
        repeat(perBatch) { call() }
        (System.nanoTime() - start) / perBatch
    }

fun main(args: Array<String>) {
    val dir = File(args.firstOrNull() ?: "target/kotlin/bench")
    dir.mkdirs()
    val path = File(dir, "bench.sqlite3")
    listOf("", "-wal", "-shm").forEach { File(path.path + it).delete() }
    val store = Store.openWith(path.path, generateDeviceId(), Catalog.demo())
    val catalog = store.catalog()
    val officer = Actor("officer-017", Role.GRID_OFFICER, "网格一组")
    val items = catalog.checklistItems().map { it.id }
    val fix = GpsFix(31.1991477, 121.4273255, 5.0, 0)
    println("Wangge Kotlin benchmark — store ${path.path} (disk, synchronous=FULL)")

    // Record 1,000 cases: each call is one durable SQLite transaction.
    val recordNs = List(1000) { i ->
        val c = NewCase(items[i % items.size], "基准测试第 $i 件：菜场门口流动摊贩占道经营", gps = fix)
        val start = System.nanoTime()
        store.recordCase(officer, c)
        System.nanoTime() - start
    }
    report("record a case (1,000 calls, durable)", recordNs, "ms")
    println("%-44s %.2f s".format("  total for 1,000", recordNs.sum() / 1e9))

    // List 1,000 cases in one call.
    val query = CaseQuery(limit = 1000)
    check(store.cases(query).size == 1000) { "expected 1,000 cases" }
    repeat(20) { store.cases(query) } // warm-up (JIT, statement cache)
    val listNs = List(50) {
        val start = System.nanoTime()
        val n = store.cases(query).size
        val t = System.nanoTime() - start
        check(n == 1000)
        t
    }
    report("list 1,000 cases in one call", listNs, "ms", "≤ 20 ms")

    // One small call.
    var sink = 0L
    repeat(200_000) { sink += catalog.checklistItemCount().toLong() + store.nowMs() } // warm-up
    report("one small call: checklistItemCount()", perCall(50, 20_000) { sink += catalog.checklistItemCount().toLong() }, "µs", "≤ 50 µs")
    report("one small call: store.nowMs()", perCall(50, 20_000) { sink += store.nowMs() }, "µs", "≤ 50 µs")
    report("one call with a record: getCase(id)", run {
        val id = store.myOpenCases("officer-017", listOf()).first().id
        repeat(2_000) { store.getCase(id) }
        perCall(30, 500) { sink += store.getCase(id).events.size }
    }, "µs")
    store.close()
    if (sink == 42L) println() // keeps the calls from being optimised away
}
