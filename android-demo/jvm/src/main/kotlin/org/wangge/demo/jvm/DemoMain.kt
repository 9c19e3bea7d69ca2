// The field app's flow on a desktop JVM: the same view models the Android
// screens use, with the screens drawn as text. Run it with
//   bash android-demo/run-jvm.sh
// A grid officer patrols offline, reports three cases, handles one on the
// spot; the centre (here, on the same device) registers and dispatches; the
// city-management team arrives; time passes; a workstation files its zero
// report. With a server (run-jvm.sh starts one by default), the phone is
// enrolled to a person of the demo roster and signs in as them (the server's
// `enrolment`, then `setAuthor`): the officer's work is theirs, while the
// centre's, the team's and the workstation's belong on other devices (the
// phone refuses at once to write as anyone else, and says so); the phone
// then syncs, printing the progress and the sync status screen, and a second
// phone of the same block syncs and shows what it received.
//
// Arguments: [store folder] [--server URL --token T --device D
//            [--token2 T2 --device2 D2]] (the devices enrolled on the server).
package org.wangge.demo.jvm

import java.io.File
import kotlinx.coroutines.flow.distinctUntilChanged
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.wangge.core.Actor
import org.wangge.core.CaseEventKind
import org.wangge.core.Catalog
import org.wangge.core.model.GpsFix
import org.wangge.core.ManualClock
import org.wangge.core.model.Role
import org.wangge.core.SyncListener
import org.wangge.core.SyncProgress
import org.wangge.core.Store
import org.wangge.core.WanggeException
import org.wangge.core.generateDeviceId
import org.wangge.demo.CaseDetailState
import org.wangge.demo.CaseDetailViewModel
import org.wangge.demo.GridChoice
import org.wangge.demo.NewReportState
import org.wangge.demo.NewReportViewModel
import org.wangge.demo.PatrolListState
import org.wangge.demo.PatrolListViewModel
import org.wangge.demo.SyncStatusState
import org.wangge.demo.SyncStatusViewModel
import org.wangge.demo.Session
import org.wangge.demo.ZeroReportState
import org.wangge.demo.ZeroReportViewModel
import org.wangge.demo.cstTime
import org.wangge.demo.screenMessage

private const val MINUTE = 60_000L

/** Fixes a phone would report (WGS-84) at places of the demo street. */
private object Gps {
    /** In 日晖新城第1单元网格, ±5 m. */
    fun market(t: Long) = GpsFix(31.1991477, 121.4273255, 5.0, t)

    /** In 嘉善第2单元网格, ±4 m. */
    fun bins(t: Long) = GpsFix(31.1986841, 121.4358510, 4.0, t)

    /** Near the edge of two unit grids of 大木桥, ±20 m: ambiguous. */
    fun rooftop(t: Long) = GpsFix(31.1968364, 121.4256141, 20.0, t)
}

private fun screen(title: String, lines: List<String>) {
    val width = 64
    println()
    println("┌─ $title " + "─".repeat((width - title.length * 2 - 4).coerceAtLeast(4)))
    lines.forEach { println("│ $it") }
    println("└" + "─".repeat(width))
}

private fun show(s: PatrolListState, title: String) = screen(
    "$title（${s.rows.size}，超时 ${s.overdueCount}）",
    s.rows.ifEmpty { null }?.map { r ->
        (if (r.overdue) "⚠ " else "  ") + "${r.status}  ${r.title} · ${r.grid}\n│     ${r.description}\n│     ${r.deadline}" +
            (if (r.holders.isNotEmpty()) " → ${r.holders}" else "")
    } ?: listOf("（无案件）"),
)

