// How times, deadlines, statuses and events read on the screens (Chinese,
// China Standard Time), in one place so every screen says them alike.
package org.wangge.demo

import java.time.Instant
import java.time.ZoneOffset
import java.time.format.DateTimeFormatter
import org.wangge.core.CaseEventKind
import org.wangge.core.model.CaseStatus
import org.wangge.core.model.EvidenceFlag
import org.wangge.core.model.PhotoUpload
import org.wangge.core.RefusalCode
import org.wangge.core.model.Role
import org.wangge.core.TimeLimit
import org.wangge.core.TimeUnit

/** China Standard Time: UTC+8 all year. */
val CST: ZoneOffset = ZoneOffset.ofHours(8)
private val clockFormat = DateTimeFormatter.ofPattern("MM-dd HH:mm").withZone(CST)

/** `11-28 09:15`, in China Standard Time. */
fun cstTime(ms: Long): String = clockFormat.format(Instant.ofEpochMilli(ms))

/** How long until (or since) a deadline, e.g. `还剩 12 分钟` or `超时 1 小时 5 分钟`. */
fun remaining(dueMs: Long?, nowMs: Long): String {
    if (dueMs == null) return "无时限"
    val late = nowMs > dueMs
    val minutes = Math.abs(dueMs - nowMs) / 60_000
    val span = when {
        minutes < 60 -> "$minutes 分钟"
        minutes < 24 * 60 -> "${minutes / 60} 小时" + if (minutes % 60 > 0) " ${minutes % 60} 分钟" else ""
        else -> "${minutes / (24 * 60)} 天" + if ((minutes / 60) % 24 > 0) " ${(minutes / 60) % 24} 小时" else ""
    }
    return if (late) "超时 $span" else "还剩 $span"
}

/** The status as the officers call it. */
fun statusLabel(status: CaseStatus): String = when (status) {
    CaseStatus.REPORTED -> "待立案"
    CaseStatus.REGISTERED -> "已立案"
    CaseStatus.REJECTED -> "不予立案"
    CaseStatus.DISPATCHED -> "已派遣"
    CaseStatus.IN_PROGRESS -> "处置中"
    CaseStatus.HANDLED -> "已处置"
    CaseStatus.VERIFIED -> "已核查"
    CaseStatus.CLOSED -> "已结案"
    CaseStatus.MERGED -> "已合并"
}

/** False once nobody has to act any more (closed, rejected, or merged into another case). */
fun CaseStatus.isOpen(): Boolean =
    this != CaseStatus.CLOSED && this != CaseStatus.REJECTED && this != CaseStatus.MERGED

/** A deadline as the detail screen shows it: met (when), or due (how long left). */
fun deadlineLabel(dueMs: Long?, metAtMs: Long?, nowMs: Long): String = when {
    dueMs == null -> "无时限"
    metAtMs != null -> "${cstTime(dueMs)}（已于 ${cstTime(metAtMs)} ${if (metAtMs > dueMs) "超时完成" else "完成"}）"
    else -> "${cstTime(dueMs)}（${remaining(dueMs, nowMs)}）"
}

/** A timeline entry's name. */
fun eventLabel(kind: CaseEventKind): String = when (kind) {
    is CaseEventKind.Reported -> "上报"
    is CaseEventKind.Registered -> "立案 ${kind.caseNumber}"
    is CaseEventKind.Rejected -> "不予立案"
    is CaseEventKind.Dispatched -> dispatchLabel(kind)
    is CaseEventKind.Arrived -> "到场"
    is CaseEventKind.HandledOnSpot -> "现场处置"
    is CaseEventKind.Feedback -> "处置反馈"
    is CaseEventKind.Verified -> if (kind.passed) "核查通过" else "核查退回"
    is CaseEventKind.Closed -> "结案"
    is CaseEventKind.Reopened -> "重新开启"
    is CaseEventKind.Escalated -> "提交区级平台"
    is CaseEventKind.Released -> "解除协办 ${kind.unit}"
    is CaseEventKind.Withdrawn -> "撤回派遣 ${kind.units.joinToString("、")}"
    is CaseEventKind.HandedBack -> "退回"
    is CaseEventKind.MergedInto -> "合并至其他案件"
    is CaseEventKind.MergedFrom -> "并入重复案件"
    is CaseEventKind.Comment -> "备注"
}

/** `派遣 → 城管中队（牵头）、物业（协办）`; a dispatch without a lead names its units only. */
private fun dispatchLabel(kind: CaseEventKind.Dispatched): String {
    val lead = kind.lead ?: return "派遣 → ${kind.units.joinToString("、")}"
    return "派遣 → " + kind.units.joinToString("、") { if (it == lead) "$it（牵头）" else "$it（协办）" }
}

