// Kotlin that fits Android, against a REAL server: suspend functions whose
// cancellation stops a sync at a round boundary with nothing half-applied,
// a store observer told once per committed change, and lists that carry
// each case's sync state (no call per case).
package org.wangge.tests

import java.util.Collections
import java.util.concurrent.atomic.AtomicBoolean
import java.util.concurrent.atomic.AtomicReference
import kotlinx.coroutines.CoroutineStart
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.wangge.core.CaseEventKind
import org.wangge.core.CaseQuery
import org.wangge.core.NewCase
import org.wangge.core.model.PhotoUpload
import org.wangge.core.Store
import org.wangge.core.StoreChange
import org.wangge.core.StoreObserver
import org.wangge.core.SyncConfig
import org.wangge.core.SyncListener
import org.wangge.core.SyncProgress
import org.wangge.core.ZeroReportEntry
import org.wangge.core.ZeroReportKey

/** Keeps every change the store tells of, in order (called on the writing thread). */
class ChangeLog : StoreObserver {
    val changes: MutableList<StoreChange> = Collections.synchronizedList(mutableListOf())

    override fun onChange(change: StoreChange) {
        changes += change
    }

    /** The changes told since the last call. */
    fun take(): List<StoreChange> = synchronized(changes) { changes.toList().also { changes.clear() } }
}

/** The ids of the cases a store lists as on the server and as pending, read in one call. */
private fun Store.onServerAndPending(): Pair<Set<String>, Set<String>> {
    val all = cases(CaseQuery())
    return all.filter { it.sync.onServer }.map { it.id }.toSet() to all.filter { it.sync.pending }.map { it.id }.toSet()
}

