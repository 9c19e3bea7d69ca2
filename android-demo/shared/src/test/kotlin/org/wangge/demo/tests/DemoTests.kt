// The demo's view models, driven as the Android screens drive them, on the
// JVM against the real native library. Uses the bindings suite's harness
// and fixtures (bindings/kotlin-tests).
package org.wangge.demo.tests

import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.onEach
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.wangge.core.model.PhotoUpload
import org.wangge.demo.BackgroundSync
import org.wangge.demo.BackgroundSyncOutcome
import org.wangge.demo.BackgroundSyncSettings
import org.wangge.demo.EVERYTHING
import org.wangge.demo.EnrolmentViewModel
import org.wangge.demo.Network
import org.wangge.demo.SyncPlan
import org.wangge.demo.syncPlan
import org.wangge.demo.changes
import org.wangge.core.Actor
import org.wangge.core.CaseEventKind
import org.wangge.core.model.GpsFix
import org.wangge.core.NewCase
import org.wangge.core.RefusalCode
import org.wangge.demo.CaseAction
import org.wangge.demo.CaseDetailViewModel
import org.wangge.demo.GridChoice
import org.wangge.demo.NewReportViewModel
import org.wangge.demo.PatrolFilter
import org.wangge.demo.PatrolListViewModel
import org.wangge.demo.Session
import org.wangge.demo.SyncBadge
import org.wangge.demo.SyncStatusViewModel
import org.wangge.demo.ZeroReportViewModel
import org.wangge.demo.screenMessage
import org.wangge.tests.HOUR
import org.wangge.tests.MINUTE
import org.wangge.tests.Suite
import org.wangge.tests.SyncServer
import org.wangge.tests.freePort
import org.wangge.tests.TestStore
import org.wangge.tests.assertEq
import org.wangge.tests.assertThat
import org.wangge.tests.centre
import org.wangge.tests.cityTeam
import org.wangge.tests.fixNearW03Edge
import org.wangge.tests.fixW01U1
import org.wangge.tests.officer
import org.wangge.tests.officerPerson
import org.wangge.tests.smallJpeg
import org.wangge.tests.wsStaff

private fun TestStore.session(who: Actor = officer) = Session(store, who, io = Dispatchers.IO)

/**
 * Waits until the state satisfies [done]. The timeout only keeps a broken
 * build from hanging CI; nothing here is timed.
 */
private suspend fun <T> StateFlow<T>.await(what: String, done: (T) -> Boolean): T =
    withTimeoutOrNull(60_000) { first(done) } ?: throw AssertionError("never reached: $what; last state: $value")

