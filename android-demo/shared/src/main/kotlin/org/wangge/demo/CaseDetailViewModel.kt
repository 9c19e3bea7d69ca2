// The case detail screen: what was reported, where, its deadlines and who
// holds it, the timeline, whether it reached the server (or was refused by
// it), and the actions the signed-in person may take.
package org.wangge.demo

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.launch
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.wangge.core.CaseEventKind
import org.wangge.core.CaseRecord
import org.wangge.core.model.CaseStatus
import org.wangge.core.model.Role
import org.wangge.core.WanggeException

/** What the person may do on this screen, by role and the case's status. */
enum class CaseAction(val label: String) {
    HANDLE_ON_SPOT("现场处置"),
    ARRIVE("到场"),
    FEEDBACK("处置反馈"),
    VERIFY("核查"),
    COMMENT("备注"),

    /** The server refused the case: send it again at the next sync (after the cause was fixed). */
    RETRY_SYNC("重新提交"),
}

/** One line of the timeline. */
data class TimelineRow(
    val time: String,
    val what: String,
    /** `officer-017（网格员）`. */
    val who: String,
    val note: String?,
    /** Set when a concurrent event came first and this one changed nothing. */
    val superseded: String?,
)

/** One photo of the case, with what a supervisor should check about it. */
data class PhotoRow(
    val sha256: String,
    /** The thumbnail's JPEG, or null until the next sync brings it. */
    val thumbnail: ByteArray?,
    /** When it was attached (report or event), `HH:mm`. */
    val attachedAt: String,
    /** `拍摄于上报前 72 小时` …; empty when nothing is suspicious. */
    val warnings: List<String>,
    /** 已上传, 缩略图已上传，原图待同步, 待上传, or 他人设备拍摄. */
    val upload: String = "",
) {
    override fun equals(other: Any?): Boolean = other is PhotoRow && other.sha256 == sha256 &&
        other.warnings == warnings && other.attachedAt == attachedAt && other.upload == upload &&
        (other.thumbnail?.contentEquals(thumbnail) ?: (thumbnail == null))

    override fun hashCode(): Int = sha256.hashCode()
}

/** What the case detail screen shows. */
data class CaseDetailState(
    val caseId: String? = null,
    val title: String = "",
    val description: String = "",
    val status: String = "",
    val caseNumber: String? = null,
    /** The grid's name, or the candidates when the centre has to choose. */
    val place: String = "",
    val responseDue: String = "",
    val resolutionDue: String = "",
    val overdue: Boolean = false,
    val holders: String = "",
    val timeline: List<TimelineRow> = emptyList(),
    /** The report's photos, then the events', each with its evidence warnings. */
    val photos: List<PhotoRow> = emptyList(),
    /** Where the case stands with the server; a refused case says why. `null` before loading. */
    val sync: SyncBadge? = null,
    /** 照片 1/2 已上传: the photos taken here that reached the server; `null` without any. */
    val photoSync: String? = null,
    val actions: List<CaseAction> = emptyList(),
    val error: String? = null,
)

/**
 * The case detail screen's logic. Each load is one call (`caseDetail`): the
 * case, its photos with their evidence and upload state, and its sync state.
 */
class CaseDetailViewModel(private val session: Session) {
    private val _state = MutableStateFlow(CaseDetailState())
    val state: StateFlow<CaseDetailState> = _state.asStateFlow()

    /** Loads a case. */
    suspend fun load(caseId: String) = act(caseId) {}

    /**
     * Reloads the case shown whenever it changes (a sync brought an event),
     * its sync state changes, or a thumbnail arrives, until [scope] ends.
     */
    fun watch(scope: CoroutineScope): Job = scope.launch {
        session.changes
            .filter { c -> _state.value.caseId.let { id -> id != null && (id in c.cases || c.allCases || c.syncState || c.photos) } }
            .conflate()
            .collect { _state.value.caseId?.let { load(it) } }
    }

    /** The grid team handled it on the spot (where the checklist allows). */
    suspend fun handleOnSpot(note: String) = add(CaseEventKind.HandledOnSpot(note))

    /** The handling unit is on site. */
    suspend fun arrive() = add(CaseEventKind.Arrived())

    /** The handling unit reports what it did. */
    suspend fun feedback(note: String) = add(CaseEventKind.Feedback(note))

