// Every error the library raises arrives in Kotlin as its own subclass of
// WanggeException, with a message that says what to do.
package org.wangge.tests

import org.wangge.core.Catalog
import org.wangge.core.CaseEventKind
import org.wangge.core.model.GpsFix
import org.wangge.core.NewCase
import org.wangge.core.Store
import org.wangge.core.WanggeException
import org.wangge.core.ZeroReportEntry
import org.wangge.core.generateDeviceId

private fun WanggeException.says(vararg words: String) {
    val text = message ?: ""
    for (w in words) assertThat(text.contains(w)) { "message should mention '$w': $text" }
}

fun errorTests() = Suite("errors arrive as typed exceptions").apply {
    test("bad GPS fix → InvalidGpsFix") {
        val t = TestStore()
        val badLat = GpsFix(91.0, 121.44, 5.0, 0)
        assertThrows<WanggeException.InvalidGpsFix> {
            t.store.recordCase(officer, NewCase("A01-001", "暴露垃圾", gps = badLat))
        }.says("latitude 91", "location provider")
        assertThrows<WanggeException.InvalidGpsFix> {
            t.store.recordCase(officer, NewCase("A01-001", "暴露垃圾", gps = fixW01U1(accuracyM = 50_000.0)))
        }.says("too coarse")
        assertThrows<WanggeException.InvalidGpsFix> {
            Catalog.demo().lookupGrid(GpsFix(Double.NaN, 121.44, 5.0, 0))
        }
        assertThrows<WanggeException.InvalidGpsFix> {
            Catalog.demo().lookupGrid(GpsFix(31.19, 121.44, -1.0, 0))
        }
        assertEq(0, t.store.overdueCases().size + t.store.myOpenCases("officer-017", listOf()).size, "nothing recorded")
    }

    test("unknown checklist item → UnknownChecklistItem") {
        val t = TestStore()
        assertThrows<WanggeException.UnknownChecklistItem> {
            t.store.recordCase(officer, NewCase("Z99-999", "不存在的事项", gps = fixW01U1()))
        }.says("Z99-999", "checklist")
        val id = t.store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
        assertThrows<WanggeException.UnknownChecklistItem> {
            t.store.addEvent(id, centre, CaseEventKind.Registered("XT-1", checklistItem = "nope"))
        }
    }

    test("event not allowed in the case's status → EventNotAllowed") {
        val t = TestStore()
        val id = t.store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
        assertThrows<WanggeException.EventNotAllowed> {
            t.store.addEvent(id, centre, CaseEventKind.Closed())
        }.says("closed", "reported")
        // A checklist item that may not be handled on the spot.
        val construction = t.store.recordCase(officer, NewCase("A03-001", "违法建筑", gps = fixW01U1()))
        assertThrows<WanggeException.EventNotAllowed> {
            t.store.addEvent(construction, officer, CaseEventKind.HandledOnSpot("拆了"))
        }.says("on the spot")
        assertThrows<WanggeException.InvalidInput> {
            t.store.addEvent(id, officer, CaseEventKind.Reported)
        }.says("report")
    }

    test("role may not act → RoleNotAllowed") {
        val t = TestStore()
        val id = t.store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
        assertThrows<WanggeException.RoleNotAllowed> {
            t.store.addEvent(id, officer, CaseEventKind.Registered("XT-9"))
        }.says("grid_officer", "centre")
        assertThrows<WanggeException.RoleNotAllowed> {
            t.store.fileZeroReport(officer, "XT-W01", t.store.today(), ZeroReportEntry.Filed(true))
        }
    }

    test("unknown case → CaseNotFound") {
        val t = TestStore()
        val absent = "0190f5a2-7c3e-7d41-9b7e-3f0c2a1d4e5f"
        assertThrows<WanggeException.CaseNotFound> { t.store.getCase(absent) }.says(absent, "sync")
        assertThrows<WanggeException.CaseNotFound> {
            t.store.addEvent(absent, officer, CaseEventKind.Comment("还在吗"))
        }
    }

    test("malformed input → InvalidInput") {
        val t = TestStore()
        assertThrows<WanggeException.InvalidInput> { t.store.getCase("not-an-id") }.says("not-an-id")
        assertThrows<WanggeException.InvalidInput> {
            t.store.recordCase(officer, NewCase("A01-001", "   ", gps = fixW01U1()))
        }.says("description", "empty")
        assertThrows<WanggeException.InvalidInput> { t.store.zeroReport("XT-W01", "yesterday") }.says("2026-03-15")
        assertThrows<WanggeException.InvalidInput> {
            t.store.fileZeroReport(wsStaff, "XT-W01", "2999-01-01", ZeroReportEntry.Filed(true))
        }.says("future")
        assertThrows<WanggeException.InvalidInput> { t.store.searchCases("  ") }
        assertThrows<WanggeException.InvalidInput> { Store.open(t.dir.resolve("x.sqlite3").toString(), "phone-1") }
        t.store.close()
        // A store belongs to one device.
        assertThrows<WanggeException.InvalidInput> {
            Store.openWith(t.path, generateDeviceId(), Catalog.demo(), t.clock)
        }.says("belongs to device", t.deviceId)
    }

    test("unknown grid → UnknownGrid; broken reference data → InvalidCatalog") {
        val t = TestStore()
        assertThrows<WanggeException.UnknownGrid> {
            t.store.recordCase(officer, NewCase("A01-001", "暴露垃圾", grid = "XT-W99-U9"))
        }.says("XT-W99-U9")
        // Zero reports are filed by residential workstations, not unit grids.
        assertThrows<WanggeException.UnknownGrid> {
            t.store.fileZeroReport(wsStaff, "XT-W01-U1", t.store.today(), ZeroReportEntry.Filed(true))
        }
        assertThrows<WanggeException.InvalidCatalog> {
            Catalog.fromFiles("{", "{}", "{}")
        }.says("checklist", "JSON")
        assertThrows<WanggeException.InvalidCatalog> {
            Catalog.fromFiles("""{"domains":[],"categories":[],"items":[]}""", "{}", "{}")
        }.says("no items")
    }
}
