// The sync status screen (and the status bar of the other screens): how
// many changes wait to be sent, the progress and result of the last sync,
// and for each case whether it has reached the server ("已上报中心").
package org.wangge.demo

import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.wangge.core.CaseQuery
import org.wangge.core.SyncListener
import org.wangge.core.SyncProgress
import org.wangge.core.WanggeException

/** Whether one case has reached the server, as a list shows it. */
data class CaseSyncMark(
    val caseId: String,
    /** The server holds the case: the centre can see it. */
    val onServer: Boolean,
    /** Changes made here have not been sent yet. */
    val pending: Boolean,
) {
    /** 已上报中心, 已上报，有更新待同步, or 待同步（仅在本机）. */
    val label: String = when {
        onServer && !pending -> "已上报中心"
        onServer -> "已上报，有更新待同步"
        else -> "待同步（仅在本机）"
    }
}

/** What the sync status screen shows. */
data class SyncStatusState(
    /** Documents (cases, zero reports) with changes not sent yet. */
    val pending: Long = 0,
    /** 全部已同步 or 3 项待同步. */
    val pendingText: String = "全部已同步",
    /** A sync is running. */
    val syncing: Boolean = false,
    /** The counters of the sync running or last run; `null` before the first. */
    val progress: SyncProgress? = null,
    /** The last successful sync, in words; `null` before the first. */
    val lastSync: String? = null,
    /** The mark of every case on this device, by case id. */
    val marks: Map<String, CaseSyncMark> = emptyMap(),
    val error: String? = null,
)

/**
 * The sync status logic: [refresh] reads the counts and marks; [syncNow]
 * runs one sync on the session's IO dispatcher, publishing its progress
 * as it goes. `serverUrl` and `token` come from the device's enrolment.
 */
class SyncStatusViewModel(
    private val session: Session,
    private val serverUrl: String,
    private val token: String,
) {
    private val _state = MutableStateFlow(SyncStatusState())
    val state: StateFlow<SyncStatusState> = _state.asStateFlow()

    /** Reads the pending count and every case's mark. */
    suspend fun refresh() {
        try {
            val (pending, marks) = readStatus()
            _state.update { it.copy(pending = pending, pendingText = pendingText(pending), marks = marks, error = null) }
        } catch (e: WanggeException) {
            _state.update { it.copy(error = e.screenMessage()) }
        }
    }

    /**
     * Syncs now; returns the final counters, or `null` if the sync failed
     * (the error is in the state, and nothing recorded here is lost: it
     * stays pending for the next sync).
     */
    suspend fun syncNow(): SyncProgress? {
        if (_state.value.syncing) return null
        _state.update { it.copy(syncing = true, error = null) }
        val listener = object : SyncListener {
            // Called on the syncing (IO) thread; a StateFlow may be updated from any thread.
            override fun onProgress(progress: SyncProgress) {
                _state.update { it.copy(progress = progress) }
            }
        }
        val result = try {
            session.call { store -> store.sync(serverUrl, token, listener) }
        } catch (e: WanggeException) {
            _state.update { it.copy(syncing = false, error = e.screenMessage()) }
            refreshQuietly()
            return null
        }
        val at = cstTime(session.call { it.nowMs() })
        _state.update {
            it.copy(syncing = false, progress = result, lastSync = "$at ${describe(result)}")
        }
        refreshQuietly()
        return result
    }

    private suspend fun refreshQuietly() {
        val error = _state.value.error
        refresh()
        if (error != null) _state.update { it.copy(error = error) }
    }

    private suspend fun readStatus(): Pair<Long, Map<String, CaseSyncMark>> = session.call { store ->
        val marks = store.cases(CaseQuery()).associate { c ->
            val s = store.caseSyncStatus(c.id)
            c.id to CaseSyncMark(c.id, s.onServer, s.pending)
        }
        store.pendingCount().toLong() to marks
    }

    private fun pendingText(pending: Long) = if (pending == 0L) "全部已同步" else "$pending 项待同步"

    companion object {
        /** A sync's counters in words: 发送 3 项，接收 2 项，照片上传 2 个、下载 1 个（12.3 KB）. */
        fun describe(p: SyncProgress): String {
            val kb = (p.bytesSent + p.bytesReceived + p.photoBytesSent + p.photoBytesReceived).toLong() / 1024.0
            return "发送 ${p.docsSent} 项，接收 ${p.docsReceived} 项，照片上传 ${p.photosSent} 个、下载 ${p.photosReceived} 个" +
                "（%.1f KB，%d 轮${if (p.retries > 0u) "，重试 ${p.retries} 次" else ""}）".format(kb, p.rounds.toInt())
        }
    }
}