fun demoTests() = Suite("android demo: view models").apply {
    test("new report: checklist picker, certain fix, submit; the patrol list shows it with its deadline") {
        val t = TestStore()
        runBlocking {
            val report = NewReportViewModel(t.session())
            assertEq(17, report.state.value.categories.size, "categories in the picker")
            assertEq(false, report.state.value.canSubmit, "nothing picked yet")
            report.pickCategory("A02")
            val vendors = report.state.value.items.first()
            assertEq("流动摊贩", vendors.title, "item title")
            assertEq("15分钟响应 · 45分钟办结", vendors.limits, "limits spelled out")
            report.pickItem(vendors.id)
            report.describe("菜场门口流动摊贩占道经营")
            report.locate(fixW01U1())
            val grid = report.state.value.grid
            assertThat(grid is GridChoice.Certain && grid.place.name == "日晖新城第1单元网格") { "grid: $grid" }
            val id = report.submit() ?: throw AssertionError("not recorded: ${report.state.value.error}")
            assertEq(id, report.state.value.recordedCaseId, "recorded")
            assertEq(false, report.state.value.canSubmit, "submitted once")

            val list = PatrolListViewModel(t.session())
            list.refresh()
            val row = list.state.value.rows.single()
            assertEq(id, row.caseId, "listed")
            assertEq("流动摊贩", row.title, "title")
            assertEq("待立案", row.status, "status")
            assertEq("日晖新城第1单元网格", row.grid, "grid")
            assertThat(row.deadline.endsWith("还剩 45 分钟")) { "deadline: ${row.deadline}" }
        }
    }

    test("new report: ambiguous fix offers candidates; a bad fix and a missing item are refused") {
        val t = TestStore()
        runBlocking {
            val report = NewReportViewModel(t.session())
            report.locate(GpsFix(123.0, 121.44, 5.0, 0))
            assertThat(report.state.value.error?.startsWith("定位无效") == true) { "error: ${report.state.value.error}" }
            assertEq(null, report.submit(), "no item, no case")
            assertEq("请选择任务清单事项并填写描述", report.state.value.error, "asks for the item")

            report.pickCategory("A03")
            report.pickItem("A03-001")
            report.describe("居民楼顶正在搭建违法建筑")
            report.locate(fixNearW03Edge(20.0))
            val grid = report.state.value.grid
            assertThat(grid is GridChoice.Choose && grid.candidates.map { it.cell } == listOf("XT-W03-U1", "XT-W03-U2")) {
                "candidates: $grid"
            }
            report.chooseGrid("XT-W99") // not a candidate: ignored
            assertEq(null, (report.state.value.grid as GridChoice.Choose).chosen, "only candidates")
            report.chooseGrid("XT-W03-U2")
            val id = report.submit() ?: throw AssertionError("not recorded: ${report.state.value.error}")
            assertEq("XT-W03-U2", t.store.getCase(id).header.grid?.cell, "the officer's choice")
        }
    }

    test("new report with a photo; the case detail shows it with what to check") {
        val t = TestStore()
        runBlocking {
            val report = NewReportViewModel(t.session())
            report.pickCategory("A02")
            report.pickItem("A02-001")
            report.describe("菜场门口流动摊贩")
            report.attachPhoto("ftypheic, not a photo".toByteArray())
            assertThat(report.state.value.error != null) { "a file that is no photo is refused" }
            assertEq(emptyList(), report.state.value.photos, "nothing attached")
            val jpeg = smallJpeg(seed = 5)
            report.attachPhoto(jpeg)
            report.attachPhoto(jpeg)
            assertEq(1, report.state.value.photos.size, "the same photo once")
            assertEq(null, report.state.value.error, "error cleared")
            report.locate(fixW01U1())
            val id = report.submit() ?: throw AssertionError("not recorded: ${report.state.value.error}")

            val detail = CaseDetailViewModel(t.session(centre))
            detail.load(id)
            val photos = detail.state.value.photos
            assertEq(report.state.value.photos.map { it.sha256 }, photos.map { it.sha256 }, "the report's photo")
            assertThat(photos[0].thumbnail?.isNotEmpty() == true) { "its thumbnail" }
            // This encoder writes no EXIF: nothing says when or where it was taken.
            assertEq(listOf("照片没有拍摄时间", "照片没有拍摄位置"), photos[0].warnings, "warnings")
            assertEq("待上传", photos[0].upload, "the photo waits for a sync")
            assertEq("照片 0/1 已上传，其余待同步", detail.state.value.photoSync, "the case's photos")
        }
    }

    test("case detail: timeline, on-the-spot handling, the handling unit's actions") {
        val t = TestStore()
        runBlocking {
            val report = NewReportViewModel(t.session())
            report.pickCategory("A01")
            report.pickItem("A01-001")
            report.describe("垃圾箱旁暴露垃圾")
            report.locate(fixW01U1())
            val garbage = report.submit() ?: throw AssertionError("not recorded")

            val detail = CaseDetailViewModel(t.session())
            detail.load(garbage)
            assertEq(listOf(CaseAction.HANDLE_ON_SPOT, CaseAction.COMMENT), detail.state.value.actions, "officer's actions")
            t.clock.advanceMs(10 * MINUTE)
            detail.handleOnSpot("已通知保洁员当场清理")
            val s = detail.state.value
            assertEq("已处置", s.status, "status")
            assertEq(listOf("上报", "现场处置"), s.timeline.map { it.what }, "timeline")
            assertEq("officer-017（网格员）", s.timeline[1].who, "who")
            assertEq("已通知保洁员当场清理", s.timeline[1].note, "note")
            assertEq(listOf(CaseAction.COMMENT), s.actions, "nothing more to do on the spot")
            detail.handleOnSpot("再处理一次")
            assertThat(detail.state.value.error?.startsWith("当前状态下不能这样操作") == true) { "error: ${detail.state.value.error}" }

            // A case dispatched to the city-management team, seen by the team.
            val vendor = t.store.recordCase(officer, org.wangge.core.NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
            t.store.addEvent(vendor, centre, CaseEventKind.Registered("XT-0101"))
            t.store.addEvent(vendor, centre, CaseEventKind.Dispatched(listOf("城管中队")))
            val team = CaseDetailViewModel(t.session(cityTeam))
            team.load(vendor)
            assertEq(listOf(CaseAction.ARRIVE, CaseAction.FEEDBACK, CaseAction.COMMENT), team.state.value.actions, "team's actions")
            assertEq("城管中队", team.state.value.holders, "holders")
            team.arrive()
            team.feedback("摊贩已劝离")
            assertEq("已处置", team.state.value.status, "handled by the team")
            assertEq("XT-0101", team.state.value.caseNumber, "case number")
        }
    }

    test("patrol list: overdue flagged after the deadline, the overdue filter, search") {
        val t = TestStore()
        runBlocking {
            val vendor = t.store.recordCase(officer, org.wangge.core.NewCase("A02-001", "菜场门口流动摊贩", gps = fixW01U1()))
            t.store.recordCase(officer, org.wangge.core.NewCase("A06-001", "餐饮油烟扰民", gps = fixW01U1()))
            val list = PatrolListViewModel(t.session())
            list.refresh()
            assertEq(2, list.state.value.rows.size, "two open")
            assertEq(0, list.state.value.overdueCount, "none overdue yet")
            assertEq(vendor, list.state.value.rows.first().caseId, "most urgent first")

            t.clock.advanceMs(HOUR)
            list.refresh()
            assertEq(1, list.state.value.overdueCount, "one overdue")
            val late = list.state.value.rows.first()
            assertThat(late.overdue && late.deadline.endsWith("超时 15 分钟")) { "late row: $late" }
            list.show(PatrolFilter.OVERDUE)
            assertEq(listOf(vendor), list.state.value.rows.map { it.caseId }, "overdue filter")
            list.search("油烟")
            assertEq(listOf("餐饮油烟扰民"), list.state.value.rows.map { it.description }, "search")
            list.search("  ")
            assertEq(listOf(vendor), list.state.value.rows.map { it.caseId }, "a blank search goes back to the list")
        }
    }

    test("live lists: the patrol list and the sync screen reload from the store's changes, without polling") {
        SyncServer().use { server ->
            val a = server.enroll("网格一组-手持03", blocks = listOf("XT-B1"))
            val b = server.enroll("网格一组-手持04", blocks = listOf("XT-B1"))
            val t = TestStore(deviceId = a.deviceId)
            val other = TestStore(deviceId = b.deviceId)
            runBlocking {
                val first = t.store.recordCase(officer, NewCase("A02-001", "菜场门口流动摊贩", gps = fixW01U1()))
                val list = PatrolListViewModel(t.session())
                val status = SyncStatusViewModel(t.session(), server.url, a.token)
                val watching = listOf(list.watch(this), status.watch(this))
                // The first load (the flow starts with "everything").
                list.state.await("the first load") { it.rows.size == 1 }
                assertEq("待同步（仅在本机）", list.state.value.rows.single().sync, "the row's badge")

                // A case recorded elsewhere in the app: the list shows it by itself.
                val second = t.store.recordCase(officer, NewCase("A01-001", "垃圾箱旁暴露垃圾", gps = fixW01U1()))
                list.state.await("the new case listed") { s -> s.rows.map { it.caseId }.toSet() == setOf(first, second) }

                // A sync: the badges follow, in the list and on the sync screen.
                t.store.sync(server.url, a.token)
                list.state.await("the badges after the sync") { s -> s.rows.all { it.sync == "已上报中心" } }
                status.state.await("the sync screen after the sync") { s ->
                    s.pending == 0L && s.marks.size == 2 && s.marks.values.all { it.label == "已上报中心" }
                }

                // A case received by another phone's sync: its list grows by itself.
                val theirs = PatrolListViewModel(Session(other.store, officer, io = Dispatchers.IO))
                val job = theirs.watch(this)
                theirs.state.await("the other phone's first load") { !it.loading && it.error == null }
                other.store.sync(server.url, b.token)
                theirs.state.await("the received cases listed") { s -> s.rows.map { it.caseId }.toSet() == setOf(first, second) }
                (watching + job).forEach { it.cancel() }
            }
            t.store.close()
            other.store.close()
        }
    }

    test("Store.changes(): a callbackFlow that starts with everything, then one element per committed change") {
        val t = TestStore()
        runBlocking {
            val registered = CompletableDeferred<Unit>()
            val seen = async(Dispatchers.IO) {
                t.store.changes().onEach { if (it == EVERYTHING) registered.complete(Unit) }.take(3).toList()
            }
            registered.await()
            val id = t.store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
            t.store.addEvent(id, officer, CaseEventKind.Comment("摊贩已离开"))
            val got = withTimeoutOrNull(60_000) { seen.await() }
                ?: throw AssertionError("the flow did not deliver three elements").also { seen.cancel() }
            assertEq(EVERYTHING, got[0], "first: everything")
            assertEq(listOf(listOf(id), listOf(id)), got.drop(1).map { it.cases }, "then one per write")
        }
        t.store.close()
    }

    test("enrolment screen: a scanned code pairs and signs in its person; the paired sync screen shows a refusal and its retry") {
        SyncServer().use { server ->
            val t = TestStore()
            runBlocking {
                val screen = EnrolmentViewModel(t.store, "网格一组-手持21")
                screen.load()
                assertThat(screen.state.value.pairing.contains("尚未配对")) { "line: ${screen.state.value.pairing}" }
                assertEq(null, screen.session, "nobody signed in")
                screen.scanned("https://example.org/not-a-code")
                assertThat(screen.state.value.error?.startsWith("这不是管理中心的配对二维码") == true) { "error: ${screen.state.value.error}" }
                assertEq(false, screen.state.value.canPair, "nothing to pair with")

                val (code, qr) = server.pair(officer.id)
                screen.scanned(qr)
                assertEq(server.url, screen.state.value.serverUrl, "the server from the QR code")
                assertEq(true, screen.state.value.canPair, "ready")
                val me = screen.pair() ?: throw AssertionError("not paired: ${screen.state.value.error}")
                assertEq(officer, me.me, "signed in as the code's person")
                assertEq("已配对：王建国（${officer.id}）", screen.state.value.pairing, "line")
                assertEq("", screen.state.value.code, "the code is used up and cleared")

                // The same code on another phone: refused, with what to do.
                val other = EnrolmentViewModel(TestStore().store)
                other.typeServer(server.url)
                other.typeCode(code)
                assertEq(null, other.pair(), "a used code")
                assertThat(other.state.value.error?.startsWith("配对码无效") == true) { "error: ${other.state.value.error}" }

                // The sync screen of the paired phone, with a document the server refuses.
                val id = t.store.recordCase(me.me, NewCase("A02-001", "菜场门口流动摊贩", gps = fixW01U1()))
                server.importRoster(listOf(officerPerson.copy(roles = listOf("street_official"))))
                val sync = SyncStatusViewModel.paired(me)
                assertEq(1L, sync.syncNow()?.docsRefused, "refused")
                assertEq(listOf(id), sync.state.value.refused.map { it.docId }, "listed with its reason")
                assertEq("操作人不是本机登记的人员或其岗位", sync.state.value.refused.single().reason, "reason")
                server.importRoster(listOf(officerPerson))
                assertEq(true, sync.retry(id), "retried")
                assertEq(1L, sync.syncNow()?.docsSent, "sent")
                assertEq(emptyList(), sync.state.value.refused, "nothing refused")

                // Revoked by the back office: the screen says so, and nobody is signed in.
                server.revoke(t.deviceId)
                assertEq(null, sync.syncNow(), "the sync fails")
                screen.load()
                assertThat(screen.state.value.pairing.startsWith("本机已被管理中心停用")) { "line: ${screen.state.value.pairing}" }
                assertEq(null, screen.session, "a revoked phone signs nobody in")
            }
            t.store.close()
        }
    }

    test("background sync: nothing without a network, documents and thumbnails on mobile data, full photos on Wi-Fi; revoked stops, offline retries") {
        assertEq(SyncPlan(run = false, fullPhotos = false), syncPlan(Network.NONE, BackgroundSyncSettings()), "no network")
        assertEq(SyncPlan(run = true, fullPhotos = false), syncPlan(Network.METERED, BackgroundSyncSettings()), "mobile data")
        assertEq(SyncPlan(run = true, fullPhotos = true), syncPlan(Network.METERED, BackgroundSyncSettings(fullPhotosOnMetered = true)), "chosen")
        assertEq(SyncPlan(run = true, fullPhotos = true), syncPlan(Network.UNMETERED, BackgroundSyncSettings()), "Wi-Fi")
        SyncServer().use { server ->
            val t = TestStore()
            runBlocking {
                val me = Session.pair(t.store, server.url, server.pair(officer.id).first, io = Dispatchers.IO)
                val photo = t.store.importPhoto(smallJpeg(seed = 51))
                val id = t.store.recordCase(me.me, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(photo)))
                val upload = { t.store.caseDetail(id).photos.single().upload }
                val worker = BackgroundSync(me)

                assertEq(BackgroundSyncOutcome.Skipped, worker.run(Network.NONE), "no network")
                assertEq(1L, t.store.pendingCount(), "nothing sent")

                val metered = worker.run(Network.METERED) as? BackgroundSyncOutcome.Done
                    ?: throw AssertionError("mobile data: not done")
                assertEq(1L, metered.progress.docsSent, "the case went")
                assertEq(true, metered.photosWaiting, "the full photo waits")
                assertEq(PhotoUpload.THUMBNAIL_ON_SERVER, upload(), "its thumbnail went")
                assertEq(true, t.store.syncConfig().fullPhotos, "the app's setting is back")

                val wifi = worker.run(Network.UNMETERED) as? BackgroundSyncOutcome.Done
                    ?: throw AssertionError("Wi-Fi: not done")
                assertEq(false, wifi.photosWaiting, "nothing waits")
                assertEq(PhotoUpload.ON_SERVER, upload(), "the full photo went")

                val chosen = BackgroundSync(me, BackgroundSyncSettings(fullPhotosOnMetered = true))
                val second = t.store.importPhoto(smallJpeg(seed = 52))
                val other = t.store.recordCase(me.me, NewCase("A02-001", "流动摊贩", gps = fixW01U1(), photos = listOf(second)))
                val done = chosen.run(Network.METERED) as? BackgroundSyncOutcome.Done ?: throw AssertionError("not done")
                assertEq(false, done.photosWaiting, "sent whole on mobile data, as chosen")
                assertEq(PhotoUpload.ON_SERVER, t.store.caseDetail(other).photos.single().upload, "uploaded")

                server.revoke(t.deviceId)
                val stopped = worker.run(Network.UNMETERED)
                assertThat(stopped is BackgroundSyncOutcome.Stop) { "revoked: $stopped" }
            }
            t.store.close()
        }
        val gone = SyncServer()
        val t = TestStore()
        runBlocking {
            val me = Session.pair(t.store, gone.url, gone.pair(officer.id).first, io = Dispatchers.IO)
            t.store.recordCase(me.me, NewCase("A01-001", "暴露垃圾", gps = fixW01U1()))
            gone.close()
            val outcome = BackgroundSync(me).run(Network.METERED)
            assertThat(outcome is BackgroundSyncOutcome.Retry) { "server gone: $outcome" }
            assertEq(1L, t.store.pendingCount(), "nothing lost")
        }
        t.store.close()
    }

    test("sync screen: a sync cancelled from the screen ends at once, says so, and loses nothing") {
        val t = TestStore()
        runBlocking {
            t.store.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
            // A closed port: the library retries with backoff; the cancellation cuts the wait short.
            val screen = SyncStatusViewModel(t.session(), "http://127.0.0.1:${freePort()}", "wgt_" + "0".repeat(64))
            val job = screen.startSync(this)
            screen.state.await("the sync under way") { it.syncing }
            screen.cancelSync()
            job.join()
            assertEq(true, job.isCancelled, "cancelled")
            val s = screen.state.value
            assertEq(false, s.syncing, "not syncing any more")
            assertEq("同步已取消：已完成的部分已保存，其余下次同步", s.lastSync, "says so")
            assertEq(null, s.error, "no error")
            assertEq(1L, s.pending, "nothing lost")
        }
        t.store.close()
    }

    test("zero report: the zero, a matter, a withdrawal, and who is still to file") {
        val t = TestStore()
        runBlocking {
            val screen = ZeroReportViewModel(t.session(wsStaff), "XT-W01")
            screen.load()
            assertEq("日晖新城居民区工作站", screen.state.value.workstationName, "name")
            assertEq("尚未上报", screen.state.value.summary, "not filed")
            assertEq(18, screen.state.value.workstationsPending, "pending")
            screen.fileNothingToReport()
            assertEq("今日无事项上报（零报告）", screen.state.value.summary, "the zero")
            assertEq(17, screen.state.value.workstationsPending, "pending after filing")
            screen.recordMatter("调解私设地锁纠纷，业主已自行拆除", checklistItem = "A07-001")
            assertEq("已备案 1 件", screen.state.value.summary, "a matter")
            assertEq("私设地锁", screen.state.value.matters.single().item, "item title")
            screen.withdraw(screen.state.value.matters.single().id, "误报")
            assertEq("今日无事项上报（零报告）", screen.state.value.summary, "back to zero")

            val officerScreen = ZeroReportViewModel(t.session(officer), "XT-W01")
            officerScreen.fileNothingToReport()
            assertThat(officerScreen.state.value.error?.startsWith("您的角色不能进行此操作") == true) {
                "error: ${officerScreen.state.value.error}"
            }
        }
    }

    test("sync status: pending count, progress of the last sync, the per-case on-server mark") {
        SyncServer().use { server ->
            val a = server.enroll("网格一组-手持01", blocks = listOf("XT-B1"))
            val t = TestStore(deviceId = a.deviceId)
            runBlocking {
                val id = t.store.recordCase(officer, NewCase("A02-001", "菜场门口流动摊贩占道经营", gps = fixW01U1()))
                t.store.recordCase(officer, NewCase("A01-001", "垃圾箱旁暴露垃圾", gps = fixW01U1()))

                // Offline first: a closed port. Nothing is lost, the error reads well.
                val offline = SyncStatusViewModel(t.session(), "http://127.0.0.1:${freePort()}", a.token)
                offline.refresh()
                assertEq(2L, offline.state.value.pending, "pending")
                assertEq("2 项待同步", offline.state.value.pendingText, "pending text")
                assertEq("待同步（仅在本机）", offline.state.value.marks.getValue(id).label, "mark before")
                assertEq(null, offline.syncNow(), "the offline sync fails")
                assertThat(offline.state.value.error?.startsWith("暂时无法连接服务器，记录已保存在本机") == true) {
                    "error: ${offline.state.value.error}"
                }
                assertEq(2L, offline.state.value.pending, "still pending")
                assertEq(false, offline.state.value.syncing, "not syncing any more")

                val screen = SyncStatusViewModel(t.session(), server.url, a.token)
                val result = screen.syncNow() ?: throw AssertionError("sync failed: ${screen.state.value.error}")
                assertEq(2L, result.docsSent, "docs sent")
                assertEq(result, screen.state.value.progress, "last progress shown")
                assertEq(0L, screen.state.value.pending, "nothing pending")
                assertEq("全部已同步", screen.state.value.pendingText, "pending text after")
                assertEq(setOf("已上报中心"), screen.state.value.marks.values.map { it.label }.toSet(), "marks after")
                val last = screen.state.value.lastSync ?: ""
                assertThat(last.contains("发送 2 项") && last.contains("接收 0 项")) { "last sync: $last" }
                assertEq(null, screen.state.value.error, "no error")

                t.store.addEvent(id, officer, CaseEventKind.Comment("摊贩已离开"))
                screen.refresh()
                assertEq("已上报，有更新待同步", screen.state.value.marks.getValue(id).label, "a change after the sync")
                assertEq(1L, screen.state.value.pending, "one pending")
            }
            t.store.close()
        }
    }

    test("paired session: a code signs in its person, a revocation shows, pairing again resumes") {
        SyncServer().use { server ->
            val t = TestStore()
            runBlocking {
                assertEq(null, Session.resume(t.store, io = Dispatchers.IO), "not paired yet")
                assertThat(Session.pairingLine(t.store, Dispatchers.IO).contains("尚未配对")) { "line" }
                val (code, _) = server.pair(officer.id)
                val me = Session.pair(t.store, server.url, code, "网格一组-手持05", io = Dispatchers.IO)
                assertEq(officer, me.me, "acts as the code's person")
                assertEq("已配对：王建国（${officer.id}）", Session.pairingLine(t.store, Dispatchers.IO), "line")
                val reused = runCatching { Session.pair(TestStore().store, server.url, code, io = Dispatchers.IO) }
                assertThat(reused.exceptionOrNull()?.screenMessage()?.startsWith("配对码无效") == true) {
                    "reused: ${reused.exceptionOrNull()}"
                }

                t.store.recordCase(me.me, NewCase("A02-001", "流动摊贩", gps = fixW01U1()))
                t.store.syncPaired()
                server.revoke(t.deviceId)
                val failed = runCatching { t.store.syncPaired() }.exceptionOrNull()
                assertThat(failed?.screenMessage()?.contains("重新登记") == true) { "sync: $failed" }
                assertThat(Session.pairingLine(t.store, Dispatchers.IO).startsWith("本机已被管理中心停用")) { "revoked line" }
                assertEq(null, Session.resume(t.store, io = Dispatchers.IO), "a revoked phone does not resume")

                Session.pair(t.store, server.url, server.pair(officer.id).first, io = Dispatchers.IO)
                assertThat(Session.pairingLine(t.store, Dispatchers.IO).startsWith("已重新配对")) { "re-paired line" }
                assertEq(officer, Session.resume(t.store, io = Dispatchers.IO)?.me, "resumes offline")
                t.store.syncPaired()
                t.store.close()
            }
        }
    }

    test("enrolled session; a case the server refuses shows as refused with its reason, and goes once retried") {
        SyncServer().use { server ->
            val a = server.enroll("网格一组-手持02", blocks = listOf("XT-B1"))
            val t = TestStore(deviceId = a.deviceId)
            runBlocking {
                // The session is the enrolled person's, and the store refuses anyone else at once.
                val me = Session.enrol(t.store, server.url, a.token, io = Dispatchers.IO)
                assertEq(officer, me.me, "acts as the enrolled person")
                assertEq("王建国", me.person?.name, "the person's name")
                assertEq(listOf("网格一组"), me.units, "units")
                val id = t.store.recordCase(me.me, NewCase("A02-001", "菜场门口流动摊贩占道经营", gps = fixW01U1()))
                val stranger = CaseDetailViewModel(t.session(cityTeam))
                stranger.load(id)
                stranger.comment("不是本机人员")
                assertThat(stranger.state.value.error?.startsWith("不能以此身份操作") == true) {
                    "error: ${stranger.state.value.error}"
                }

                // The register takes the grid_officer role away before the phone syncs.
                server.importRoster(listOf(officerPerson.copy(roles = listOf("street_official"))))
                val screen = SyncStatusViewModel(me, server.url, a.token)
                val result = screen.syncNow() ?: throw AssertionError("sync failed: ${screen.state.value.error}")
                assertEq(1L, result.docsRefused, "refused: $result")
                assertEq(0L, screen.state.value.pending, "nothing pending")
                val mark = screen.state.value.marks.getValue(id)
                val badge = mark.badge
                assertThat(badge is SyncBadge.Refused && badge.code == RefusalCode.WRONG_AUTHOR && !badge.retrying) {
                    "badge: $badge"
                }
                assertThat((badge as SyncBadge.Refused).message.contains("role or unit")) { "the server's reason: $badge" }
                assertEq("服务器拒收：操作人不是本机登记的人员或其岗位", mark.label, "label")
                val row = screen.state.value.refused.single()
                assertEq(id, row.docId, "the refused list")
                assertEq("流动摊贩：菜场门口流动摊贩占道经营", row.title, "title")
                assertEq(badge.message, row.message, "message")
                val last = screen.state.value.lastSync ?: ""
                assertThat(last.contains("服务器拒收 1 项")) { "last sync: $last" }

                // The case detail shows it, still readable, with a retry.
                val detail = CaseDetailViewModel(me)
                detail.load(id)
                assertEq(badge, detail.state.value.sync, "detail badge")
                assertEq("菜场门口流动摊贩占道经营", detail.state.value.description, "still readable")
                assertEq(CaseAction.RETRY_SYNC, detail.state.value.actions.last(), "retry offered")

                // Retried before the register is fixed: refused again.
                assertEq(true, screen.retry(id), "retry queued")
                assertEq(1L, screen.state.value.pending, "pending again")
                assertEq("服务器拒收：操作人不是本机登记的人员或其岗位（已重新提交，待同步）", screen.state.value.marks.getValue(id).label, "retrying")
                assertEq(1L, screen.syncNow()?.docsRefused, "refused again")

                // The register gives the role back; retried from the case detail, it goes.
                server.importRoster(listOf(officerPerson))
                detail.retrySync()
                val retrying = detail.state.value.sync
                assertThat(retrying is SyncBadge.Refused && retrying.retrying) { "retrying: $retrying" }
                assertThat(CaseAction.RETRY_SYNC !in detail.state.value.actions) { "no second retry: ${detail.state.value.actions}" }
                val sent = screen.syncNow() ?: throw AssertionError("sync failed: ${screen.state.value.error}")
                assertEq(1L, sent.docsSent, "sent: $sent")
                assertEq(0L, sent.docsRefused, "accepted")
                assertEq("已上报中心", screen.state.value.marks.getValue(id).label, "on the server")
                assertEq(emptyList(), screen.state.value.refused, "nothing refused")
                detail.load(id)
                assertEq(SyncBadge.OnServer, detail.state.value.sync, "detail after")
                assertEq(false, screen.retry(id), "nothing to retry")
            }
            t.store.close()
        }
    }
}
