// The logic under the Android layer's field features, driven as the
// activities and the worker drive it: location from LocationManager's
// readings, the camera's capture files, the WorkManager schedule, and the
// pairing screen after a revocation. On the JVM, against the real native
// library and (where the server matters) a real wangge-server.
package org.wangge.demo.tests

import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.runBlocking
import org.wangge.core.NewCase
import org.wangge.demo.AfterRun
import org.wangge.demo.BackgroundSync
import org.wangge.demo.BackgroundSyncOutcome
import org.wangge.demo.BackgroundSyncSettings
import org.wangge.demo.EnrolmentViewModel
import org.wangge.demo.FixQuality
import org.wangge.demo.GridChoice
import org.wangge.demo.LocationAccess
import org.wangge.demo.LocationProvider
import org.wangge.demo.LocationReading
import org.wangge.demo.LocationStatus
import org.wangge.demo.LocationTracker
import org.wangge.demo.Network
import org.wangge.demo.NetworkNeed
import org.wangge.demo.NewReportViewModel
import org.wangge.demo.PhotoCaptures
import org.wangge.demo.Session
import org.wangge.demo.SyncSchedule
import org.wangge.demo.SyncStatusState
import org.wangge.demo.SyncWork
import org.wangge.demo.WhenQueued
import org.wangge.demo.WorkResult
import org.wangge.tests.Suite
import org.wangge.tests.SyncServer
import org.wangge.tests.TestStore
import org.wangge.tests.assertEq
import org.wangge.tests.assertThat
import org.wangge.tests.fixNearW03Edge
import org.wangge.tests.fixW01U1
import org.wangge.tests.officer
import org.wangge.tests.smallJpeg
import org.wangge.tests.tempDir

private val everything = setOf("gps", "network", "fused", "passive")
private val precise = LocationAccess(fine = true, coarse = true, enabled = everything)

/** A reading at [fix]'s place, [accuracyM] wide, taken at [elapsedMs] on the monotonic clock. */
private fun reading(
    provider: LocationProvider,
    accuracyM: Double?,
    elapsedMs: Long,
    at: org.wangge.core.model.GpsFix = fixW01U1(),
) = LocationReading(provider, at.lat, at.lon, accuracyM, timeMs = 1_700_000_000_000 + elapsedMs, elapsedMs = elapsedMs)

