// Background sync, as a WorkManager worker runs it: when to sync, what to
// send on which network, and what to tell WorkManager afterwards. Plain
// Kotlin, so it is tested on the JVM against a real server; the Android
// worker only maps the network and the outcome.
package org.wangge.demo

import kotlinx.coroutines.CancellationException
import kotlinx.coroutines.NonCancellable
import kotlinx.coroutines.withContext
import org.wangge.core.SyncProgress
import org.wangge.core.WanggeException

/** The network the phone is on, as Android's ConnectivityManager says. */
enum class Network {
    NONE,

    /** Mobile data (paid by the megabyte, often weak). */
    METERED,

    /** Wi-Fi or another unmetered network. */
    UNMETERED,
}

/** What the officer chose in the settings. */
data class BackgroundSyncSettings(
    /** Send full photos over mobile data too (off by default: thumbnails go, photos wait for Wi-Fi). */
    val fullPhotosOnMetered: Boolean = false,
)

/** What one background run does. */
data class SyncPlan(
    /** Sync at all (there is a network). */
    val run: Boolean,
    /** Send full photos; without, documents and thumbnails only. */
    val fullPhotos: Boolean,
)

/** The policy: documents (and thumbnails) on any network, full photos on unmetered ones unless chosen. */
fun syncPlan(network: Network, settings: BackgroundSyncSettings): SyncPlan = when (network) {
    Network.NONE -> SyncPlan(run = false, fullPhotos = false)
    Network.METERED -> SyncPlan(run = true, fullPhotos = settings.fullPhotosOnMetered)
    Network.UNMETERED -> SyncPlan(run = true, fullPhotos = true)
}

/** How a background run ended, as WorkManager needs to know it. */
sealed class BackgroundSyncOutcome {
    /** Synced: `Result.success()`. [photosWaiting]: full photos left for an unmetered network. */
    data class Done(val progress: SyncProgress, val photosWaiting: Boolean) : BackgroundSyncOutcome()

    /** Nothing to do on this network: `Result.success()`; the next trigger tries again. */
    data object Skipped : BackgroundSyncOutcome()

    /** The server could not be reached or failed: `Result.retry()` (with WorkManager's backoff). */
    data class Retry(val message: String) : BackgroundSyncOutcome()

    /** The phone may not sync until someone acts (revoked, never paired): `Result.failure()`. */
    data class Stop(val message: String) : BackgroundSyncOutcome()
}

/**
 * One background run for a paired phone: plans by the network, syncs with
 * the token the store keeps (`syncPaired`, a suspend function: when
 * WorkManager stops the worker, cancelling its coroutine stops the sync at
 * its next round or photo chunk, nothing half-applied), and says what
 * WorkManager should do next. Nothing recorded on the phone is lost in any
 * outcome.
 */
class BackgroundSync(private val session: Session, private val settings: BackgroundSyncSettings = BackgroundSyncSettings()) {
    suspend fun run(network: Network): BackgroundSyncOutcome {
        val plan = syncPlan(network, settings)
        if (!plan.run) return BackgroundSyncOutcome.Skipped
        val before = session.call { it.syncConfig() }
        return try {
            session.call { it.setSyncConfig(before.copy(fullPhotos = plan.fullPhotos)) }
            val progress = session.store.syncPaired()
            val waiting = !plan.fullPhotos && session.call { store ->
                store.cases(org.wangge.core.CaseQuery()).any { it.sync.photosOnServer < it.sync.photos }
            }
            BackgroundSyncOutcome.Done(progress, waiting)
        } catch (e: CancellationException) {
            throw e
        } catch (e: WanggeException.Offline) {
            BackgroundSyncOutcome.Retry(e.screenMessage())
        } catch (e: WanggeException.NotAuthorized) {
            BackgroundSyncOutcome.Stop(e.screenMessage())
        } catch (e: WanggeException.InvalidInput) {
            BackgroundSyncOutcome.Stop(e.screenMessage())
        } catch (e: WanggeException) {
            BackgroundSyncOutcome.Retry(e.screenMessage())
        } finally {
            // What the app had set (foreground syncs send full photos).
            withContext(NonCancellable) { session.call { it.setSyncConfig(before) } }
        }
    }
}
