// Who is using the app, and the store they work in.
package org.wangge.demo

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.wangge.core.Actor
import org.wangge.core.Catalog
import org.wangge.core.EnrolledPerson
import org.wangge.core.Role
import org.wangge.core.Store
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

    /** Runs a store call on [io]. */
    suspend fun <T> call(block: (Store) -> T): T = withContext(io) { block(store) }

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
            val enrolment = withContext(io) { store.enrolment(serverUrl, token) }
            val person = enrolment.person
                ?: throw NotEnrolledException("device ${enrolment.deviceId} is enrolled to nobody")
            val acting = role ?: person.roles.firstOrNull()
                ?: throw NotEnrolledException("${person.staffId} holds no role this app knows")
            require(acting in person.roles) { "${person.staffId} does not hold the role $acting" }
            withContext(io) { store.setAuthor(enrolment.author) }
            val me = Actor(person.staffId, acting, person.units.firstOrNull())
            return Session(store, me, person.units, io, person)
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
    is WanggeException.Photo -> "照片无法使用：$message"
    is WanggeException -> message ?: this::class.simpleName ?: "error"
    else -> message ?: this::class.simpleName ?: "error"
}