fun fieldTests() = Suite("android demo: location, camera captures, background schedule, pairing").apply {
    test("location: which providers are asked, by permission and settings") {
        val ask = LocationTracker.Companion::providersToAsk
        assertEq(listOf(LocationProvider.GPS, LocationProvider.NETWORK, LocationProvider.FUSED), ask(precise), "all, best first")
        assertEq(
            listOf(LocationProvider.NETWORK, LocationProvider.FUSED),
            ask(LocationAccess(fine = false, coarse = true, enabled = everything)),
            "approximate only: no satellites",
        )
        assertEq(
            listOf(LocationProvider.GPS),
            ask(LocationAccess(fine = true, coarse = true, enabled = setOf("gps", "passive"))),
            "only what is switched on; never passive",
        )
        assertEq(emptyList(), ask(LocationAccess(fine = false, coarse = false, enabled = everything)), "no permission")

        val tracker = LocationTracker()
        tracker.start(LocationAccess(fine = false, coarse = false, enabled = everything))
        assertEq(LocationStatus.NoPermission, tracker.status, "asks for the permission")
        assertEq(false, tracker.listening, "nothing to listen to")
        tracker.start(LocationAccess(fine = true, coarse = true, enabled = emptySet()))
        assertEq(LocationStatus.Off, tracker.status, "location switched off")
        tracker.start(LocationAccess(fine = false, coarse = true, enabled = everything))
        assertEq("正在定位（基站/WLAN、融合定位）…（仅有大致位置权限，请允许“精确位置”）", tracker.status.line, "approximate only")
        assertEq(true, tracker.listening, "listening")
        assertEq(LocationProvider.FUSED, LocationProvider.of("fused"), "by Android's name")
        assertEq(null, LocationProvider.of("passive"), "not one the app asks")
    }

    test("location: stale, accuracy-less and worse readings are dropped; a newer one supersedes an old one; a good one stops the providers") {
        val t = LocationTracker()
        t.start(precise)
        val now = 10 * 60_000L
        assertEq(null, t.offer(reading(LocationProvider.GPS, 5.0, now - 3 * 60_000), now), "last known, 3 minutes old: elsewhere")
        assertThat(t.status is LocationStatus.Searching) { "still searching: ${t.status}" }
        assertEq(null, t.offer(reading(LocationProvider.NETWORK, null, now), now), "no accuracy")
        assertEq(null, t.offer(reading(LocationProvider.NETWORK, 20_000.0, now), now), "beyond what the core takes")

        val network = reading(LocationProvider.NETWORK, 150.0, now)
        assertEq(network, t.offer(network, now), "the first usable reading")
        val weak = t.status as LocationStatus.Located
        assertEq(FixQuality.WEAK, weak.quality, "150 m is weak")
        assertEq("定位精度较差 ±150 米（基站/WLAN）：到开阔处稍候可提高精度；跨网格时请选择网格", weak.line, "says how to improve it")
        assertEq(true, t.listening, "keeps asking")

        val fair = reading(LocationProvider.GPS, 40.0, now + 1_000)
        assertEq(fair, t.offer(fair, now + 1_000), "more accurate wins")
        assertEq("定位精度 ±40 米（卫星），仍在提高精度…", t.status.line, "fair, still improving")
        assertEq(null, t.offer(reading(LocationProvider.NETWORK, 120.0, now + 2_000), now + 2_000), "worse and not newer enough")
        // 40 s later the officer may have walked on: a newer fair reading replaces it...
        val later = reading(LocationProvider.GPS, 60.0, now + 41_000)
        assertEq(later, t.offer(later, now + 41_000), "newer supersedes")
        // ...but a weak network fix never pushes out a fair satellite fix just by being newer.
        assertEq(null, t.offer(reading(LocationProvider.NETWORK, 300.0, now + 90_000), now + 90_000), "newer but weak")
        assertEq("定位精度 ±60 米（卫星，49 秒前），仍在提高精度…", t.status.line, "the kept fix, aged")

        val good = reading(LocationProvider.GPS, 8.4, now + 95_000)
        assertEq(good, t.offer(good, now + 95_000), "good")
        assertEq(FixQuality.GOOD, (t.status as LocationStatus.Located).quality, "good")
        assertEq("定位精度 ±8 米（卫星）", t.status.line, "the line the report screen shows")
        assertEq(false, t.listening, "stop the GPS")
        t.start(precise)
        assertThat(t.status is LocationStatus.Searching) { "a new session starts afresh: ${t.status}" }
    }

    test("new report: readings pick the grid and show the accuracy; a better fix across a boundary keeps the officer's pick") {
        val t = TestStore()
        runBlocking {
            val report = NewReportViewModel(Session(t.store, officer, io = Dispatchers.IO))
            assertEq(
                listOf(LocationProvider.GPS, LocationProvider.NETWORK, LocationProvider.FUSED),
                report.startLocating(precise),
                "the providers to ask",
            )
            assertEq("正在定位（卫星、基站/WLAN、融合定位）…", report.state.value.location.line, "searching")
            val now = 1_000_000L
            assertEq(true, report.offerReading(reading(LocationProvider.GPS, 5.0, now - 5 * 60_000), now), "stale: keep asking")
            assertEq(GridChoice.Waiting, report.state.value.grid, "a stale reading is not used")

            assertEq(false, report.offerReading(reading(LocationProvider.GPS, 6.0, now - 10_000), now), "good: stop asking")
            val grid = report.state.value.grid
            assertThat(grid is GridChoice.Certain && grid.place.cell == "XT-W01-U1") { "grid: $grid" }
            assertEq("定位精度 ±6 米（卫星，10 秒前）", report.state.value.location.line, "accuracy shown")
            assertEq(6.0, report.state.value.fix?.accuracyM, "the fix the case gets")
            assertEq(1_700_000_000_000 + now - 10_000, report.state.value.fix?.fixTimeMs, "with the reading's own time")

            // Near a boundary: the officer picks; a better fix that still crosses keeps the pick.
            report.startLocating(precise)
            report.offerReading(reading(LocationProvider.NETWORK, 30.0, now, at = fixNearW03Edge()), now)
            val choose = report.state.value.grid as? GridChoice.Choose ?: throw AssertionError("not ambiguous: ${report.state.value.grid}")
            assertEq(listOf("XT-W03-U1", "XT-W03-U2"), choose.candidates.map { it.cell }, "candidates")
            report.chooseGrid("XT-W03-U2")
            report.offerReading(reading(LocationProvider.GPS, 25.0, now + 1_000, at = fixNearW03Edge()), now + 1_000)
            assertEq("XT-W03-U2", (report.state.value.grid as? GridChoice.Choose)?.chosen, "the pick survives a better fix")
            assertEq(25.0, report.state.value.fix?.accuracyM, "the better fix is used")
        }
        t.store.close()
    }

    test("camera captures: the photo comes back and its file is deleted; a cancelled capture leaves nothing; old leftovers are swept") {
        val dir = tempDir().resolve("captures").toFile()
        val captures = PhotoCaptures(dir)
        val t = TestStore()
        runBlocking {
            val report = NewReportViewModel(Session(t.store, officer, io = Dispatchers.IO))
            val shot = captures.newFile()
            assertEq(shot, captures.file(shot.name), "found again by the name the activity saved")
            shot.writeBytes(smallJpeg(seed = 71)) // what the camera app writes
            val bytes = captures.take(shot) ?: throw AssertionError("no photo")
            assertEq(false, shot.exists(), "the camera's full-size original is gone")
            report.attachPhoto(bytes)
            assertEq(1, report.state.value.photos.size, "imported into the store")

            val cancelled = captures.newFile()
            cancelled.createNewFile() // the camera app opened the file, then the officer cancelled
            assertEq(null, captures.take(cancelled), "nothing taken")
            assertEq(false, cancelled.exists(), "and nothing left")
            assertEq(null, captures.take(captures.newFile()), "never written")
        }
        assertEq(null, captures.file("../store.sqlite3"), "only capture files")
        assertEq(null, captures.file("capture-x.jpg"), "only names it made")
        val old = captures.newFile().apply { writeBytes(byteArrayOf(1)) }
        val fresh = captures.newFile().apply { writeBytes(byteArrayOf(2)) }
        val other = File(dir, "keep.txt").apply { writeText("not a capture") }
        val now = System.currentTimeMillis()
        assertThat(old.setLastModified(now - 25 * 60 * 60_000L)) { "cannot age the file" }
        assertEq(1, captures.sweep(now), "one leftover older than a day")
        assertEq(listOf(false, true, true), listOf(old, fresh, other).map { it.exists() }, "which files remain")
        t.store.close()
    }

    test("background schedule: the works and their networks; what follows each outcome; a run on mobile data queues the photos for Wi-Fi") {
        val byDefault = BackgroundSyncSettings()
        val chosen = BackgroundSyncSettings(fullPhotosOnMetered = true)
        assertEq(SyncWork("wangge-sync", 15, NetworkNeed.CONNECTED, WhenQueued.KEEP), SyncSchedule.periodic(), "periodic, any network")
        assertEq(SyncWork("wangge-sync-now", null, NetworkNeed.CONNECTED, WhenQueued.REPLACE), SyncSchedule.now(), "now")
        assertEq(NetworkNeed.UNMETERED, SyncSchedule.photos(byDefault).network, "photos wait for Wi-Fi")
        assertEq(NetworkNeed.CONNECTED, SyncSchedule.photos(chosen).network, "unless chosen")
        assertEq(
            listOf(SyncWork("wangge-sync-photos", null, NetworkNeed.CONNECTED, WhenQueued.REPLACE)),
            SyncSchedule.settingsChanged(chosen),
            "a changed setting re-queues the photos' work in place",
        )
        assertEq(AfterRun(WorkResult.SUCCESS), SyncSchedule.after(BackgroundSyncOutcome.Skipped, byDefault), "skipped")
        assertEq(AfterRun(WorkResult.RETRY), SyncSchedule.after(BackgroundSyncOutcome.Retry("offline"), byDefault), "retry")
        assertEq(
            AfterRun(WorkResult.FAILURE, cancelAll = true),
            SyncSchedule.after(BackgroundSyncOutcome.Stop("revoked"), byDefault),
            "revoked: stop the schedule",
        )
        assertEq(Network.NONE, SyncSchedule.network(hasInternet = false, notMetered = true), "no internet")
        assertEq(Network.METERED, SyncSchedule.network(hasInternet = true, notMetered = false), "mobile data")
        assertEq(Network.UNMETERED, SyncSchedule.network(hasInternet = true, notMetered = true), "Wi-Fi")

        SyncServer().use { server ->
            val t = TestStore()
            runBlocking {
                val me = Session.pair(t.store, server.url, server.pair(officer.id).first, io = Dispatchers.IO)
                val photo = t.store.importPhoto(smallJpeg(seed = 72))
                t.store.recordCase(me.me, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(photo)))
                val onData = BackgroundSync(me, byDefault).run(Network.METERED)
                val after = SyncSchedule.after(onData, byDefault)
                assertEq(WorkResult.SUCCESS, after.result, "done")
                assertEq(listOf(SyncSchedule.photos(byDefault)), after.enqueue, "the photos' work, waiting for Wi-Fi")
                assertEq(NetworkNeed.UNMETERED, after.enqueue.single().network, "on Wi-Fi")
                // WorkManager runs the photos' work once on Wi-Fi: nothing follows it.
                val onWifi = BackgroundSync(me, byDefault).run(Network.UNMETERED)
                assertEq(AfterRun(WorkResult.SUCCESS), SyncSchedule.after(onWifi, byDefault), "nothing left")
            }
            t.store.close()
        }

        assertEq(null, SyncStatusState().progressLine, "no line when idle")
        assertEq("正在同步：正在连接服务器…", SyncStatusState(syncing = true).progressLine, "before the first counters")
    }

    test("pairing screen after a revocation: says so, counts what was wiped and kept; pairing again clears it") {
        SyncServer().use { server ->
            val t = TestStore()
            runBlocking {
                val screen = EnrolmentViewModel(t.store, "手持21")
                screen.scanned(server.pair(officer.id).second)
                val me = screen.pair() ?: throw AssertionError("not paired: ${screen.state.value.error}")
                assertEq(false, screen.state.value.revoked, "paired")
                assertEq(null, screen.state.value.kept, "nothing to say")
                // A case recorded after the revocation, which the server will never get.
                server.revoke(t.deviceId)
                t.store.recordCase(me.me, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
                val outcome = BackgroundSync(me).run(Network.UNMETERED)
                assertThat(outcome is BackgroundSyncOutcome.Stop) { "revoked: $outcome" }

                screen.load()
                val s = screen.state.value
                assertEq(true, s.revoked, "revoked")
                assertThat(s.pairing.startsWith("本机已被管理中心停用")) { "line: ${s.pairing}" }
                assertEq("停用时已从本机清除街道数据 0 条；本机未发送的 1 条记录、0 张照片仍保留在本机，重新配对后可继续处理", s.kept, "kept")
                assertEq(null, screen.session, "nobody signed in")

                screen.scanned(server.pair(officer.id).second)
                assertThat(screen.pair() != null) { "paired again: ${screen.state.value.error}" }
                assertEq(false, screen.state.value.revoked, "no longer revoked")
                assertEq(null, screen.state.value.kept, "the revocation is cleared")
                assertThat(screen.state.value.pairing.startsWith("已重新配对")) { "line: ${screen.state.value.pairing}" }
            }
            t.store.close()
        }
    }
}
