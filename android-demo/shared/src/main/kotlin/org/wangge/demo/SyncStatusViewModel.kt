// The sync status screen (and the status bar of the other screens): how
// many changes wait to be sent, the progress and result of the last sync,
// for each case whether it has reached the server ("已上报中心") or was
// refused by it ("服务器拒收"), and the refused documents with a retry.
package org.wangge.demo

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.filter
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import org.wangge.core.CaseQuery
import org.wangge.core.CaseSummary
import org.wangge.core.SyncState
import org.wangge.core.DocRefusal
import org.wangge.core.RefusalCode
import org.wangge.core.SyncListener
import org.wangge.core.SyncProgress
import org.wangge.core.WanggeException

/** Where one case stands with the server, as its badge shows it. */
sealed class SyncBadge {
    /** What the badge says. */
    abstract val label: String

    /** Only on this phone: the server has not acknowledged it yet. */
    data object LocalOnly : SyncBadge() {
        override val label = "待同步（仅在本机）"
    }

    /** The server holds it as it is here: the centre can see it. */
    data object OnServer : SyncBadge() {
        override val label = "已上报中心"
    }

    /** The server holds it; changes made here wait for the next sync. */
    data object UpdatePending : SyncBadge() {
        override val label = "已上报，有更新待同步"
    }

    /**
     * The server refused the case's last push under its authority rules. It
     * stays on the phone, readable; it goes again once the cause is fixed
     * and the officer retries ([retrying] once they have, until the next
     * sync answers).
     */
    data class Refused(
        val code: RefusalCode,
        /** The server's explanation, as it sent it. */
        val message: String,
        /** A retry is queued for the next sync. */
        val retrying: Boolean = false,
    ) : SyncBadge() {
        /** 服务器拒收：操作人不是本机登记的人员或其岗位 (…（已重新提交，待同步）). */
        override val label = "服务器拒收：${refusalLabel(code)}" + if (retrying) "（已重新提交，待同步）" else ""
    }

    companion object {
        /** The badge of a case's sync status. */
        fun of(status: SyncState): SyncBadge = of(status.onServer, status.pending, status.refusal)

        /** The badge of a case on the server or not, pending or not, refused or not. */
        fun of(onServer: Boolean, pending: Boolean, refusal: DocRefusal?): SyncBadge = when {
            refusal != null -> Refused(refusal.code, refusal.message, retrying = pending)
            onServer && !pending -> OnServer
            onServer -> UpdatePending
            else -> LocalOnly
        }
    }
}

/** Whether one case has reached the server, as a list shows it. */
data class CaseSyncMark(
    val caseId: String,
    /** The server holds the case: the centre can see it. */
    val onServer: Boolean,
    /** Changes made here have not been sent yet. */
    val pending: Boolean,
    /** Why the server refused the case; `null` unless it did. */
    val refusal: DocRefusal? = null,
    /** Photos of the case taken on this phone. */
    val photos: Int = 0,
    /** Of those, the ones the server holds. */
    val photosOnServer: Int = 0,
) {
    /** The case's state with the server. */
    val badge: SyncBadge = SyncBadge.of(onServer, pending, refusal)

    /** 已上报中心, 已上报，有更新待同步, 待同步（仅在本机）, or 服务器拒收：…. */
    val label: String = badge.label

    /** 照片 1/2 已上传, or `null` for a case without photos taken here. */
    val photoLine: String? = photoLabel(photos, photosOnServer)

    companion object {
        /** The mark of a case as a list row carries it ([CaseSummary.sync]). */
        fun of(caseId: String, s: SyncState) =
            CaseSyncMark(caseId, s.onServer, s.pending, s.refusal, s.photos, s.photosOnServer)
    }
}

/** 照片 1/2 已上传 (photos taken here that reached the server), or `null` without any. */
fun photoLabel(photos: Int, onServer: Int): String? = when {
    photos == 0 -> null
    onServer == photos -> "照片 $photos/$photos 已上传"
    else -> "照片 $onServer/$photos 已上传，其余待同步"
}

/** A document the server refused, in the "needs attention" list. */
data class RefusedRow(
    val docId: String,
    /** The case's checklist item and description, or 零报告. */
    val title: String,
    val code: RefusalCode,
    /** The rule broken, in words: 操作人不是本机登记的人员或其岗位. */
    val reason: String,
    /** The server's explanation. */
    val message: String,
    /** When the refusal arrived, `MM-dd HH:mm`. */
    val at: String,
)

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
    /** The documents the server refused, most recent first: each can be retried. */
    val refused: List<RefusedRow> = emptyList(),
    val error: String? = null,
) {
    /** 正在同步：发送 3 项… while a sync runs (正在连接服务器… before its first counters); else `null`. */
    val progressLine: String?
        get() = if (!syncing) null else "正在同步：" + (progress?.let(SyncStatusViewModel::describe) ?: "正在连接服务器…")
}