    /** A supervisor's verdict. */
    suspend fun verify(passed: Boolean, note: String? = null) = add(CaseEventKind.Verified(passed, note))

    /** A remark on the case. */
    suspend fun comment(text: String) = add(CaseEventKind.Comment(text))

    /**
     * Sends the refused case to the server again at the next sync (once
     * the cause was fixed, e.g. the register gave the person the missing
     * role); the badge says so until that sync answers.
     */
    suspend fun retrySync() {
        val id = _state.value.caseId ?: return
        act(id) { store -> store.retryRefused(id) }
    }

    private suspend fun add(kind: CaseEventKind) {
        val id = _state.value.caseId ?: return
        act(id) { it.addEvent(id, session.me, kind) }
    }

    /** Runs [write] (if any), then reads the case with everything shown in one call. */
    private suspend fun act(caseId: String, write: (org.wangge.core.Store) -> Unit) {
        try {
            _state.value = session.call { store ->
                write(store)
                val detail = store.caseDetail(caseId)
                val photos = detail.photos.map { p ->
                    PhotoRow(
                        sha256 = p.photo.sha256,
                        thumbnail = p.thumbnail,
                        attachedAt = cstTime(p.attachedAtMs),
                        warnings = p.flags.map(::evidenceLabel),
                        upload = uploadLabel(p.upload),
                    )
                }
                render(detail.case, store.nowMs(), SyncBadge.of(detail.sync))
                    .copy(photos = photos, photoSync = photoLabel(detail.sync.photos, detail.sync.photosOnServer))
            }
        } catch (e: WanggeException) {
            _state.update { it.copy(caseId = it.caseId ?: caseId, error = e.screenMessage()) }
        }
    }

    private fun render(r: CaseRecord, now: Long, sync: SyncBadge): CaseDetailState {
        val catalog = session.catalog
        val item = catalog.checklistItem(r.state.checklistItem)
        val place = r.state.grid?.let { catalog.grid(it)?.name ?: it }
            ?: r.header.gridCandidates.takeIf { it.isNotEmpty() }
                ?.joinToString(" / ", prefix = "待中心确定：") { catalog.grid(it)?.name ?: it }
            ?: "待中心确定"
        return CaseDetailState(
            caseId = r.header.id,
            title = item?.titleZh ?: r.state.checklistItem,
            description = r.header.description,
            status = statusLabel(r.state.status),
            caseNumber = r.state.caseNumber,
            place = place,
            responseDue = deadlineLabel(r.state.responseDueMs, r.state.respondedAtMs, now),
            resolutionDue = deadlineLabel(r.state.resolutionDueMs, r.state.resolvedAtMs, now),
            overdue = r.state.overdue,
            holders = r.state.holders.joinToString("、"),
            timeline = r.events.map { e ->
                TimelineRow(
                    time = cstTime(e.atMs),
                    what = eventLabel(e.kind),
                    who = "${e.by.id}（${roleLabel(e.by.role)}）",
                    note = eventNote(e.kind),
                    superseded = e.superseded,
                )
            },
            sync = sync,
            actions = actions(r, item?.onSpot == true) +
                listOfNotNull(CaseAction.RETRY_SYNC.takeIf { sync is SyncBadge.Refused && !sync.retrying }),
        )
    }

    private fun actions(r: CaseRecord, onSpot: Boolean): List<CaseAction> {
        val status = r.state.status
        val out = mutableListOf<CaseAction>()
        when (session.me.role) {
            Role.GRID_OFFICER, Role.STREET_OFFICIAL, Role.WORKSTATION_STAFF ->
                if (onSpot && (status == CaseStatus.REPORTED || status == CaseStatus.REGISTERED)) {
                    out += CaseAction.HANDLE_ON_SPOT
                }
            Role.HANDLING_UNIT -> {
                if (status == CaseStatus.DISPATCHED) out += CaseAction.ARRIVE
                if (status == CaseStatus.DISPATCHED || status == CaseStatus.IN_PROGRESS) out += CaseAction.FEEDBACK
            }
            Role.SUPERVISOR, Role.CENTRE -> if (status == CaseStatus.HANDLED) out += CaseAction.VERIFY
        }
        out += CaseAction.COMMENT
        return out
    }
}
