// Sync and photos against a REAL server: `wangge-server` started by the
// test on a free port (see SyncServer.kt), the test roster imported and
// devices enrolled to its people through its CLI. Each device records as the
// person it is enrolled to, as the server's authority rules require.
package org.wangge.tests

import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.util.concurrent.CopyOnWriteArrayList
import javax.imageio.ImageIO
import org.wangge.core.Actor
import org.wangge.core.Author
import org.wangge.core.CaseEventKind
import org.wangge.core.model.EvidenceFlag
import org.wangge.core.NewCase
import org.wangge.core.PhotoRef
import org.wangge.core.RefusalCode
import org.wangge.core.model.Role
import org.wangge.core.SyncListener
import org.wangge.core.SyncProgress
import org.wangge.core.WanggeException
import org.wangge.core.ZeroReportEntry

/** A small JPEG, drawn and encoded in Kotlin (a gradient; `seed` makes each one different). */
fun smallJpeg(width: Int = 64, height: Int = 48, seed: Int = 1): ByteArray {
    val image = BufferedImage(width, height, BufferedImage.TYPE_INT_RGB)
    for (y in 0 until height) {
        for (x in 0 until width) {
            val r = (x * 4 + seed * 17) and 0xff
            val g = (y * 5 + seed * 29) and 0xff
            val b = (seed * 37) and 0xff
            image.setRGB(x, y, (r shl 16) or (g shl 8) or b)
        }
    }
    val out = ByteArrayOutputStream()
    check(ImageIO.write(image, "jpg", out)) { "no JPEG writer in this JVM" }
    return out.toByteArray()
}

/** Collects every progress report of a sync, with the thread it came on. */
class Recorder : SyncListener {
    val reports = CopyOnWriteArrayList<SyncProgress>()
    val threads = CopyOnWriteArrayList<String>()

    override fun onProgress(progress: SyncProgress) {
        reports += progress
        threads += Thread.currentThread().name
    }
}

private fun WanggeException.says(vararg words: String) {
    val text = message ?: ""
    for (w in words) assertThat(text.contains(w)) { "message should mention '$w': $text" }
}

/** A token of the right shape that the server never issued. */
private val unknownToken = "wgt_" + "0".repeat(64)