private fun show(s: NewReportState) = screen(
    "新建上报",
    listOf(
        "事项：${s.category?.nameZh ?: "-"} › ${s.item?.titleZh ?: "-"}" +
            (s.items.firstOrNull { it.id == s.item?.id }?.let { "（${it.limits}${if (it.onSpot) "，可现场处置" else ""}）" } ?: ""),
        "描述：${s.description}",
        "定位：" + (s.fix?.let { "%.6f, %.6f ±%.0f m".format(it.lat, it.lon, it.accuracyM) } ?: "等待定位"),
        "网格：" + when (val g = s.grid) {
            is GridChoice.Waiting -> "等待定位"
            is GridChoice.Certain -> "${g.place.name}（${g.place.cell}）"
            is GridChoice.Choose -> "定位跨越网格边界，请选择：" +
                g.candidates.joinToString(" / ") { (if (it.cell == g.chosen) "●" else "○") + it.name } +
                (if (g.chosen == null) "（或交中心确定）" else "")
            is GridChoice.Outside -> "不在本街道范围内，交中心确定"
        },
        (if (s.recordedCaseId != null) "✓ 已保存在本机（离线），案件 ${s.recordedCaseId}" else "[提交]${if (s.canSubmit) "" else "（不可用）"}") +
            (s.error?.let { "  ✗ $it" } ?: ""),
    ),
)

private fun show(s: CaseDetailState) = screen(
    "案件详情 ${s.caseNumber ?: "（未立案）"}",
    listOf(
        "${s.title} · ${s.status}${if (s.overdue) " · ⚠ 超时" else ""}",
        "描述：${s.description}",
        "网格：${s.place}",
        "响应时限：${s.responseDue}",
        "办结时限：${s.resolutionDue}",
        "当前处理：${s.holders.ifEmpty { "-" }}",
        "同步：${s.sync?.label ?: "-"}",
        "时间线：",
    ) + s.timeline.map { e ->
        "  ${e.time}  ${e.what}  ${e.who}" + (e.note?.let { "：$it" } ?: "") + (e.superseded?.let { "（未生效：$it）" } ?: "")
    } + listOf("可进行：" + s.actions.joinToString(" ") { "[${it.label}]" }) + listOfNotNull(s.error?.let { "✗ $it" }),
)

private fun show(s: ZeroReportState) = screen(
    "零报告 · ${s.workstationName} · ${s.day}",
    listOf("状态：${s.summary}") +
        s.matters.map { "  ${it.time}  ${it.item ?: "其他"}：${it.description}（${it.by}）" } +
        listOf("全街道尚未上报的工作站：${s.workstationsPending} 个") + listOfNotNull(s.error?.let { "✗ $it" }),
)

private fun show(s: SyncStatusState, title: String) = screen(
    title,
    listOf("待同步：${s.pendingText}${if (s.syncing) "（同步中…）" else ""}") +
        listOfNotNull(s.lastSync?.let { "上次同步：$it" }) +
        s.marks.values.map { "  ${it.caseId.takeLast(8)}  ${it.label}" } +
        s.refused.map { "  ⚠ 服务器拒收 ${it.at}  ${it.title}：${it.reason}（${it.message}）[重新提交]" } +
        listOfNotNull(s.error?.let { "✗ $it" }),
)

/** The server the demo syncs with, and the devices enrolled on it. */
private class ServerArgs(val url: String, val token: String, val device: String, val token2: String?, val device2: String?)

private fun parseArgs(args: Array<String>): Pair<String, ServerArgs?> {
    val named = mutableMapOf<String, String>()
    var folder = "target/kotlin/demo"
    var i = 0
    while (i < args.size) {
        if (args[i].startsWith("--") && i + 1 < args.size) {
            named[args[i].removePrefix("--")] = args[i + 1]
            i += 2
        } else {
            folder = args[i++]
        }
    }
    val server = named["server"]?.let { url ->
        ServerArgs(
            url,
            named["token"] ?: error("--server needs --token"),
            named["device"] ?: error("--server needs --device"),
            named["token2"],
            named["device2"],
        )
    }
    return folder to server
}