fun asyncTests() = Suite("suspend functions, cancellation, the store observer, lists with their sync state").apply {
    test("a sync cancelled after its first round keeps that round whole; the next sync finishes the job") {
        SyncServer().use { server ->
            val a = server.enroll("手持11", blocks = listOf("XT-B1"))
            val b = server.enroll("手持12", blocks = listOf("XT-B1"))
            val phone = TestStore(deviceId = a.deviceId).store
            phone.setSyncConfig(SyncConfig(docsPerRound = 2))
            val ids = (1..6).map { i -> phone.recordCase(officer, NewCase("A01-001", "暴露垃圾 $i", gps = fixW01U1())) }

            // The coroutine is cancelled from the listener when the first round has been
            // applied; the listener waits until the coroutine has ended (and with it the
            // native future), so the library sees the cancellation at its next boundary.
            val cancelledAt = AtomicReference<SyncProgress?>(null)
            val job = AtomicReference<Job?>(null)
            val listener = object : SyncListener {
                override fun onProgress(progress: SyncProgress) {
                    if (progress.rounds == 1 && cancelledAt.compareAndSet(null, progress)) {
                        val j = job.get() ?: error("the job is set before it starts")
                        j.cancel()
                        runBlocking { j.join() }
                    }
                }
            }
            coroutineScope {
                val j = launch(Dispatchers.IO, start = CoroutineStart.LAZY) { phone.sync(server.url, a.token, listener) }
                job.set(j)
                j.start()
                j.join()
                assertThat(j.isCancelled) { "the sync coroutine was cancelled" }
            }
            val first = cancelledAt.get() ?: throw AssertionError("the first round never reported")
            assertEq(2L, first.docsSent, "one round of two documents went")
            assertEq(4L, first.docsPending, "four left")

            // The phone: exactly the first round applied, the rest still pending.
            assertEq(4L, phone.pendingCount(), "pending after the cancelled sync")
            val (onServer, pending) = phone.onServerAndPending()
            assertEq(2, onServer.size, "on the server: $onServer")
            assertEq(ids.toSet() - onServer, pending, "the others are pending")

            // The server holds exactly what the phone believes it holds: a second device
            // of the block receives those two and nothing else.
            val other = TestStore(deviceId = b.deviceId).store
            assertEq(2L, other.sync(server.url, b.token).docsReceived, "the server had the first round")
            assertEq(onServer, other.cases(CaseQuery()).map { it.id }.toSet(), "the same two cases")

            // The next sync finishes the job.
            val rest = phone.sync(server.url, a.token)
            assertEq(4L, rest.docsSent, "the rest sent: $rest")
            assertEq(0L, phone.pendingCount(), "nothing pending")
            assertEq(ids.toSet() to emptySet<String>(), phone.onServerAndPending(), "every case on the server")
            assertEq(4L, other.sync(server.url, b.token).docsReceived, "the second device gets the rest")
            assertEq(ids.toSet(), other.cases(CaseQuery()).map { it.id }.toSet(), "all six there")
            phone.close()
            other.close()
        }
    }

    test("a sync cancelled between a photo's thumbnail and the photo keeps the thumbnail on the server; the next sync sends the photo") {
        SyncServer().use { server ->
            val a = server.enroll("手持16", blocks = listOf("XT-B1"))
            val b = server.enroll("手持17", blocks = listOf("XT-B1"))
            val phone = TestStore(deviceId = a.deviceId).store
            val photo = phone.importPhoto(smallJpeg(640, 480, seed = 31))
            val id = phone.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(photo)))

            // Cancelled from the observer, on the sync's thread, once the thumbnail is up:
            // the photo is the next boundary.
            val job = AtomicReference<Job?>(null)
            val cancelled = AtomicBoolean(false)
            val handle = phone.observe(object : StoreObserver {
                override fun onChange(change: StoreChange) {
                    val upload = phone.caseDetail(id).photos.single().upload
                    if (change.syncState && upload == PhotoUpload.THUMBNAIL_ON_SERVER && cancelled.compareAndSet(false, true)) {
                        val j = job.get() ?: error("the job is set before it starts")
                        j.cancel()
                        runBlocking { j.join() }
                    }
                }
            })
            coroutineScope {
                val j = launch(Dispatchers.IO, start = CoroutineStart.LAZY) { phone.sync(server.url, a.token) }
                job.set(j)
                j.start()
                j.join()
                assertThat(j.isCancelled) { "the sync coroutine was cancelled" }
            }
            handle.stop()
            assertEq(true, cancelled.get(), "cancelled once the thumbnail was up")
            val half = phone.caseDetail(id)
            assertEq(PhotoUpload.THUMBNAIL_ON_SERVER, half.photos.single().upload, "the photo itself waits")
            assertEq(listOf(true, 1, 0, 1), listOf(half.sync.onServer, half.sync.photos, half.sync.photosOnServer, half.sync.thumbnailsOnServer), "state: ${half.sync}")

            // Another device sees the case and its thumbnail; the full photo is not there yet.
            val other = TestStore(deviceId = b.deviceId).store
            val got = other.sync(server.url, b.token)
            assertEq(1L, got.photosReceived, "the thumbnail: $got")
            assertThat(other.caseDetail(id).photos.single().thumbnail != null) { "the thumbnail arrived" }
            assertThrows<org.wangge.core.WanggeException.Sync> { other.fetchPhoto(server.url, b.token, photo.sha256) }

            // The next sync sends the photo.
            val rest = phone.sync(server.url, a.token)
            assertEq(1L, rest.photosSent, "the photo: $rest")
            assertEq(PhotoUpload.ON_SERVER, phone.caseDetail(id).photos.single().upload, "uploaded")
            assertEq(phone.photoBytes(photo.sha256)?.toList(), other.fetchPhoto(server.url, b.token, photo.sha256).toList(), "the full photo")
            phone.close()
            other.close()
        }
    }

    test("a sync cancelled in the middle of a photo keeps the chunks the server acknowledged; the next sync sends only the rest") {
        SyncServer().use { server ->
            val a = server.enroll("手持19", blocks = listOf("XT-B1"))
            val phone = TestStore(deviceId = a.deviceId).store
            val chunk = 1024
            // One upload in flight: the thumbnail, then the photo's chunks one by one.
            assertEq(4, SyncConfig().uploadConcurrency, "the core's default")
            phone.setSyncConfig(SyncConfig(photoChunkBytes = chunk, uploadConcurrency = 1))
            assertEq(1, phone.syncConfig().uploadConcurrency, "read back")
            assertThrows<org.wangge.core.WanggeException.InvalidInput> { phone.setSyncConfig(SyncConfig(uploadConcurrency = 0)) }
            assertEq(1, phone.syncConfig().uploadConcurrency, "a refused config changes nothing")
            val photo = phone.importPhoto(smallJpeg(640, 480, seed = 61))
            assertThat(photo.bytes > 3 * chunk) { "a photo of several chunks: ${photo.bytes} bytes" }
            val id = phone.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(photo)))

            // The thumbnail done (photosSent = 1), the first chunk of the photo acknowledged:
            // cancel; the next chunk boundary stops the sync.
            val job = AtomicReference<Job?>(null)
            val cancelledAt = AtomicReference<SyncProgress?>(null)
            val listener = object : SyncListener {
                override fun onProgress(progress: SyncProgress) {
                    if (progress.photosSent == 1L && cancelledAt.compareAndSet(null, progress)) {
                        val j = job.get() ?: error("the job is set before it starts")
                        j.cancel()
                        runBlocking { j.join() }
                    }
                }
            }
            coroutineScope {
                val j = launch(Dispatchers.IO, start = CoroutineStart.LAZY) { phone.sync(server.url, a.token, listener) }
                job.set(j)
                j.start()
                j.join()
                assertThat(j.isCancelled) { "the sync coroutine was cancelled" }
            }
            val at = cancelledAt.get() ?: throw AssertionError("no chunk of the photo was reported")
            assertEq(PhotoUpload.THUMBNAIL_ON_SERVER, phone.caseDetail(id).photos.single().upload, "the photo is not complete")

            // The server kept the chunk: the next sync resumes after it.
            val rest = phone.sync(server.url, a.token)
            assertEq(photo.bytes - chunk, rest.photoBytesSent, "only the rest was sent (cancelled at $at)")
            assertEq(1L, rest.photosSent, "the photo completed")
            assertEq(PhotoUpload.ON_SERVER, phone.caseDetail(id).photos.single().upload, "uploaded")
            phone.close()
        }
    }

    test("full photos off (a metered network): documents and thumbnails go, the full photos wait for a sync with them on") {
        SyncServer().use { server ->
            val a = server.enroll("手持18", blocks = listOf("XT-B1"))
            val phone = TestStore(deviceId = a.deviceId).store
            val photo = phone.importPhoto(smallJpeg(seed = 41))
            val id = phone.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(photo)))
            phone.setSyncConfig(SyncConfig(fullPhotos = false))
            val metered = phone.sync(server.url, a.token)
            assertEq(listOf(1L, 1L), listOf(metered.docsSent, metered.photosSent), "the case and the thumbnail: $metered")
            assertEq(PhotoUpload.THUMBNAIL_ON_SERVER, phone.caseDetail(id).photos.single().upload, "the photo waits")
            assertEq(0L, phone.sync(server.url, a.token).photosSent, "still waits on the next metered sync")
            phone.setSyncConfig(SyncConfig(fullPhotos = true))
            assertEq(1L, phone.sync(server.url, a.token).photosSent, "sent with full photos on")
            assertEq(PhotoUpload.ON_SERVER, phone.caseDetail(id).photos.single().upload, "uploaded")
            phone.close()
        }
    }

    test("the observer is told once per committed change, not per row; a sync that changes nothing tells nothing") {
        SyncServer().use { server ->
            val a = server.enroll("手持13", blocks = listOf("XT-B1"))
            val b = server.enroll("手持14", blocks = listOf("XT-B1"))
            val phone = TestStore(deviceId = a.deviceId).store
            val other = TestStore(deviceId = b.deviceId).store
            val mine = ChangeLog()
            val theirs = ChangeLog()
            val myHandle = phone.observe(mine)
            val theirHandle = other.observe(theirs)

            // One write, one change, naming the case.
            val ids = (1..5).map { i -> phone.recordCase(officer, NewCase("A01-001", "暴露垃圾 $i", gps = fixW01U1())) }
            val recorded = mine.take()
            assertEq(ids.map { listOf(it) }, recorded.map { it.cases }, "one change per case recorded")
            assertThat(recorded.all { it.syncState && it.zeroReports.isEmpty() && !it.allCases }) { "changes: $recorded" }
            phone.addEvent(ids[0], officer, CaseEventKind.Comment("已拍照"))
            assertEq(listOf(listOf(ids[0])), mine.take().map { it.cases }, "an event: one change")
            val workstation = TestStore().store
            val filings = ChangeLog()
            workstation.observe(filings).use {
                workstation.fileZeroReport(wsStaff, "XT-W01", workstation.today(), ZeroReportEntry.Filed(nothingToReport = true))
            }
            assertEq(
                listOf(listOf(ZeroReportKey("XT-W01", workstation.today()))),
                filings.take().map { it.zeroReports },
                "a zero report: one change naming it",
            )
            workstation.close()

            // The push of five documents in one round: one change, of the sync state only.
            assertEq(5L, phone.sync(server.url, a.token).docsSent, "pushed")
            val pushed = mine.take()
            assertEq(1, pushed.size, "one change for the round: $pushed")
            assertThat(pushed[0].syncState && pushed[0].cases.isEmpty()) { "the sync state changed: ${pushed[0]}" }

            // Five cases received in one round: one change naming all five, not five changes.
            assertEq(5L, other.sync(server.url, b.token).docsReceived, "received")
            val received = theirs.take()
            assertEq(1, received.size, "one change for the round: $received")
            assertEq(ids.toSet(), received[0].cases.toSet(), "naming every case received")
            assertEq(true, received[0].syncState, "and the sync state")

            // Nothing to exchange: nothing told.
            other.sync(server.url, b.token)
            assertEq(emptyList(), theirs.take(), "a sync that changes nothing")

            // Stopped: nothing more.
            myHandle.stop()
            phone.recordCase(officer, NewCase("A01-001", "暴露垃圾 7", gps = fixW01U1()))
            assertEq(emptyList(), mine.take(), "after stop()")
            theirHandle.close()
            phone.close()
            other.close()
        }
    }

    test("lists carry each case's sync state with its photos; caseDetail reads case, photos and state in one call") {
        SyncServer().use { server ->
            val a = server.enroll("手持15", blocks = listOf("XT-B1"))
            val phone = TestStore(deviceId = a.deviceId).store
            val photo1 = phone.importPhoto(smallJpeg(seed = 21))
            val photo2 = phone.importPhoto(smallJpeg(seed = 22))
            val vendor = phone.recordCase(
                officer,
                NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(photo1, photo2)),
            )
            val garbage = phone.recordCase(officer, NewCase("A01-001", "暴露垃圾", gps = fixW01U1()))
            val w = server.enroll("日晖新城居民区工作站", person = wsStaff.id)
            val ws = TestStore(deviceId = w.deviceId).store
            val report = ws.fileZeroReport(wsStaff, "XT-W01", ws.today(), ZeroReportEntry.Filed(nothingToReport = true))
            assertEq(true, report.sync.pending && !report.sync.onServer, "the zero report only here: ${report.sync}")

            // Before the sync: one list call gives every badge, the same as the per-case call.
            val before = phone.cases(CaseQuery()).associateBy { it.id }
            assertEq(setOf(vendor, garbage), before.keys, "listed")
            for ((id, row) in before) assertEq(phone.caseSyncState(id), row.sync, "list and single call agree for $id")
            val v = before.getValue(vendor).sync
            assertEq(listOf(false, true, 2, 0, 0), listOf(v.onServer, v.pending, v.photos, v.photosOnServer, v.thumbnailsOnServer), "vendor before: $v")
            assertEq(0, before.getValue(garbage).sync.photos, "no photos")
            val detail = phone.caseDetail(vendor)
            assertEq(phone.getCase(vendor), detail.case, "the case")
            assertEq(v, detail.sync, "the state")
            assertEq(listOf(photo1, photo2), detail.photos.map { it.photo }, "the photos, in order")
            assertEq(listOf(PhotoUpload.WAITING, PhotoUpload.WAITING), detail.photos.map { it.upload }, "waiting")
            assertEq(phone.photoEvidence(vendor).map { it.flags }, detail.photos.map { it.flags }, "the evidence")
            assertEq(
                phone.caseThumbnails(vendor).map { it.jpeg.toList() },
                detail.photos.map { it.thumbnail?.toList() },
                "the thumbnails",
            )

            phone.sync(server.url, a.token)
            val after = phone.myOpenCases(officer.id, listOf("网格一组")).associateBy { it.id }
            val s = after.getValue(vendor).sync
            assertEq(listOf(true, false, 2, 2, 2), listOf(s.onServer, s.pending, s.photos, s.photosOnServer, s.thumbnailsOnServer), "vendor after: $s")
            assertEq(true, after.getValue(garbage).sync.onServer, "garbage on the server")
            assertEq(listOf(PhotoUpload.ON_SERVER, PhotoUpload.ON_SERVER), phone.caseDetail(vendor).photos.map { it.upload }, "uploaded")
            ws.sync(server.url, w.token)
            val filed = ws.zeroReport("XT-W01", ws.today()) ?: throw AssertionError("no zero report")
            assertEq(true, filed.sync.onServer && !filed.sync.pending, "the zero report reached the centre: ${filed.sync}")
            phone.close()
            ws.close()
        }
    }
}
