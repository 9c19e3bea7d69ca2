// The zero report screen for residential workstation staff: file the day's
// report ("nothing to report" is the zero), record the matters handled
// locally, withdraw one recorded by mistake.
package org.wangge.demo

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.wangge.core.Store
import org.wangge.core.WanggeException
import org.wangge.core.ZeroReport
import org.wangge.core.ZeroReportEntry

/** A matter as the report lists it. */
data class MatterRow(val id: String, val time: String, val item: String?, val description: String, val by: String)

/** What the zero report screen shows. */
data class ZeroReportState(
    val workstation: String,
    val workstationName: String,
    /** `YYYY-MM-DD`, China Standard Time. */
    val day: String = "",
    val filed: Boolean = false,
    /** 今日无事项上报（零报告）, 已备案 2 件, or 尚未上报. */
    val summary: String = "尚未上报",
    val matters: List<MatterRow> = emptyList(),
    /** How many workstations of the street have not filed today. */
    val workstationsPending: Int = 0,
    val error: String? = null,
)

/** The zero report screen's logic, for one workstation. */
class ZeroReportViewModel(private val session: Session, workstation: String) {
    private val _state = MutableStateFlow(
        ZeroReportState(workstation, session.catalog.grid(workstation)?.name ?: workstation),
    )
    val state: StateFlow<ZeroReportState> = _state.asStateFlow()

    /** Loads today's report. */
    suspend fun load() = act { store, day -> store.zeroReport(_state.value.workstation, day) }

    /** Files "nothing to report" for today. */
    suspend fun fileNothingToReport(note: String? = null) =
        file(ZeroReportEntry.Filed(nothingToReport = true, note = note))

    /** Records a matter handled locally today (备案). */
    suspend fun recordMatter(description: String, checklistItem: String? = null) =
        file(ZeroReportEntry.MatterRecorded(checklistItem = checklistItem, description = description))

    /** Withdraws a matter recorded by mistake. */
    suspend fun withdraw(matterId: String, reason: String) =
        file(ZeroReportEntry.MatterWithdrawn(matterId, reason))

    private suspend fun file(entry: ZeroReportEntry) =
        act { store, day -> store.fileZeroReport(session.me, _state.value.workstation, day, entry) }

    private suspend fun act(call: (Store, String) -> ZeroReport?) {
        try {
            val (report, day, pending) = session.call { store ->
                val day = store.today()
                Triple(call(store, day), day, store.workstationsWithoutReport(day).size)
            }
            _state.update { render(it, report, day, pending) }
        } catch (e: WanggeException) {
            _state.update { it.copy(error = e.screenMessage()) }
        }
    }

    private fun render(s: ZeroReportState, r: ZeroReport?, day: String, pending: Int): ZeroReportState {
        val matters = r?.matters.orEmpty().map { m ->
            MatterRow(
                id = m.id,
                time = cstTime(m.recordedAtMs),
                item = m.checklistItem?.let { session.catalog.checklistItem(it)?.titleZh ?: it },
                description = m.description,
                by = m.recordedBy,
            )
        }
        val summary = when {
            r == null || !r.filed -> "尚未上报"
            r.nothingToReport -> "今日无事项上报（零报告）"
            else -> "已备案 ${matters.size} 件"
        }
        return s.copy(day = day, filed = r?.filed == true, summary = summary, matters = matters, workstationsPending = pending, error = null)
    }
}
