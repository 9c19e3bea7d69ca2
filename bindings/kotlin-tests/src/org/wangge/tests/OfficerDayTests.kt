// A grid officer's day, offline: record cases, handle one on the spot, let
// the centre register and dispatch, a unit arrive and report back, a
// workstation file its zero report, and the queries the screens run.
package org.wangge.tests

import org.wangge.core.CaseEventKind
import org.wangge.core.CaseQuery
import org.wangge.core.model.CaseStatus
import org.wangge.core.Mine
import org.wangge.core.NewCase
import org.wangge.core.model.SourceChannel
import org.wangge.core.ZeroReportEntry
import org.wangge.core.sourceChannelName

fun officerDayTests() = Suite("the officer's day, offline").apply {
    test("record cases, add events, follow deadlines and query the lists") {
        val t = TestStore()
        val store = t.store
        val start = store.nowMs()

        val vendor = store.recordCase(officer, NewCase("A02-001", "菜场门口流动摊贩占道经营", gps = fixW01U1()))
        t.clock.advanceMs(7 * MINUTE)
        val garbage = store.recordCase(officer, NewCase("A01-001", "垃圾箱旁暴露垃圾", gps = fixW06U2()))
        val handled = store.addEvent(garbage, officer, CaseEventKind.HandledOnSpot("已通知保洁员当场清理"))
        assertEq(CaseStatus.HANDLED, handled.state.status, "garbage handled on the spot")
        t.clock.advanceMs(6 * MINUTE)
        // A weak fix near a boundary: the case keeps the candidates and the centre picks.
        val construction = store.recordCase(officer, NewCase("A03-001", "居民楼顶正在搭建违法建筑", gps = fixNearW03Edge(20.0)))
        val recorded = store.getCase(construction)
        assertEq(null, recorded.header.grid, "no grid for an ambiguous fix")
        assertEq(listOf("XT-W03-U1", "XT-W03-U2"), recorded.header.gridCandidates, "candidates")
        assertEq(SourceChannel.GRID_OFFICER_HANDHELD, recorded.header.channel, "channel")
        assertEq("网格员手持终端", sourceChannelName(recorded.header.channel), "channel name")

        // The vendor case's deadlines come from the checklist: 15 min / 45 min.
        val v = store.getCase(vendor)
        assertEq(CaseStatus.REPORTED, v.state.status, "status")
        assertEq("XT-W01-U1", v.header.grid?.cell, "grid from the fix")
        assertEq(start + 15 * MINUTE, v.state.responseDueMs, "response due")
        assertEq(start + 45 * MINUTE, v.state.resolutionDueMs, "resolution due")
        assertEq(officer, v.header.reporter, "reporter")
        assertEq(t.deviceId, v.header.reporterDeviceId, "device")

        t.clock.advanceMs(7 * MINUTE)
        store.addEvent(vendor, centre, CaseEventKind.Registered("XT-0001"))
        store.addEvent(vendor, centre, CaseEventKind.Dispatched(listOf("城管中队")))
        store.addEvent(construction, centre, CaseEventKind.Registered("XT-0002", grid = "XT-W03-U2"))
        store.addEvent(construction, centre, CaseEventKind.Dispatched(listOf("联合执法队"), note = "今日内到场"))
        val escalated = store.addEvent(construction, centre, CaseEventKind.Escalated("违建提交区级平台"))
        assertEq(true, escalated.state.escalated, "escalated")
        assertEq(listOf("联合执法队", "区级平台"), escalated.state.holders, "holders")
        assertEq("XT-W03-U2", escalated.state.grid, "grid chosen at registration")
        assertEq(
            listOf("reported", "registered", "dispatched", "escalated"),
            escalated.events.map { it.kind::class.simpleName?.lowercase() },
            "timeline",
        )
        assertThat(escalated.events.zipWithNext().all { (a, b) -> a.atMs <= b.atMs }) { "timeline in order" }
        t.clock.advanceMs(5 * MINUTE)
        val arrived = store.addEvent(vendor, cityTeam, CaseEventKind.Arrived())
        assertEq(CaseStatus.IN_PROGRESS, arrived.state.status, "unit on site")

        // An hour later the vendor case is past its 45-minute limit.
        t.clock.advanceMs(HOUR)
        val overdue = store.overdueCases()
        assertEq(listOf(vendor), overdue.map { it.id }, "overdue")
        assertThat(overdue[0].overdue && overdue[0].holders == listOf("城管中队")) { "overdue line: ${overdue[0]}" }

        val mine = store.myOpenCases("officer-017", listOf("网格一组"))
        assertEq(setOf(vendor, garbage, construction), mine.map { it.id }.toSet(), "officer's open cases")
        val team = store.myOpenCases("cg-31", listOf("城管中队"))
        assertEq(listOf(vendor), team.map { it.id }, "the team's open cases")
        assertEq(listOf(vendor), store.casesInGrid("XT-W01").map { it.id }, "cases in workstation XT-W01")
        assertEq(listOf(construction), store.casesInGrid("XT-B1").filter { it.id == construction }.map { it.id }, "by block")
        assertEq(listOf(vendor), store.searchCases("摊贩").map { it.id }, "search (2 characters)")
        assertEq(listOf(construction), store.searchCases("违法建筑").map { it.id }, "search (4 characters)")
        assertEq(listOf(garbage), store.casesInCategory("A01").map { it.id }, "by category")

        // The team reports back; the supervisor verifies; the centre closes.
        store.addEvent(vendor, cityTeam, CaseEventKind.Feedback("摊贩已劝离"))
        store.addEvent(vendor, supervisor, CaseEventKind.Verified(passed = true))
        val closed = store.addEvent(vendor, centre, CaseEventKind.Closed(note = "结案"))
        assertEq(CaseStatus.CLOSED, closed.state.status, "closed")
        assertEq(false, closed.state.isOpen, "not open")
        assertEq(7, closed.events.size, "vendor timeline")
        assertEq(true, closed.events.all { it.superseded == null }, "nothing superseded")
        assertEq(2, store.myOpenCases("officer-017", listOf()).size, "open after closing one")
        assertEq(3, store.cases(CaseQuery()).size, "all cases")
        assertEq(3, store.cases(CaseQuery(mine = Mine("officer-017"))).size, "everything the officer reported")
        assertEq(0, store.cases(CaseQuery(mine = Mine("cg-31", listOf("城管中队")), openOnly = true)).size, "the team holds nothing open")
        val counts = store.statusCounts().associate { it.status to it.count }
        assertEq(mapOf(CaseStatus.DISPATCHED to 1L, CaseStatus.HANDLED to 1L, CaseStatus.CLOSED to 1L), counts, "status counts")
        store.close()
    }

    test("zero report: the zero, a matter recorded and withdrawn, who has not filed") {
        val t = TestStore()
        val store = t.store
        val today = store.today()
        assertEq(null, store.zeroReport("XT-W01", today), "nothing filed yet")
        assertEq(18, store.workstationsWithoutReport(today).size, "nobody filed")

        val zero = store.fileZeroReport(wsStaff, "XT-W01", today, ZeroReportEntry.Filed(nothingToReport = true))
        assertEq(true, zero.filed, "filed")
        assertEq(true, zero.nothingToReport, "the zero")
        assertEq(today, zero.day, "day")

        t.clock.advanceMs(2 * HOUR)
        val withMatter = store.fileZeroReport(
            wsStaff, "XT-W01", today,
            ZeroReportEntry.MatterRecorded(checklistItem = "A07-001", description = "调解私设地锁纠纷，业主已自行拆除"),
        )
        assertEq(false, withMatter.nothingToReport, "a matter beats the zero")
        assertEq(1, withMatter.matters.size, "matters")
        val matter = withMatter.matters[0]
        assertEq("ws-staff-4", matter.recordedBy, "recorded by")
        val recordedEntry = withMatter.entries[1].entry
        assertThat(recordedEntry is ZeroReportEntry.MatterRecorded && recordedEntry.matterId == matter.id) {
            "the entry carries the matter id: $recordedEntry"
        }

        val withdrawn = store.fileZeroReport(wsStaff, "XT-W01", today, ZeroReportEntry.MatterWithdrawn(matter.id, "误报"))
        assertEq(0, withdrawn.matters.size, "withdrawn")
        assertEq(true, withdrawn.nothingToReport, "back to zero")
        assertEq(3, withdrawn.entries.size, "every entry kept")
        assertEq(withdrawn, store.zeroReport("XT-W01", today), "read back")
        assertEq(17, store.workstationsWithoutReport(today).size, "one filed")
        assertThat("XT-W01" !in store.workstationsWithoutReport(today)) { "XT-W01 filed" }
        store.close()
    }
}
