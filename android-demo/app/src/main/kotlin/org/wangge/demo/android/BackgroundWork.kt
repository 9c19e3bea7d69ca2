// WorkManager for the background sync: translates SyncSchedule's works
// (names, periods, network constraints) into WorkRequests, and keeps the
// officer's setting (full photos on mobile data) in SharedPreferences.
package org.wangge.demo.android

import android.content.Context
import androidx.work.BackoffPolicy
import androidx.work.Constraints
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.ExistingWorkPolicy
import androidx.work.NetworkType
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkRequest
import java.util.concurrent.TimeUnit
import org.wangge.demo.BackgroundSyncSettings
import org.wangge.demo.NetworkNeed
import org.wangge.demo.SyncSchedule
import org.wangge.demo.SyncWork
import org.wangge.demo.WhenQueued

class BackgroundWork(context: Context) {
    private val context = context.applicationContext
    private val work = WorkManager.getInstance(this.context)
    private val prefs = this.context.getSharedPreferences("wangge", Context.MODE_PRIVATE)

    /** The officer's choice (the sync screen's switch). */
    var settings: BackgroundSyncSettings
        get() = BackgroundSyncSettings(fullPhotosOnMetered = prefs.getBoolean(FULL_PHOTOS_ON_METERED, false))
        set(value) {
            prefs.edit().putBoolean(FULL_PHOTOS_ON_METERED, value.fullPhotosOnMetered).apply()
            SyncSchedule.settingsChanged(value).forEach(::enqueue)
        }

    /** Queues the periodic sync (kept if queued already): at every start and after pairing. */
    fun start() = enqueue(SyncSchedule.periodic())

    /** A sync as soon as there is a network (a new report, a retried document). */
    fun syncSoon() = enqueue(SyncSchedule.now())

    /** Stops every queued sync (the phone was revoked); [start] queues them again after pairing. */
    fun stopAll() {
        listOf(SyncSchedule.PERIODIC, SyncSchedule.NOW, SyncSchedule.PHOTOS).forEach(work::cancelUniqueWork)
    }

    /** Queues one of SyncSchedule's works. */
    fun enqueue(spec: SyncWork) {
        val constraints = Constraints.Builder()
            .setRequiredNetworkType(
                when (spec.network) {
                    NetworkNeed.CONNECTED -> NetworkType.CONNECTED
                    NetworkNeed.UNMETERED -> NetworkType.UNMETERED
                },
            )
            .build()
        val every = spec.everyMinutes
        if (every != null) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(every, TimeUnit.MINUTES).paced(constraints).build()
            val policy = when (spec.whenQueued) {
                WhenQueued.KEEP -> ExistingPeriodicWorkPolicy.KEEP
                WhenQueued.REPLACE -> ExistingPeriodicWorkPolicy.UPDATE
            }
            work.enqueueUniquePeriodicWork(spec.name, policy, request)
        } else {
            val request = OneTimeWorkRequestBuilder<SyncWorker>().paced(constraints).build()
            val policy = when (spec.whenQueued) {
                WhenQueued.KEEP -> ExistingWorkPolicy.KEEP
                WhenQueued.REPLACE -> ExistingWorkPolicy.REPLACE
            }
            work.enqueueUniqueWork(spec.name, policy, request)
        }
    }

    /** The constraints, and WorkManager's backoff between retries (the same for every work). */
    private fun <B : WorkRequest.Builder<B, *>> B.paced(constraints: Constraints): B =
        setConstraints(constraints).setBackoffCriteria(BackoffPolicy.EXPONENTIAL, BACKOFF_SECONDS, TimeUnit.SECONDS)

    private companion object {
        const val FULL_PHOTOS_ON_METERED = "full_photos_on_metered"

        /** The first retry after 30 s, doubling (WorkManager caps it at 5 h). */
        const val BACKOFF_SECONDS = 30L
    }
}
