// Shared fixtures: temporary stores, the actors of a street, and GPS fixes
// (WGS-84, as a phone reports them) at known places of the demo street.
package org.wangge.tests

import java.nio.file.Files
import java.nio.file.Path
import org.wangge.core.Actor
import org.wangge.core.Catalog
import org.wangge.core.model.GpsFix
import org.wangge.core.ManualClock
import org.wangge.core.model.Role
import org.wangge.core.Store
import org.wangge.core.generateDeviceId

const val MINUTE: Long = 60_000
const val HOUR: Long = 60 * MINUTE

/** 09:00 China Standard Time today, as ms since the Unix epoch. */
fun nineAmToday(): Long {
    val day = 86_400_000L
    val cst = 8 * HOUR
    val now = System.currentTimeMillis()
    return Math.floorDiv(now + cst, day) * day - cst + 9 * HOUR
}

private val tempDirs = mutableListOf<Path>().also { dirs ->
    Runtime.getRuntime().addShutdownHook(Thread {
        synchronized(dirs) { dirs.forEach { it.toFile().deleteRecursively() } }
    })
}

/** A fresh folder under the system's temporary folder, deleted when the JVM exits. */
fun tempDir(): Path = Files.createTempDirectory("wangge-kt-").also { synchronized(tempDirs) { tempDirs.add(it) } }

/** A store in a fresh folder, with a device of its own (or the one given, e.g. an enrolled one). */
class TestStore(
    val clock: ManualClock = ManualClock(nineAmToday()),
    val deviceId: String = generateDeviceId(),
) {
    val dir: Path = tempDir()
    val path: String = dir.resolve("store.sqlite3").toString()
    val store: Store = Store.openWith(path, deviceId, Catalog.demo(), clock)

    fun reopen(): Store = Store.openWith(path, deviceId, Catalog.demo(), clock)
}

val officer = Actor(id = "officer-017", role = Role.GRID_OFFICER, unit = "网格一组")
val centre = Actor(id = "centre-desk", role = Role.CENTRE)
val cityTeam = Actor(id = "cg-31", role = Role.HANDLING_UNIT, unit = "城管中队")
val supervisor = Actor(id = "dc-02", role = Role.SUPERVISOR)
val wsStaff = Actor(id = "ws-staff-4", role = Role.WORKSTATION_STAFF)

/** Well inside unit grid XT-W01-U1 (日晖新城第1单元网格). */
fun fixW01U1(accuracyM: Double = 5.0) = GpsFix(31.1991477, 121.4273255, accuracyM, 0)

/** Well inside unit grid XT-W06-U2 (嘉善第2单元网格). */
fun fixW06U2(accuracyM: Double = 5.0) = GpsFix(31.1986841, 121.4358510, accuracyM, 0)

/** Well inside unit grid XT-W11-U1 (明园第1单元网格). */
fun fixW11U1(accuracyM: Double = 5.0) = GpsFix(31.1901261, 121.4265277, accuracyM, 0)

/** 5 m inside XT-W03-U1 from the edge it shares with XT-W03-U2. */
fun fixNearW03Edge(accuracyM: Double = 20.0) = GpsFix(31.1968364, 121.4256141, accuracyM, 0)

/** The crossing of Damuqiao Rd and Xietu Rd, where the four blocks meet. */
fun fixAtCrossing(accuracyM: Double = 5.0) = GpsFix(31.1916671, 121.4352644, accuracyM, 0)

/** Far outside the street (Pudong). */
fun fixOutside() = GpsFix(31.2304, 121.5000, 5.0, 0)
