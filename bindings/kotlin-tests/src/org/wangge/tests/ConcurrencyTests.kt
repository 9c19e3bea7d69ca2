// The store is shared by the app's threads: the UI's background
// dispatcher, a sync worker, a camera callback. Calls from 8 threads at once
// must neither crash the JNA layer nor lose a write.
package org.wangge.tests

import java.util.Collections
import java.util.concurrent.CountDownLatch
import java.util.concurrent.Executors
import java.util.concurrent.TimeUnit
import org.wangge.core.CaseEventKind
import org.wangge.core.CaseQuery
import org.wangge.core.model.CaseStatus
import org.wangge.core.GridMatch
import org.wangge.core.NewCase
import org.wangge.core.Store
import org.wangge.core.WanggeException

fun concurrencyTests() = Suite("threads and the store's life").apply {
    test("calls from 8 threads at once: writes, reads, lookups and errors") {
        val t = TestStore()
        val store = t.store
        val catalog = store.catalog()
        val threads = 8
        val perThread = 15
        val pool = Executors.newFixedThreadPool(threads)
        val go = CountDownLatch(1)
        val failures = Collections.synchronizedList(mutableListOf<Throwable>())
        val ids = Collections.synchronizedList(mutableListOf<String>())
        repeat(threads) { n ->
            pool.execute {
                try {
                    go.await()
                    val me = officer.copy(id = "officer-$n")
                    repeat(perThread) { i ->
                        val id = store.recordCase(me, NewCase("A01-001", "线程$n 第$i 件", gps = fixW01U1()))
                        ids += id
                        if (i % 3 == 0) store.addEvent(id, me, CaseEventKind.HandledOnSpot("当场处理"))
                        if (i % 5 == 0) store.addEvent(id, me, CaseEventKind.Comment("备注"))
                        store.myOpenCases(me.id, listOf())
                        store.getCase(id)
                        check(catalog.lookupGrid(fixW06U2()) is GridMatch.Inside)
                        check(catalog.checklistItemCount() == 224)
                        try {
                            store.getCase("0190f5a2-7c3e-7d41-9b7e-3f0c2a1d4e5f")
                            failures += AssertionError("an unknown case was found")
                        } catch (_: WanggeException.CaseNotFound) {
                        }
                    }
                } catch (e: Throwable) {
                    failures += e
                }
            }
        }
        go.countDown()
        pool.shutdown()
        assertThat(pool.awaitTermination(120, TimeUnit.SECONDS)) { "threads finished in time" }
        if (failures.isNotEmpty()) throw AssertionError("${failures.size} failures; first: ${failures[0]}", failures[0])
        val total = threads * perThread
        assertEq(total, ids.toSet().size, "distinct case ids")
        val all = store.cases(CaseQuery(limit = 1000))
        assertEq(total, all.size, "cases stored")
        assertEq(threads * 5, all.count { it.status == CaseStatus.HANDLED }, "handled on the spot")
        for (n in 0 until threads) {
            assertEq(perThread, store.cases(CaseQuery(mine = org.wangge.core.Mine("officer-$n"))).size, "officer-$n's cases")
        }
        store.close()
    }

    test("close and reopen the store: everything recorded is still there") {
        val t = TestStore()
        val id = t.store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
        t.store.addEvent(id, officer, CaseEventKind.HandledOnSpot("已劝离"))
        t.store.fileZeroReport(wsStaff, "XT-W02", t.store.today(), org.wangge.core.ZeroReportEntry.Filed(true))
        t.store.close()
        // A closed handle refuses calls instead of touching freed memory.
        assertThrows<IllegalStateException> { t.store.getCase(id) }
        t.store.close() // closing twice is harmless

        val again = t.reopen()
        assertEq(t.deviceId, again.deviceId(), "device")
        assertEq(t.path, again.path(), "path")
        val record = again.getCase(id)
        assertEq(CaseStatus.HANDLED, record.state.status, "status survived")
        assertEq(2, record.events.size, "timeline survived")
        assertEq(true, again.zeroReport("XT-W02", again.today())?.nothingToReport, "zero report survived")
        // Writing goes on after the reopening, in order after what was there.
        t.clock.advanceMs(MINUTE)
        val next = again.addEvent(id, centre, CaseEventKind.Closed())
        assertEq(CaseStatus.CLOSED, next.state.status, "closed after reopening")
        again.close()

        // `use { }` closes too; the default open (phone clock, demo street) works on the same file.
        Store.open(t.path, t.deviceId).use { s ->
            assertEq(1, s.cases(CaseQuery()).size, "one case")
        }
    }
}