/** The free text an event carries, if any. */
fun eventNote(kind: CaseEventKind): String? = when (kind) {
    is CaseEventKind.Reported -> null
    is CaseEventKind.Registered -> null
    is CaseEventKind.Rejected -> kind.reason
    is CaseEventKind.Dispatched -> kind.note
    is CaseEventKind.Arrived -> kind.note
    is CaseEventKind.HandledOnSpot -> kind.note
    is CaseEventKind.Feedback -> kind.note
    is CaseEventKind.Verified -> kind.note
    is CaseEventKind.Closed -> kind.note
    is CaseEventKind.Reopened -> kind.reason
    is CaseEventKind.Escalated -> kind.reason
    is CaseEventKind.Released -> kind.reason
    is CaseEventKind.Withdrawn -> kind.reason
    is CaseEventKind.HandedBack -> kind.reason
    is CaseEventKind.MergedInto -> kind.note
    is CaseEventKind.MergedFrom -> null
    is CaseEventKind.Comment -> kind.text
}

/** `15分钟`, `2小时`, `7天`, `5个工作日`. */
fun limitLabel(limit: TimeLimit): String = when (limit.unit) {
    TimeUnit.MINUTES -> "${limit.count}分钟"
    TimeUnit.HOURS -> "${limit.count}小时"
    TimeUnit.CALENDAR_DAYS -> "${limit.count}天"
    TimeUnit.WORKING_DAYS -> "${limit.count}个工作日"
}

/** The role's name. */
fun roleLabel(role: Role): String = when (role) {
    Role.GRID_OFFICER -> "网格员"
    Role.STREET_OFFICIAL -> "街道公务人员"
    Role.WORKSTATION_STAFF -> "工作站"
    Role.CENTRE -> "管理中心"
    Role.HANDLING_UNIT -> "处置单位"
    Role.SUPERVISOR -> "督察"
}

/** Where a photo stands with the server, in words. */
fun uploadLabel(upload: PhotoUpload): String = when (upload) {
    PhotoUpload.ON_SERVER -> "已上传"
    PhotoUpload.THUMBNAIL_ON_SERVER -> "缩略图已上传，原图待同步"
    PhotoUpload.WAITING -> "待上传"
    PhotoUpload.OTHER_DEVICE -> "他人设备拍摄"
}

/** What a supervisor should check about a photo, in words. */
fun evidenceLabel(flag: EvidenceFlag): String = when (flag) {
    is EvidenceFlag.TakenLongBefore -> "拍摄于上报前 ${flag.hours} 小时"
    is EvidenceFlag.TakenAfterReport -> "拍摄时间晚于上报时间"
    is EvidenceFlag.FarFromReport -> "拍摄地点距上报位置 ${flag.metres} 米"
    is EvidenceFlag.NoCaptureTime -> "照片没有拍摄时间"
    is EvidenceFlag.NoPosition -> "照片没有拍摄位置"
}

/** The rule a refused document broke, in the officers' words. */
fun refusalLabel(code: RefusalCode): String = when (code) {
    RefusalCode.CORRUPT_DOCUMENT -> "记录数据损坏"
    RefusalCode.UNKNOWN_FIELD -> "记录含有服务器不认识的内容"
    RefusalCode.HEADER_CHANGED -> "案件的上报信息被改动"
    RefusalCode.EVENT_REMOVED -> "已上报的处理记录被删除"
    RefusalCode.EVENT_CHANGED -> "已上报的处理记录被改动"
    RefusalCode.WRONG_AUTHOR -> "操作人不是本机登记的人员或其岗位"
    RefusalCode.ROLE_NOT_ALLOWED -> "该岗位不能进行此操作"
    RefusalCode.NOT_DISPATCHED_TO_UNIT -> "案件未派遣给该单位"
    RefusalCode.NOT_ON_SPOT_ITEM -> "该事项不能现场处置"
    RefusalCode.CASE_NUMBER_FROM_DEVICE -> "立案须由中心在服务器上办理"
    RefusalCode.INVALID_REPORT -> "上报记录不完整"
    RefusalCode.INVALID_INPUT -> "内容不符合要求"
    RefusalCode.OUT_OF_SCOPE -> "不在本机的管辖范围内"
    RefusalCode.NO_PERSON -> "本机未登记到人员"
    RefusalCode.UNKNOWN -> "服务器拒收"
}
