// Which background syncs the app keeps queued with WorkManager, under which
// constraints, and what follows a run: the policy as data, so it is tested
// on the JVM; the app's SyncWorker and BackgroundWork only translate it
// into WorkRequests and Result.
package org.wangge.demo

/** The network a queued sync waits for (WorkManager's `NetworkType`). */
enum class NetworkNeed {
    /** Any network with internet (`NetworkType.CONNECTED`): documents go on mobile data too. */
    CONNECTED,

    /** Wi-Fi or another unmetered network (`NetworkType.UNMETERED`): full photos by default. */
    UNMETERED,
}

/** What to do when a work of the same name is already queued (WorkManager's existing-work policies). */
enum class WhenQueued {
    /** Leave the queued one (`KEEP`). */
    KEEP,

    /** Queue this one in its place, with its new constraints (`REPLACE` / periodic `UPDATE`). */
    REPLACE,
}

/** One unique background sync: its name, how often, and what it waits for. */
data class SyncWork(
    /** The unique work name. */
    val name: String,
    /** Repeats every so many minutes (WorkManager's floor is 15); `null` for a one-time work. */
    val everyMinutes: Long?,
    val network: NetworkNeed,
    val whenQueued: WhenQueued,
)

/** What WorkManager's `Result` should be. */
enum class WorkResult { SUCCESS, RETRY, FAILURE }

/** What follows one run: the result, works to queue, and whether to stop the schedule. */
data class AfterRun(
    val result: WorkResult,
    val enqueue: List<SyncWork> = emptyList(),
    /** Cancel every queued sync (the phone was revoked: nothing can go until it pairs again). */
    val cancelAll: Boolean = false,
)

/**
 * The schedule: a periodic sync on any network (documents and thumbnails
 * go as soon as there is signal; that is what the centre needs first), a
 * one-time sync on demand, and a one-time "photos" sync waiting for an
 * unmetered network whenever a run on mobile data left full photos behind
 * (on any network when the officer chose to send them on mobile data).
 */
object SyncSchedule {
    /** The periodic sync. */
    const val PERIODIC = "wangge-sync"

    /** A sync asked for now (a new report, the sync button). */
    const val NOW = "wangge-sync-now"

    /** The full photos a sync on mobile data left behind. */
    const val PHOTOS = "wangge-sync-photos"

    /**
     * 15 minutes, WorkManager's shortest period: a case reaches the centre
     * within a quarter of an hour of signal without the app open; the
     * officer's sync button or a new report does not wait for it.
     */
    const val PERIOD_MINUTES = 15L

    /** The periodic sync; queued at start and after pairing, kept if queued. */
    fun periodic(): SyncWork = SyncWork(PERIODIC, PERIOD_MINUTES, NetworkNeed.CONNECTED, WhenQueued.KEEP)

    /**
     * A sync as soon as there is a network: replaces one already waiting
     * (the newest request covers it). Not an expedited work: on Android
     * before 12 that would need a foreground service and its notification,
     * and WorkManager starts an unconstrained-enough work at once anyway.
     */
    fun now(): SyncWork = SyncWork(NOW, null, NetworkNeed.CONNECTED, WhenQueued.REPLACE)

    /** The photos' sync: on Wi-Fi unless the officer chose mobile data for photos too. */
    fun photos(settings: BackgroundSyncSettings): SyncWork = SyncWork(
        PHOTOS,
        null,
        if (settings.fullPhotosOnMetered) NetworkNeed.CONNECTED else NetworkNeed.UNMETERED,
        WhenQueued.KEEP,
    )

    /**
     * The setting changed: the photos' sync, if queued, must wait for the
     * new network kind (queued again in place; when none was queued this
     * queues one, which finds nothing to send and ends).
     */
    fun settingsChanged(settings: BackgroundSyncSettings): List<SyncWork> =
        listOf(photos(settings).copy(whenQueued = WhenQueued.REPLACE))

    /** What follows a run of any of the works. */
    fun after(outcome: BackgroundSyncOutcome, settings: BackgroundSyncSettings): AfterRun = when (outcome) {
        is BackgroundSyncOutcome.Done ->
            AfterRun(WorkResult.SUCCESS, if (outcome.photosWaiting) listOf(photos(settings)) else emptyList())
        BackgroundSyncOutcome.Skipped -> AfterRun(WorkResult.SUCCESS)
        // WorkManager's backoff (exponential from 30 s) paces the attempts; nothing is lost meanwhile.
        is BackgroundSyncOutcome.Retry -> AfterRun(WorkResult.RETRY)
        is BackgroundSyncOutcome.Stop -> AfterRun(WorkResult.FAILURE, cancelAll = true)
    }

    /**
     * The network kind of Android's active network: none without internet,
     * else metered unless it has `NET_CAPABILITY_NOT_METERED` (Wi-Fi
     * usually; a hotspot on a phone's data is metered).
     */
    fun network(hasInternet: Boolean, notMetered: Boolean): Network = when {
        !hasInternet -> Network.NONE
        notMetered -> Network.UNMETERED
        else -> Network.METERED
    }
}
