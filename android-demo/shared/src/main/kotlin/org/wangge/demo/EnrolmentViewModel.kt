// The enrolment screen: the officer scans the back office's QR code (or
// types its pairing code and the server's address), and the phone pairs
// with the server as the code's person. The token stays inside the store:
// no screen shows it. A phone the back office revoked says so, and pairs
// again with a new code.
package org.wangge.demo

import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.withContext
import org.wangge.core.Revocation
import org.wangge.core.Store
import org.wangge.core.WanggeException
import org.wangge.core.parsePairingPayload

/** What the enrolment screen shows. */
data class EnrolmentState(
    /** The server's address, from the QR code or typed. */
    val serverUrl: String = "",
    /** The pairing code, `ABC-DEFGH`, from the QR code or typed. */
    val code: String = "",
    /** 已配对：王建国（XT-GO-001）, 本机已被管理中心停用…, or 本机尚未配对…. */
    val pairing: String = "",
    /** The back office revoked the phone: the screen stands out and offers to pair again. */
    val revoked: Boolean = false,
    /** After a revocation, what the phone wiped and what it kept of its own unsent work; else `null`. */
    val kept: String? = null,
    /** A pairing is under way. */
    val busy: Boolean = false,
    /** Both fields are filled and nothing is under way. */
    val canPair: Boolean = false,
    val error: String? = null,
)

/** The enrolment screen's logic; [session] is set once the phone is paired and signed in. */
class EnrolmentViewModel(private val store: Store, private val deviceName: String? = null) {
    private val _state = MutableStateFlow(EnrolmentState())
    val state: StateFlow<EnrolmentState> = _state.asStateFlow()

    /** The signed-in session after a pairing (or of a phone paired before); `null` until then. */
    var session: Session? = null
        private set

    /** Shows where the phone stands, and signs in a phone paired before (offline). */
    suspend fun load() {
        session = Session.resume(store)
        showPairing()
    }

    private suspend fun showPairing() {
        val line = Session.pairingLine(store)
        val (revoked, revocation) = withContext(Dispatchers.IO) {
            (store.pairedDevice()?.revoked == true) to store.revocation()
        }
        _state.update { it.copy(pairing = line, revoked = revoked, kept = revocation?.let(::keptLine)) }
    }

    /** A scanned QR code: fills the server and the code, or says it is no pairing code. */
    fun scanned(text: String) {
        try {
            val payload = parsePairingPayload(text)
            _state.update { s ->
                s.copy(serverUrl = payload.serverUrl ?: s.serverUrl, code = payload.code, error = null).ready()
            }
        } catch (e: WanggeException.InvalidInput) {
            _state.update { it.copy(error = "这不是管理中心的配对二维码，请重新扫描或手动输入配对码") }
        }
    }

    /** The code as typed. */
    fun typeCode(code: String) = _state.update { it.copy(code = code.trim(), error = null).ready() }

    /** The server's address as typed. */
    fun typeServer(url: String) = _state.update { it.copy(serverUrl = url.trim(), error = null).ready() }

    /**
     * Pairs with the server (a suspend call of the library) and signs in the
     * code's person; returns the session, or `null` with the error in the
     * state (a used, expired or mistyped code says to ask for a new one).
     */
    suspend fun pair(): Session? {
        val s = _state.value
        if (!s.canPair) return null
        _state.update { it.copy(busy = true, canPair = false, error = null) }
        return try {
            Session.pair(store, s.serverUrl, s.code, deviceName).also { session = it }
                .also {
                    _state.update { it.copy(busy = false, code = "").ready() }
                    showPairing()
                }
        } catch (e: WanggeException) {
            _state.update { it.copy(busy = false, error = e.screenMessage()).ready() }
            null
        } catch (e: NotEnrolledException) {
            _state.update { it.copy(busy = false, error = e.screenMessage()).ready() }
            null
        }
    }

    /** Counts in words: 已清除街道数据 12 条；本机未发送的 1 条记录、2 张照片仍保留…. */
    private fun keptLine(r: Revocation): String =
        "停用时已从本机清除街道数据 ${r.wipedDocuments} 条；" + if (r.keptDocuments == 0L && r.keptPhotos == 0L) {
            "本机没有未发送的记录"
        } else {
            "本机未发送的 ${r.keptDocuments} 条记录、${r.keptPhotos} 张照片仍保留在本机，重新配对后可继续处理"
        }

    private fun EnrolmentState.ready() = copy(canPair = !busy && serverUrl.isNotEmpty() && code.isNotEmpty())
}
