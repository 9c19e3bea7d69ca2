// Who is using the app, and the store they work in.
package org.wangge.demo

import kotlinx.coroutines.CoroutineDispatcher
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext
import org.wangge.core.Actor
import org.wangge.core.Catalog
import org.wangge.core.Store
import org.wangge.core.WanggeException

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
) {
    /** The street's reference data (checklist, grids), read-only and cheap to share. */
    val catalog: Catalog = store.catalog()

    /** Runs a store call on [io]. */
    suspend fun <T> call(block: (Store) -> T): T = withContext(io) { block(store) }
}

/** The text a screen shows for a failed action. */
fun Throwable.screenMessage(): String = when (this) {
    is WanggeException.InvalidGpsFix -> "定位无效：$message"
    is WanggeException.UnknownChecklistItem -> "事项不在任务清单中：$message"
    is WanggeException.EventNotAllowed -> "当前状态下不能这样操作：$message"
    is WanggeException.RoleNotAllowed -> "您的角色不能进行此操作：$message"
    is WanggeException.CaseNotFound -> "本机没有这个案件：$message"
    is WanggeException.Offline -> "暂时无法连接服务器，记录已保存在本机，有信号后会自动同步"
    is WanggeException.NotAuthorized -> "本机未获授权同步（记录不会丢失），请联系管理员重新登记设备：$message"
    is WanggeException.Sync -> "同步失败（本机记录不会丢失）：$message"
    is WanggeException.Photo -> "照片无法使用：$message"
    is WanggeException -> message ?: this::class.simpleName ?: "error"
    else -> message ?: this::class.simpleName ?: "error"
}