fun syncTests() = Suite("sync and photos, against a real server").apply {
    test("officer's day: offline cases with a photo and a zero report, sync, a second device sees them") {
        SyncServer().use { server ->
            val a = server.enroll("网格一组-手持01", blocks = listOf("XT-B1"))
            val b = server.enroll("网格一组-手持02", blocks = listOf("XT-B1"))
            val w = server.enroll("日晖新城居民区工作站", person = wsStaff.id)
            val first = TestStore(deviceId = a.deviceId)
            val store = first.store
            val today = store.today()

            // The workstation's own device files its zero report and syncs.
            val workstation = TestStore(deviceId = w.deviceId).store
            workstation.fileZeroReport(wsStaff, "XT-W01", today, ZeroReportEntry.Filed(nothingToReport = true))
            assertEq(1L, workstation.sync(server.url, w.token).docsSent, "the zero report sent")
            workstation.close()

            // Offline: a photo, a case carrying it, a second case.
            val jpeg = smallJpeg()
            val photo: PhotoRef = store.importPhoto(jpeg)
            assertEq(64, photo.width, "width")
            assertEq(48, photo.height, "height")
            assertEq(64, photo.sha256.length, "sha256")
            assertEq(photo, store.importPhoto(jpeg), "the same photo twice is stored once")
            val vendor = store.recordCase(
                officer,
                NewCase("A02-001", "菜场门口流动摊贩占道经营", gps = fixW01U1(), photos = listOf(photo)),
            )
            val garbage = store.recordCase(officer, NewCase("A01-001", "垃圾箱旁暴露垃圾", gps = fixW01U1()))
            assertEq(2L, store.pendingCount(), "pending before sync")
            assertEq(listOf(photo), store.caseThumbnails(vendor).map { it.photo }, "own thumbnail")
            assertThat(store.photoBytes(photo.sha256)?.size == photo.bytes.toInt()) { "photo bytes held" }

            val sent = store.sync(server.url, a.token)
            assertEq(2L, sent.docsSent, "docs sent")
            assertEq(0L, sent.docsRefused, "nothing refused")
            assertEq(1L, sent.docsReceived, "the workstation's zero report")
            assertEq(0L, sent.docsPending, "nothing pending")
            assertThat(sent.photosSent >= 2L) { "photo and thumbnail uploaded: $sent" }
            assertThat(sent.photoBytesSent >= photo.bytes) { "photo bytes sent: $sent" }
            assertEq(0L, store.pendingCount(), "pending after sync")

            // The second device, whose scope covers block XT-B1.
            val second = TestStore(deviceId = b.deviceId)
            val other = second.store
            assertThrows<WanggeException.CaseNotFound> { other.getCase(vendor) }
            val got = other.sync(server.url, b.token, null)
            assertEq(3L, got.docsReceived, "docs received: $got")
            assertThat(got.photosReceived >= 1L) { "thumbnail received: $got" }
            val seen = other.getCase(vendor)
            assertEq(a.deviceId, seen.header.reporterDeviceId, "reported on the first device")
            assertEq("XT-W01-U1", seen.header.grid?.cell, "grid")
            assertEq(listOf(photo), seen.header.photos, "photo reference")
            assertEq(setOf(vendor, garbage), other.casesInGrid("XT-W01").map { it.id }.toSet(), "cases in XT-W01")
            assertEq(true, other.zeroReport("XT-W01", today)?.nothingToReport, "the zero report")
            assertEq(true, other.caseSyncState(vendor).onServer, "received cases are on the server")

            // The second device judges the photo's evidence as the first does: the capture
            // facts travel in the case. This encoder writes no EXIF, hence both flags.
            val evidence = other.photoEvidence(vendor)
            assertEq(store.photoEvidence(vendor), evidence, "same evidence on both devices")
            assertEq(
                listOf(EvidenceFlag.NoCaptureTime, EvidenceFlag.NoPosition),
                evidence.single().flags,
                "evidence flags",
            )

            val thumbs = other.caseThumbnails(vendor)
            assertEq(listOf(photo), thumbs.map { it.photo }, "thumbnail on the second device")
            assertEq(store.caseThumbnails(vendor)[0].jpeg.toList(), thumbs[0].jpeg.toList(), "same thumbnail")
            val image = ImageIO.read(thumbs[0].jpeg.inputStream())
            assertThat(image != null && image.width in 1..64) { "the thumbnail decodes: $image" }

            // The full photo stays on the server until asked for.
            assertEq(null, other.photoBytes(photo.sha256), "full photo not downloaded yet")
            val full = other.fetchPhoto(server.url, b.token, photo.sha256)
            assertEq(store.photoBytes(photo.sha256)?.toList(), full.toList(), "the full photo")
            assertEq(full.toList(), other.photoBytes(photo.sha256)?.toList(), "kept after fetching")
            store.close()
            other.close()
        }
    }

    test("the progress callback fires during a sync with sensible counts") {
        SyncServer().use { server ->
            val a = server.enroll("手持03", blocks = listOf("XT-B1"))
            val t = TestStore(deviceId = a.deviceId)
            val store = t.store
            repeat(5) { i ->
                store.recordCase(officer, NewCase("A01-001", "暴露垃圾 $i", gps = fixW01U1()))
            }
            store.importPhoto(smallJpeg(seed = 7)).let { p ->
                store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(p)))
            }
            val recorder = Recorder()
            val caller = Thread.currentThread().name
            val result = store.sync(server.url, a.token, recorder)
            val reports = recorder.reports
            assertThat(reports.size >= 2) { "at least the start and one round: $reports" }
            assertEq(6L, reports.first().docsPending, "pending at the start")
            assertEq(0L, reports.first().docsSent, "nothing sent at the start")
            assertEq(result, reports.last(), "the last report is the result")
            assertEq(6L, result.docsSent, "docs sent")
            assertEq(0L, result.docsPending, "pending at the end")
            assertThat(result.rounds >= 1) { "rounds: $result" }
            assertThat(result.bytesSent > 0L && result.bytesReceived > 0L) { "bytes both ways: $result" }
            assertThat(result.photosSent >= 2L && result.photoBytesSent > 0L) { "photo upload counted: $result" }
            assertEq(0, result.retries, "no retries against a local server")
            for ((before, after) in reports.zipWithNext()) {
                assertThat(after.docsSent >= before.docsSent && after.bytesSent >= before.bytesSent) {
                    "counters only grow: $before → $after"
                }
                assertThat(after.docsPending <= before.docsPending) { "pending only shrinks: $before → $after" }
            }
            // The library's syncing thread (JNA names it anew at each call), never the caller's.
            assertThat(caller !in recorder.threads) { "called off the caller's thread ($caller): ${recorder.threads}" }

            // Nothing new: a second sync sends nothing.
            val again = store.sync(server.url, a.token, Recorder())
            assertEq(0L, again.docsSent, "nothing to send the second time")
            assertEq(0L, again.photosSent, "no photo sent twice")
            store.close()
        }
    }

    test("a wrong token → NotAuthorized, nothing lost; the right one then sends everything") {
        SyncServer().use { server ->
            val a = server.enroll("手持04", blocks = listOf("XT-B1"))
            val t = TestStore(deviceId = a.deviceId)
            val store = t.store
            val id = store.recordCase(officer, NewCase("A01-001", "暴露垃圾", gps = fixW01U1()))
            assertEq(1L, store.pendingCount(), "pending")
            assertThrows<WanggeException.NotAuthorized> { store.sync(server.url, unknownToken) }
                .says("refused this device's token", "enrol the device again")
            assertEq(1L, store.pendingCount(), "still pending after the refusal")
            assertEq(false, store.caseSyncState(id).onServer, "not on the server")
            assertThrows<WanggeException.NotAuthorized> { store.fetchPhoto(server.url, unknownToken, "ab".repeat(32)) }
            // A photo nobody uploaded: the token is fine, the photo is not there.
            assertThrows<WanggeException.Sync> { store.fetchPhoto(server.url, a.token, "ab".repeat(32)) }
            assertEq(1L, store.sync(server.url, a.token).docsSent, "sent with the right token")
            assertEq(0L, store.pendingCount(), "pending after")
            store.close()
        }
    }

    test("an unreachable server (closed port) → Offline, nothing lost") {
        val t = TestStore()
        val store = t.store
        val id = store.recordCase(officer, NewCase("A01-001", "暴露垃圾", gps = fixW01U1()))
        store.fileZeroReport(wsStaff, "XT-W01", store.today(), ZeroReportEntry.Filed(nothingToReport = true))
        val recorder = Recorder()
        val started = System.nanoTime()
        assertThrows<WanggeException.Offline> { store.sync("http://127.0.0.1:${freePort()}", unknownToken, recorder) }
            .says("cannot reach the sync server", "changes are kept")
        val ms = (System.nanoTime() - started) / 1_000_000
        assertThat(ms < 30_000) { "gave up after its retries, in $ms ms" }
        assertEq(2L, store.pendingCount(), "nothing lost")
        assertEq(2L, recorder.reports.first().docsPending, "the listener saw the start")
        assertEq(false, store.caseSyncState(id).onServer, "not on the server")
        assertEq(true, store.caseSyncState(id).pending, "still pending")
        store.close()
    }

    test("per-case reached-server state before and after a sync, and after a new event") {
        SyncServer().use { server ->
            val a = server.enroll("手持05", blocks = listOf("XT-B1"))
            val t = TestStore(deviceId = a.deviceId)
            val store = t.store
            val id = store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
            val before = store.caseSyncState(id)
            assertEq(false, before.onServer, "before: on server")
            assertEq(true, before.pending, "before: pending")
            store.sync(server.url, a.token)
            val after = store.caseSyncState(id)
            assertEq(true, after.onServer, "after: on server")
            assertEq(false, after.pending, "after: pending")
            store.addEvent(id, officer, CaseEventKind.Comment("摊贩已离开"))
            val changed = store.caseSyncState(id)
            assertEq(true, changed.onServer, "a new event: still on server")
            assertEq(true, changed.pending, "a new event: pending")
            assertEq(1L, store.pendingCount(), "one document pending")
            store.sync(server.url, a.token)
            assertEq(false, store.caseSyncState(id).pending, "the event reached the server")
            assertThrows<WanggeException.InvalidInput> { store.caseSyncState("not-an-id") }
            store.close()
        }
    }

    test("photos: a bad image → Photo, an unknown photo → UnknownPhoto") {
        val t = TestStore()
        val store = t.store
        assertThrows<WanggeException.Photo> { store.importPhoto(ByteArray(0)) }.says("empty")
        assertThrows<WanggeException.Photo> { store.importPhoto("GIF89a, not a photo".toByteArray()) }
        val jpeg = smallJpeg()
        assertThrows<WanggeException.Photo> { store.importPhoto(jpeg.copyOf(jpeg.size / 2)) }
        val unknown = PhotoRef("ab".repeat(32), 1000L, 64, 48)
        assertThrows<WanggeException.UnknownPhoto> {
            store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(unknown)))
        }.says("import_photo")
        assertEq(0L, store.pendingCount(), "nothing recorded")
        store.close()
    }

    test("a case the server refuses (its person lost a role) is kept, typed and listed; retried, it goes") {
        SyncServer().use { server ->
            val a = server.enroll("手持06", blocks = listOf("XT-B1"))
            val store = TestStore(deviceId = a.deviceId).store
            store.setAuthor(store.enrolment(server.url, a.token).author)
            val id = store.recordCase(officer, NewCase("A02-001", "菜场门口流动摊贩占道经营", gps = fixW01U1()))

            // The register takes the grid_officer role away before the device syncs.
            server.importRoster(listOf(officerPerson.copy(roles = listOf("street_official"))))
            val refusedSync = store.sync(server.url, a.token)
            assertEq(1L, refusedSync.docsRefused, "docs refused: $refusedSync")
            assertEq(0L, refusedSync.docsSent, "nothing accepted")
            assertEq(0L, refusedSync.docsPending, "a refused document is not pending")

            val status = store.caseSyncState(id)
            assertEq(false, status.onServer, "not on the server")
            assertEq(false, status.pending, "not pending")
            assertEq(true, status.refused, "refused")
            val refusal = status.refusal ?: throw AssertionError("no refusal in $status")
            assertEq(id, refusal.docId, "refused document")
            assertEq(RefusalCode.WRONG_AUTHOR, refusal.code, "code")
            assertEq("wrong_author", refusal.codeName, "code as sent")
            assertThat(refusal.message.contains("role or unit")) { "the message says why: ${refusal.message}" }
            assertThat(refusal.atMs > 0) { "when: ${refusal.atMs}" }
            assertEq(listOf(refusal), store.refusedDocuments(), "the refused documents")
            assertEq("菜场门口流动摊贩占道经营", store.getCase(id).header.description, "still readable here")
            assertEq(0L, store.sync(server.url, a.token).docsRefused, "not sent again by itself")
            assertEq(true, store.caseSyncState(id).refused, "still refused")

            // The register gives the role back; the officer retries.
            server.importRoster(listOf(officerPerson))
            assertEq(true, store.retryRefused(id), "retry")
            assertEq(1L, store.pendingCount(), "pending again")
            assertEq(true, store.caseSyncState(id).refused, "refused until the server answers")
            val retried = store.sync(server.url, a.token)
            assertEq(1L, retried.docsSent, "sent: $retried")
            assertEq(0L, retried.docsRefused, "not refused")
            val after = store.caseSyncState(id)
            assertEq(true, after.onServer, "on the server")
            assertEq(false, after.refused, "the refusal cleared")
            assertEq(null, after.refusal, "no refusal")
            assertEq(emptyList(), store.refusedDocuments(), "nothing refused")
            assertEq(false, store.retryRefused(id), "nothing to retry")
            store.close()
        }
    }

    test("enrolment() names the device's person; setAuthor makes another's write fail with NotAllowed") {
        SyncServer().use { server ->
            val a = server.enroll("手持07")
            val store = TestStore(deviceId = a.deviceId).store
            val enrolment = store.enrolment(server.url, a.token)
            assertEq(a.deviceId, enrolment.deviceId, "device")
            val person = enrolment.person ?: throw AssertionError("no person in $enrolment")
            assertEq(officer.id, person.staffId, "staff id")
            assertEq("王建国", person.name, "name")
            assertEq(listOf(Role.GRID_OFFICER), person.roles, "roles")
            assertEq(listOf("网格一组"), person.units, "units")
            assertEq(listOf("XT-B1"), person.blocks, "blocks")
            assertEq(emptyList(), person.workstations, "workstations")
            assertEq(Author(officer.id, listOf(Role.GRID_OFFICER), listOf("网格一组")), enrolment.author, "author")

            val stranger = Actor("officer-099", Role.GRID_OFFICER, "网格一组")
            val vendor = NewCase("A02-001", "流动摊贩", gps = fixW01U1())
            store.setAuthor(enrolment.author)
            val id = store.recordCase(officer, vendor)
            assertThrows<WanggeException.NotAllowed> { store.recordCase(stranger, vendor) }
                .says("officer-099", officer.id)
            assertThrows<WanggeException.NotAllowed> { store.recordCase(officer.copy(unit = "网格二组"), vendor) }
            assertThrows<WanggeException.NotAllowed> { store.addEvent(id, cityTeam, CaseEventKind.Comment("不是本人")) }
            assertEq(1L, store.pendingCount(), "nothing written by the others")
            store.setAuthor(null)
            store.recordCase(stranger, vendor)
            assertEq(2L, store.pendingCount(), "without an author, the device writes as anyone")

            assertThrows<WanggeException.NotAuthorized> { store.enrolment(server.url, unknownToken) }
            assertThrows<WanggeException.Offline> { store.enrolment("http://127.0.0.1:${freePort()}", a.token) }
            store.close()
        }
    }
}
