// The patrol list: the officer's open cases with their deadlines, most
// urgent first; overdue ones flagged; a search box.
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
import org.wangge.core.model.CaseStatus
import org.wangge.core.CaseSummary
import org.wangge.core.WanggeException

/** Which cases the list shows. */
enum class PatrolFilter {
    /** Cases I reported or my units hold, still open. */
    MINE,

    /** Every open case past a deadline, street-wide ("who is late"). */
    OVERDUE,
}

/** One line of the list, ready to show. */
data class PatrolRow(
    val caseId: String,
    /** The checklist item's title, e.g. 流动摊贩. */
    val title: String,
    val description: String,
    /** 待立案, 已派遣, … */
    val status: String,
    /** The grid cell's name, or 待定 when the centre has to choose. */
    val grid: String,
    /** `应处置 11-28 09:45 · 还剩 12 分钟`. */
    val deadline: String,
    val overdue: Boolean,
    /** Who must act now, e.g. 城管中队. */
    val holders: String,
    /** 已上报中心, 待同步（仅在本机）, 服务器拒收：… — read with the list, no call per row. */
    val sync: String = "",
    /** 照片 1/2 已上传, or `null` without photos taken here. */
    val photos: String? = null,
)

/** What the patrol list screen shows. */
data class PatrolListState(
    val filter: PatrolFilter = PatrolFilter.MINE,
    val search: String = "",
    val rows: List<PatrolRow> = emptyList(),
    val overdueCount: Int = 0,
    val loading: Boolean = false,
    val error: String? = null,
)

/** The patrol list's logic; the screen only renders [state] and forwards taps. */
class PatrolListViewModel(private val session: Session) {
    private val _state = MutableStateFlow(PatrolListState())
    val state: StateFlow<PatrolListState> = _state.asStateFlow()

    /**
     * Keeps the list current: reloads it when cases or their sync state
     * change (recorded here, received by a sync, acknowledged by the
     * server), until [scope] ends. No polling: the store tells of each
     * committed change, and changes that arrive during a reload are folded
     * into the next one.
     */
    fun watch(scope: CoroutineScope): Job = scope.launch {
        session.changes.filter { it.touchesCaseLists() }.conflate().collect { refresh() }
    }

    /** Shows another list and reloads it. */
    suspend fun show(filter: PatrolFilter) {
        _state.update { it.copy(filter = filter, search = "") }
        refresh()
    }

    /** Searches every case's description (empty text goes back to the list). */
    suspend fun search(text: String) {
        _state.update { it.copy(search = text.trim()) }
        refresh()
    }

    /** Reloads the list: one call to the store, whatever its length. */
    suspend fun refresh() {
        val current = _state.value
        _state.update { it.copy(loading = true, error = null) }
        try {
            val (cases, now) = session.call { store ->
                val list = when {
                    current.search.isNotEmpty() -> store.searchCases(current.search)
                    current.filter == PatrolFilter.MINE -> store.myOpenCases(session.me.id, session.units)
                    else -> store.overdueCases()
                }
                list to store.nowMs()
            }
            val rows = cases.map { row(it, now) }
            _state.update { it.copy(rows = rows, overdueCount = rows.count(PatrolRow::overdue), loading = false) }
        } catch (e: WanggeException) {
            _state.update { it.copy(loading = false, error = e.screenMessage()) }
        }
    }

    private fun row(c: CaseSummary, now: Long): PatrolRow {
        val catalog = session.catalog
        return PatrolRow(
            caseId = c.id,
            title = catalog.checklistItem(c.checklistItem)?.titleZh ?: c.checklistItem,
            description = c.description,
            status = statusLabel(c.status),
            grid = c.grid?.let { catalog.grid(it)?.name ?: it } ?: "待定",
            deadline = deadline(c, now),
            overdue = c.overdue,
            holders = c.holders.joinToString("、"),
            sync = SyncBadge.of(c.sync).label,
            photos = photoLabel(c.sync.photos, c.sync.photosOnServer),
        )
    }

    /**
     * The deadline that matters now: none once the matter is handled; the
     * response deadline when that is the one missed; else the resolution's.
     */
    private fun deadline(c: CaseSummary, now: Long): String {
        val due = c.resolutionDueMs
        return when {
            c.status == CaseStatus.HANDLED || c.status == CaseStatus.VERIFIED -> "已处置 · 待中心核查结案"
            !c.status.isOpen() -> statusLabel(c.status)
            due == null -> "无时限"
            c.overdue && now <= due -> "响应超时 · 应于 ${cstTime(c.responseDueMs ?: due)} 前响应"
            else -> "应处置 ${cstTime(due)} · ${remaining(due, now)}"
        }
    }
}
