// The new report screen: pick the checklist item (category, then item),
// describe, take the photo, take the GPS fix, confirm the grid when the fix
// is not certain, submit. Works offline: the case is stored on the phone at once.
package org.wangge.demo

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.wangge.core.model.Category
import org.wangge.core.ChecklistItem
import org.wangge.core.model.GpsFix
import org.wangge.core.GridMatch
import org.wangge.core.GridPlace
import org.wangge.core.NewCase
import org.wangge.core.PhotoRef
import org.wangge.core.WanggeException

/** What the GPS fix says about the grid. */
sealed class GridChoice {
    /** No fix yet. */
    object Waiting : GridChoice()

    /** The fix's whole accuracy circle lies in one cell. */
    data class Certain(val place: GridPlace) : GridChoice()

    /**
     * The circle crosses a boundary: the officer picks one of the
     * candidates, or leaves [chosen] empty for the centre to decide.
     */
    data class Choose(val candidates: List<GridPlace>, val chosen: String? = null) : GridChoice()

    /** The fix is outside the street: the centre will place the case. */
    object Outside : GridChoice()
}

/** One item in the picker, with its rules spelled out. */
data class ItemChoice(
    val id: String,
    val title: String,
    /** `15分钟响应 · 45分钟办结`. */
    val limits: String,
    /** May be handled on the spot (现场处置). */
    val onSpot: Boolean,
    /** Goes to the district platform. */
    val escalates: Boolean,
)

/** What the new report screen shows. */
data class NewReportState(
    val categories: List<Category> = emptyList(),
    val category: Category? = null,
    val items: List<ItemChoice> = emptyList(),
    val item: ChecklistItem? = null,
    val description: String = "",
    /** The "before" photos, as stored on the phone (oriented, downscaled, stripped). */
    val photos: List<PhotoRef> = emptyList(),
    val fix: GpsFix? = null,
    /** Where locating stands: its [LocationStatus.line] is the accuracy line under the grid. */
    val location: LocationStatus = LocationStatus.Idle,
    val grid: GridChoice = GridChoice.Waiting,
    val submitting: Boolean = false,
    val error: String? = null,
    /** Set once the case is stored. */
    val recordedCaseId: String? = null,
) {
    /** The submit button is enabled. */
    val canSubmit: Boolean get() = item != null && description.isNotBlank() && !submitting && recordedCaseId == null
}

/** The new report screen's logic. */
class NewReportViewModel(private val session: Session) {
    private val _state = MutableStateFlow(NewReportState(categories = session.catalog.categories()))
    val state: StateFlow<NewReportState> = _state.asStateFlow()

    /** Opens a category of the checklist picker. */
    fun pickCategory(categoryId: String) {
        val category = _state.value.categories.firstOrNull { it.id == categoryId } ?: return
        val items = session.catalog.checklistItemsInCategory(categoryId).map {
            ItemChoice(
                id = it.id,
                title = it.titleZh,
                limits = "${limitLabel(it.responseLimit)}响应 · ${limitLabel(it.resolutionLimit)}办结",
                onSpot = it.onSpot,
                escalates = it.escalateToDistrict,
            )
        }
        _state.update { it.copy(category = category, items = items, item = null) }
    }

    /** Picks the checklist item. */
    fun pickItem(itemId: String) {
        _state.update { it.copy(item = session.catalog.checklistItem(itemId), error = null) }
    }

    /** The description as typed. */
    fun describe(text: String) {
        _state.update { it.copy(description = text) }
    }

    /**
     * A photo as the camera or gallery hands it over (JPEG, PNG or WebP
     * bytes): stored at once, off the main thread; a HEIC or damaged file
     * is refused with a message saying what to do.
     */
    suspend fun attachPhoto(bytes: ByteArray) {
        try {
            val photo = session.store.importPhoto(bytes)
            _state.update { s ->
                val photos = if (s.photos.any { it.sha256 == photo.sha256 }) s.photos else s.photos + photo
                s.copy(photos = photos, error = null)
            }
        } catch (e: WanggeException) {
            _state.update { it.copy(error = e.screenMessage()) }
        }
    }

    /** Takes a photo off the report before it is submitted. */
    fun removePhoto(sha256: String) {
        _state.update { s -> s.copy(photos = s.photos.filterNot { it.sha256 == sha256 }) }
    }

    private val tracker = LocationTracker()

    /**
     * Starts locating with what Android allows ([access]); returns the
     * providers the screen's LocationSource should ask (best first), empty
     * when there is no permission or location is off (the state says which).
     */
    fun startLocating(access: LocationAccess): List<LocationProvider> {
        val providers = tracker.start(access)
        _state.update { it.copy(location = tracker.status) }
        return providers
    }

    /**
     * A reading from a provider (or a last-known one) at [nowElapsedMs]
     * (`SystemClock.elapsedRealtime()`): kept and looked up when it is
     * fresher or more accurate than the fix so far. Returns whether the
     * screen should keep its providers running ([LocationTracker.listening]).
     */
    suspend fun offerReading(reading: LocationReading, nowElapsedMs: Long): Boolean {
        val better = tracker.offer(reading, nowElapsedMs)
        _state.update { it.copy(location = tracker.status) }
        if (better != null) locate(better.toGpsFix())
        return tracker.listening
    }

    /** A fix from the location provider: looks up the grid it is in. */
    suspend fun locate(fix: GpsFix) {
        try {
            val found = session.call { session.catalog.lookupGrid(fix) }
            val choice = when (found) {
                is GridMatch.Inside -> GridChoice.Certain(found.place)
                is GridMatch.Ambiguous -> GridChoice.Choose(found.candidates)
                is GridMatch.Outside -> GridChoice.Outside
            }
            _state.update { s ->
                // A better fix that still crosses the boundary keeps the officer's pick.
                val before = s.grid
                val kept = if (choice is GridChoice.Choose && before is GridChoice.Choose &&
                    choice.candidates.any { it.cell == before.chosen }
                ) {
                    choice.copy(chosen = before.chosen)
                } else {
                    choice
                }
                s.copy(fix = fix, grid = kept, error = null)
            }
        } catch (e: WanggeException) {
            _state.update { it.copy(fix = null, grid = GridChoice.Waiting, error = e.screenMessage()) }
        }
    }

    /** The officer picks a candidate cell (or `null`: let the centre decide). */
    fun chooseGrid(cell: String?) {
        _state.update { s ->
            val g = s.grid
            if (g is GridChoice.Choose && (cell == null || g.candidates.any { it.cell == cell })) {
                s.copy(grid = g.copy(chosen = cell))
            } else {
                s
            }
        }
    }

    /** Stores the case; returns its id, or null (with [NewReportState.error] set). */
    suspend fun submit(): String? {
        val s = _state.value
        val item = s.item
        if (item == null || !s.canSubmit) {
            _state.update { it.copy(error = "请选择任务清单事项并填写描述") }
            return null
        }
        _state.update { it.copy(submitting = true, error = null) }
        val chosen = (s.grid as? GridChoice.Choose)?.chosen
        val newCase = NewCase(
            checklistItem = item.id,
            description = s.description.trim(),
            gps = s.fix,
            grid = chosen,
            photos = s.photos,
        )
        return try {
            val id = session.call { it.recordCase(session.me, newCase) }
            _state.update { it.copy(submitting = false, recordedCaseId = id) }
            id
        } catch (e: WanggeException) {
            _state.update { it.copy(submitting = false, error = e.screenMessage()) }
            null
        }
    }
}