fun main(args: Array<String>) = runBlocking {
    val (folder, server) = parseArgs(args)
    val dir = File(folder)
    dir.mkdirs()
    val path = File(dir, "officer-phone.sqlite3")
    listOf("", "-wal", "-shm").forEach { File(path.path + it).delete() }

    // The day starts at 09:00 China Standard Time; the clock moves when the story says so.
    val day = 86_400_000L
    val cst = 8 * 60 * MINUTE
    val clock = ManualClock(Math.floorDiv(System.currentTimeMillis() + cst, day) * day - cst + 9 * 60 * MINUTE)
    val device = server?.device ?: generateDeviceId()
    val store = Store.openWith(path.path, device, Catalog.demo(), clock)
    val officer = Actor("officer-017", Role.GRID_OFFICER, "网格一组")
    val centre = Actor("centre-desk", Role.CENTRE)
    val team = Actor("cg-31", Role.HANDLING_UNIT, "城管中队")
    val staff = Actor("ws-staff-4", Role.WORKSTATION_STAFF)
    println("Wangge field app on the JVM — store ${path.path}, device $device")
    // With a server, the phone signs in as the person it is enrolled to (asked once, in signal).
    val me = server?.let { Session.enrol(store, it.url, it.token) } ?: Session(store, officer)
    val who = me.person?.let { "${it.name}（${it.staffId}）" } ?: me.me.id
    println("${cstTime(clock.nowMs())} $who starts the patrol, no signal.")

    val patrol = PatrolListViewModel(me)
    patrol.refresh()
    show(patrol.state.value, "我的案件")

    // 1. A vendor at the market gate: certain fix.
    val r1 = NewReportViewModel(me)
    r1.pickCategory("A02")
    r1.pickItem("A02-001")
    r1.describe("菜场门口流动摊贩占道经营")
    r1.locate(Gps.market(clock.nowMs()))
    val vendor = r1.submit() ?: error("vendor case not recorded: ${r1.state.value.error}")
    show(r1.state.value)

    // 2. Exposed garbage, handled on the spot from the case's screen.
    clock.advanceMs(7 * MINUTE)
    val r2 = NewReportViewModel(me)
    r2.pickCategory("A01")
    r2.pickItem("A01-001")
    r2.describe("垃圾箱旁暴露垃圾")
    r2.locate(Gps.bins(clock.nowMs()))
    val garbage = r2.submit() ?: error("garbage case not recorded")
    val detail = CaseDetailViewModel(me)
    detail.load(garbage)
    clock.advanceMs(3 * MINUTE)
    detail.handleOnSpot("已通知保洁员当场清理")
    show(detail.state.value)

    // 3. Illegal construction on a rooftop: a weak fix across a boundary.
    clock.advanceMs(6 * MINUTE)
    val r3 = NewReportViewModel(me)
    r3.pickCategory("A03")
    r3.pickItem("A03-001")
    r3.describe("居民楼顶正在搭建违法建筑")
    r3.locate(Gps.rooftop(clock.nowMs()))
    show(r3.state.value)
    r3.chooseGrid((r3.state.value.grid as? GridChoice.Choose)?.candidates?.getOrNull(1)?.cell)
    val construction = r3.submit() ?: error("construction case not recorded")
    show(r3.state.value)

    clock.advanceMs(7 * MINUTE)
    if (server == null) {
        // The centre registers and dispatches (the back office's work; here on this device).
        println("\n${cstTime(clock.nowMs())} the centre registers and dispatches.")
        store.addEvent(vendor, centre, CaseEventKind.Registered("XT-0001"))
        store.addEvent(vendor, centre, CaseEventKind.Dispatched(listOf("城管中队")))
        store.addEvent(construction, centre, CaseEventKind.Registered("XT-0002"))
        store.addEvent(construction, centre, CaseEventKind.Dispatched(listOf("联合执法队")))
        store.addEvent(construction, centre, CaseEventKind.Escalated("违建提交区级平台"))

        clock.advanceMs(5 * MINUTE)
        val teamDetail = CaseDetailViewModel(Session(store, team))
        teamDetail.load(vendor)
        teamDetail.arrive()
        println("${cstTime(clock.nowMs())} 城管中队 arrives at the market.")
    } else {
        // An enrolled phone is its person's: the centre's work happens on the centre's desk.
        println("\n${cstTime(clock.nowMs())} the centre's work is not this phone's; writing it here is refused at once:")
        try {
            store.addEvent(vendor, centre, CaseEventKind.Registered("XT-0001"))
        } catch (e: WanggeException) {
            println("  ✗ ${e.screenMessage()}")
        }
        clock.advanceMs(5 * MINUTE)
    }

    clock.advanceMs(40 * MINUTE)
    patrol.refresh()
    show(patrol.state.value, "我的案件 ${cstTime(clock.nowMs())}")
    detail.load(construction)
    show(detail.state.value)

    clock.advanceMs(7 * 60 * MINUTE)
    if (server == null) {
        // The workstation's report, on this device too when it is nobody's.
        val ws = ZeroReportViewModel(Session(store, staff), "XT-W01")
        ws.fileNothingToReport()
        ws.recordMatter("调解私设地锁纠纷，业主已自行拆除", checklistItem = "A07-001")
        show(ws.state.value)
    }

    patrol.show(org.wangge.demo.PatrolFilter.OVERDUE)
    show(patrol.state.value, "全街道超时案件 ${cstTime(clock.nowMs())}")
    if (server == null) {
        store.close()
        println("\n(no server given: the cases above stay on the phone; run-jvm.sh without --offline syncs them.)")
        return@runBlocking
    }

    // Back in signal: the sync status screen, one sync with its progress, the screen again.
    println("\n${cstTime(clock.nowMs())} back in signal: sync with ${server.url}")
    val sync = SyncStatusViewModel(me, server.url, server.token)
    sync.refresh()
    show(sync.state.value, "同步状态（同步前）")
    val watcher = launchProgressPrinter(sync)
    val result = sync.syncNow()
    watcher.cancel()
    show(sync.state.value, "同步状态（同步后）")
    store.close()
    if (result == null || server.token2 == null || server.device2 == null) return@runBlocking

    // A second phone whose scope covers block XT-B1 syncs and sees what reached the server.
    val path2 = File(dir, "second-phone.sqlite3")
    listOf("", "-wal", "-shm").forEach { File(path2.path + it).delete() }
    val second = Store.openWith(path2.path, server.device2, Catalog.demo(), clock)
    val printer = object : SyncListener {
        override fun onProgress(progress: SyncProgress) = println("  second phone: ${SyncStatusViewModel.describe(progress)}")
    }
    println("\n${cstTime(clock.nowMs())} a second phone of block XT-B1 syncs:")
    second.sync(server.url, server.token2, printer)
    val received = second.cases(org.wangge.core.CaseQuery())
    screen(
        "第二台手持终端：收到的案件（${received.size}）",
        received.map { c ->
            val thumbs = second.caseThumbnails(c.id).size
            "${c.id.takeLast(8)}  ${c.description}（${c.grid ?: "待定网格"}）" + (if (thumbs > 0) " · 照片 $thumbs" else "")
        } + listOfNotNull(second.zeroReport("XT-W01", second.today())?.let { "零报告 XT-W01：${if (it.nothingToReport) "无事项" else "${it.matters.size} 件备案"}" }),
    )
    second.close()
}

/** Prints each progress report of the sync as it arrives (from the IO thread, via the state). */
private fun kotlinx.coroutines.CoroutineScope.launchProgressPrinter(sync: SyncStatusViewModel) =
    launch(kotlinx.coroutines.Dispatchers.Default) {
        sync.state.map { it.progress }.distinctUntilChanged().collect { p ->
            p?.let { println("  progress: ${SyncStatusViewModel.describe(it)}") }
        }
    }