/**
 * The sync status logic: [refresh] reads the counts and marks (the marks
 * come with the case list, in one call); [syncNow] runs one sync (a suspend
 * function of the library: cancel the calling coroutine to stop it at the
 * next round), publishing its progress as it goes; [watch] keeps the screen
 * current from the store's changes. `serverUrl` and `token` come from the
 * device's enrolment.
 */
class SyncStatusViewModel private constructor(
    private val session: Session,
    /** One sync with the server (a suspend call of the library). */
    private val syncCall: suspend (SyncListener) -> SyncProgress,
) {
    /** For a device enrolled with a token the app holds. */
    constructor(session: Session, serverUrl: String, token: String) :
        this(session, { listener -> session.store.sync(serverUrl, token, listener) })

    private var running: Job? = null

    /**
     * Starts a sync in [scope] (the screen's); [cancelSync] stops it at its
     * next round or photo chunk, keeping every round it completed.
     */
    fun startSync(scope: CoroutineScope): Job = scope.launch { syncNow() }.also { running = it }

    /** Stops the sync started by [startSync], if it runs. */
    fun cancelSync() {
        running?.cancel()
    }

    private val _state = MutableStateFlow(SyncStatusState())
    val state: StateFlow<SyncStatusState> = _state.asStateFlow()

    /**
     * Refreshes the screen on every change of cases or sync state (a sync
     * elsewhere in the app, a new case) until [scope] ends; changes that
     * come while a refresh runs are folded into the next one.
     */
    fun watch(scope: CoroutineScope): Job = scope.launch {
        session.changes.filter { it.touchesCaseLists() || it.zeroReports.isNotEmpty() }.conflate().collect { refresh() }
    }

    /** Reads the pending count, every case's mark and the refused documents. */
    suspend fun refresh() {
        try {
            val s = readStatus()
            _state.update {
                it.copy(
                    pending = s.pending,
                    pendingText = pendingText(s.pending),
                    marks = s.marks,
                    refused = s.refused,
                    error = null,
                )
            }
        } catch (e: WanggeException) {
            _state.update { it.copy(error = e.screenMessage()) }
        }
    }

    /**
     * Queues a refused document to go to the server again at the next sync
     * (once the cause was fixed, e.g. the register gave the person the
     * missing role) and reloads. False if it was not refused.
     */
    suspend fun retry(docId: String): Boolean {
        val queued = try {
            session.call { it.retryRefused(docId) }
        } catch (e: WanggeException) {
            _state.update { it.copy(error = e.screenMessage()) }
            return false
        }
        refresh()
        return queued
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
            syncCall(listener)
        } catch (e: CancellationException) {
            // Stopped at a round boundary: every completed round is kept.
            _state.update { it.copy(syncing = false, lastSync = "同步已取消：已完成的部分已保存，其余下次同步") }
            withContext(NonCancellable) { refreshQuietly() }
            throw e
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

    private class Status(val pending: Long, val marks: Map<String, CaseSyncMark>, val refused: List<RefusedRow>)

    private suspend fun readStatus(): Status = session.call { store ->
        // Every row carries its sync state: one call for the whole list.
        val cases = store.cases(CaseQuery())
        val marks = cases.associate { c -> c.id to CaseSyncMark.of(c.id, c.sync) }
        val titles = cases.associate { c ->
            c.id to "${session.catalog.checklistItem(c.checklistItem)?.titleZh ?: c.checklistItem}：${c.description}"
        }
        val refused = store.refusedDocuments().map { r ->
            RefusedRow(r.docId, titles[r.docId] ?: "零报告", r.code, refusalLabel(r.code), r.message, cstTime(r.atMs))
        }
        Status(store.pendingCount(), marks, refused)
    }

    private fun pendingText(pending: Long) = if (pending == 0L) "全部已同步" else "$pending 项待同步"

    companion object {
        /** For a phone paired with a code: syncs with the token the store keeps. */
        fun paired(session: Session) = SyncStatusViewModel(session) { listener -> session.store.syncPaired(listener) }

        /** A sync's counters in words: 发送 3 项，接收 2 项，照片上传 2 个、下载 1 个（12.3 KB）. */
        fun describe(p: SyncProgress): String {
            val kb = (p.bytesSent + p.bytesReceived + p.photoBytesSent + p.photoBytesReceived) / 1024.0
            return "发送 ${p.docsSent} 项，接收 ${p.docsReceived} 项，" +
                (if (p.docsRefused > 0L) "服务器拒收 ${p.docsRefused} 项，" else "") +
                "照片上传 ${p.photosSent} 个、下载 ${p.photosReceived} 个" +
                "（%.1f KB，%d 轮${if (p.retries > 0) "，重试 ${p.retries} 次" else ""}）".format(kb, p.rounds)
        }
    }
}
