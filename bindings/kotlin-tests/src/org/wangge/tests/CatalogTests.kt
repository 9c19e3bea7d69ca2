// The reference data as a Kotlin developer sees it: the checklist picker's
// lists and the point → grid lookup.
package org.wangge.tests

import org.wangge.core.Catalog
import org.wangge.core.model.GridLevel
import org.wangge.core.GridMatch
import org.wangge.core.TimeUnit

fun catalogTests() = Suite("catalog: checklist and grids").apply {
    test("checklist listing: items, categories, domains and time limits in one call each") {
        val catalog = Catalog.demo()
        val items = catalog.checklistItems()
        assertEq(224, items.size, "items")
        assertEq(224, catalog.checklistItemCount(), "item count")
        assertEq(17, catalog.categories().size, "categories")
        assertEq(listOf("A", "B", "C"), catalog.domains().map { it.id }, "domains")
        assertEq(items.map { it.id }.toSet().size, items.size, "distinct item ids")

        val garbage = catalog.checklistItem("A01-001") ?: throw AssertionError("A01-001 missing")
        assertEq("暴露垃圾", garbage.titleZh, "title")
        assertEq(true, garbage.onSpot, "on the spot")
        assertEq(15, garbage.responseLimit.count, "response limit")
        assertEq(TimeUnit.MINUTES, garbage.responseLimit.unit, "response unit")
        assertEq("45m", garbage.resolutionLimit.text, "resolution limit")
        val construction = catalog.checklistItem("A03-001") ?: throw AssertionError("A03-001 missing")
        assertEq(true, construction.escalateToDistrict, "escalation")
        assertEq(null, catalog.checklistItem("Z99-999"), "unknown item")

        val sanitation = catalog.checklistItemsInCategory("A01")
        assertThat(sanitation.isNotEmpty() && sanitation.all { it.category == "A01" }) { "items of A01: $sanitation" }
        val categoryIds = catalog.categories().map { it.id }.toSet()
        assertThat(items.all { it.category in categoryIds }) { "every item's category is listed" }
    }

    test("grids: blocks, workstations and unit grids") {
        val catalog = Catalog.demo()
        assertEq(4, catalog.gridsAt(GridLevel.BLOCK).size, "blocks")
        val workstations = catalog.gridsAt(GridLevel.WORKSTATION)
        assertEq(18, workstations.size, "workstations")
        assertEq(53, catalog.gridsAt(GridLevel.UNIT).size, "unit grids")
        assertEq(75, catalog.grids().size, "all cells")
        val w01 = catalog.grid("XT-W01") ?: throw AssertionError("XT-W01 missing")
        assertEq("日晖新城居民区工作站", w01.name, "name")
        assertEq("XT-B1", w01.parent, "parent")
        assertEq(null, catalog.grid("nowhere"), "unknown grid")
    }

    test("grid lookup: inside one cell, ambiguous with candidates, outside") {
        val catalog = Catalog.demo()
        when (val found = catalog.lookupGrid(fixW01U1())) {
            is GridMatch.Inside -> {
                assertEq("XT-W01-U1", found.place.cell, "cell")
                assertEq("XT-W01", found.place.workstation, "workstation")
                assertEq("XT-B1", found.place.block, "block")
                assertEq(GridLevel.UNIT, found.place.level, "level")
                assertEq("日晖新城第1单元网格", found.place.name, "name")
            }
            else -> throw AssertionError("expected Inside, got $found")
        }
        // 5 m from a shared edge with a 20 m accuracy circle: either cell.
        when (val found = catalog.lookupGrid(fixNearW03Edge(20.0))) {
            is GridMatch.Ambiguous -> {
                assertEq("XT-W03-U1", found.containing?.cell, "containing")
                assertEq(listOf("XT-W03-U1", "XT-W03-U2"), found.candidates.map { it.cell }, "candidates")
            }
            else -> throw AssertionError("expected Ambiguous, got $found")
        }
        // The same point with a 1 m circle is certain.
        assertThat(catalog.lookupGrid(fixNearW03Edge(1.0)) is GridMatch.Inside) { "1 m fix near the edge is inside" }
        // Where the four blocks meet, every block's cell is a candidate.
        val crossing = catalog.lookupGrid(fixAtCrossing(5.0))
        assertThat(crossing is GridMatch.Ambiguous && crossing.candidates.map { it.block }.toSet().size == 4) {
            "crossing: $crossing"
        }
        assertEq<GridMatch>(GridMatch.Outside, catalog.lookupGrid(fixOutside()), "outside")
    }
}
