// The background sync: WorkManager runs it under SyncSchedule's constraints;
// BackgroundSync (shared, JVM-tested against a real server) does the work.
// This class only reads the network, and maps the outcome to a Result.
package org.wangge.demo.android

import android.content.Context
import android.net.ConnectivityManager
import android.net.NetworkCapabilities
import androidx.work.CoroutineWorker
import androidx.work.WorkerParameters
import org.wangge.demo.BackgroundSync
import org.wangge.demo.BackgroundSyncOutcome
import org.wangge.demo.Network
import org.wangge.demo.SyncSchedule
import org.wangge.demo.WorkResult

class SyncWorker(context: Context, params: WorkerParameters) : CoroutineWorker(context, params) {
    /**
     * One run. When WorkManager stops the worker (constraints lost, quota),
     * it cancels this coroutine: the library's sync stops at its next round
     * or photo chunk, and every round it completed is kept.
     */
    override suspend fun doWork(): Result {
        val app = applicationContext as WanggeApplication
        val background = BackgroundWork(app)
        val session = app.signedIn()
            ?: return Result.failure().also { background.stopAll() } // never paired, or revoked
        val settings = background.settings
        val outcome = BackgroundSync(session, settings).run(network())
        val after = SyncSchedule.after(outcome, settings)
        after.enqueue.forEach(background::enqueue)
        if (after.cancelAll) background.stopAll()
        if (outcome is BackgroundSyncOutcome.Stop) app.session = null
        return when (after.result) {
            WorkResult.SUCCESS -> Result.success()
            WorkResult.RETRY -> Result.retry()
            WorkResult.FAILURE -> Result.failure()
        }
    }

    /** The active network as BackgroundSync's policy knows it. */
    private fun network(): Network {
        val connectivity = applicationContext.getSystemService(ConnectivityManager::class.java)
        val caps = connectivity?.getNetworkCapabilities(connectivity.activeNetwork)
        return SyncSchedule.network(
            hasInternet = caps?.hasCapability(NetworkCapabilities.NET_CAPABILITY_INTERNET) == true,
            notMetered = caps?.hasCapability(NetworkCapabilities.NET_CAPABILITY_NOT_METERED) == true,
        )
    }
}
