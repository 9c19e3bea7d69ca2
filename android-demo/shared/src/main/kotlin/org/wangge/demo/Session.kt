// Who is using the app, and the store they work in.
package org.wangge.demo

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.withContext
import org.wangge.core.Actor
import org.wangge.core.Catalog
import org.wangge.core.model.EnrolledPerson
import org.wangge.core.PairedDevice
import org.wangge.core.model.Role
import org.wangge.core.Store
import org.wangge.core.StoreChange
import org.wangge.core.WanggeException

/** The server says this device is enrolled to nobody: an administrator must enrol it to a person. */
class NotEnrolledException(message: String) : Exception(message)

/**
 * The signed-in person and the device's store, shared by every screen.
 *
 * Store calls block for one SQLite transaction, so the view models run them
 * on [io] (Dispatchers.IO on a phone) and never on the main thread.
 */
class Session(
    val store: Store,
    val me: Actor,
    /** The units or teams the person acts for: cases dispatched to them are "mine". */
    val units: List<String> = listOfNotNull(me.unit),
    val io: CoroutineDispatcher = Dispatchers.IO,
    /** The person the device is enrolled to, as the server's register has them (see [enrol]). */
    val person: EnrolledPerson? = null,
) {
    /** The street's reference data (checklist, grids), read-only and cheap to share. */
    val catalog: Catalog = store.catalog()

    /**
     * Runs a store call on [io]: the quick blocking calls (one SQLite
     * transaction). The long ones (`sync`, `importPhoto`, `fetchPhoto`,
     * `enrolment`, `pair`) are suspend functions of the store itself, which
     * run on a thread of the library; a cancelled `sync` stops at its next
     * round or photo chunk.
     */
    suspend fun <T> call(block: (Store) -> T): T = withContext(io) { block(store) }

    /** The store's committed changes (see [Store.changes]). */
    val changes: Flow<StoreChange> get() = store.changes()

    companion object {
        /**
         * Signs in the person the device is enrolled to: asks the server who
         * that is (`enrolment`), makes the store refuse at once any write by
         * someone else (`setAuthor`), and acts as them — in [role] if given
         * (one they hold), else their first role — for their main unit.
         *
         * Throws what `enrolment` throws (`Offline`, `NotAuthorized`, `Sync`),
         * and [NotEnrolledException] when the device is enrolled to nobody.
         */
        suspend fun enrol(
            store: Store,
            serverUrl: String,
            token: String,
            role: Role? = null,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): Session {
            val enrolment = store.enrolment(serverUrl, token)
            val person = enrolment.person
                ?: throw NotEnrolledException("device ${enrolment.deviceId} is enrolled to nobody")
            val acting = role ?: person.roles.firstOrNull()
                ?: throw NotEnrolledException("${person.staffId} holds no role this app knows")
            require(acting in person.roles) { "${person.staffId} does not hold the role $acting" }
            withContext(io) { store.setAuthor(enrolment.author) }
            val me = Actor(person.staffId, acting, person.units.firstOrNull())
            return Session(store, me, person.units, io, person)
        }

        /**
         * Pairs the phone with a one-time code from the back office (typed as
         * `ABC-DEFGH`, or the `code` of a scanned QR payload) and signs in its
         * person, as [enrol] does. The store keeps the token: no screen ever
         * shows it, and later starts use [resume], offline.
         *
         * Throws `PairingRefused` (unknown, used, expired or locked code, or a
         * person who left), `Offline`, `InsecureHttp`, and
         * [NotEnrolledException] when the code names nobody this app can act as.
         */
        suspend fun pair(
            store: Store,
            serverUrl: String,
            code: String,
            deviceName: String? = null,
            role: Role? = null,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): Session {
            val paired = store.pair(serverUrl, code, deviceName)
            return signIn(store, paired, role, io)
                ?: throw NotEnrolledException("the pairing names no person this app can act as")
        }

        /**
         * Signs in the person the phone is paired to, from the store alone
         * (no network); `null` when the phone was never paired or the back
         * office has revoked it ([pairingLine] says which): show the pairing
         * screen then.
         */
        suspend fun resume(
            store: Store,
            role: Role? = null,
            io: CoroutineDispatcher = Dispatchers.IO,
        ): Session? {
            val paired = withContext(io) { store.pairedDevice() } ?: return null
            if (paired.revoked) return null
            return signIn(store, paired, role, io)
        }

        private suspend fun signIn(store: Store, paired: PairedDevice, role: Role?, io: CoroutineDispatcher): Session? {
            val person = paired.person ?: return null
            val acting = role ?: person.roles.firstOrNull() ?: return null
            require(acting in person.roles) { "${person.staffId} does not hold the role $acting" }
            withContext(io) { store.setAuthor(paired.author) }
            return Session(store, Actor(person.staffId, acting, person.units.firstOrNull()), person.units, io, person)
        }

        /**
         * The line the settings screen shows about the pairing: who the phone
         * is paired as, or that the back office revoked it (pair again), or
         * that it was never paired.
         */
        suspend fun pairingLine(store: Store, io: CoroutineDispatcher = Dispatchers.IO): String {
            val paired = withContext(io) { store.pairedDevice() } ?: return "本机尚未配对：请向管理中心索取配对码"
            val who = paired.person?.let { "${it.name}（${it.staffId}）" } ?: "（无人员）"
            return when {
                paired.revoked -> "本机已被管理中心停用（$who），记录不会丢失：请索取新的配对码重新配对"
                paired.reenrolled -> "已重新配对：$who"
                else -> "已配对：$who"
            }
        }
    }
}

/** The text a screen shows for a failed action. */
fun Throwable.screenMessage(): String = when (this) {
    is WanggeException.InvalidGpsFix -> "定位无效：$message"
    is WanggeException.UnknownChecklistItem -> "事项不在任务清单中：$message"
    is WanggeException.EventNotAllowed -> "当前状态下不能这样操作：$message"
    is WanggeException.RoleNotAllowed -> "您的角色不能进行此操作：$message"
    is WanggeException.NotAllowed -> "不能以此身份操作（服务器会拒收）：$message"
    is NotEnrolledException -> "本机未登记到人员，请联系管理员重新登记设备（wangge-server enroll --person）：$message"
    is WanggeException.CaseNotFound -> "本机没有这个案件：$message"
    is WanggeException.Offline -> "暂时无法连接服务器，记录已保存在本机，有信号后会自动同步"
    is WanggeException.NotAuthorized -> "本机未获授权同步（记录不会丢失），请联系管理员重新登记设备：$message"
    is WanggeException.Sync -> "同步失败（本机记录不会丢失）：$message"
    is WanggeException.PairingRefused -> "配对码无效、已使用、已过期或已锁定，请向管理中心索取新的配对码：$message"
    is WanggeException.InsecureHttp -> "服务器地址不安全，须使用 https:// 地址：$message"
    is WanggeException.Photo -> "照片无法使用：$message"
    is WanggeException -> message ?: this::class.simpleName ?: "error"
    else -> message ?: this::class.simpleName ?: "error"
}
