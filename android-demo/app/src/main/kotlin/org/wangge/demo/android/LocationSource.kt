// Readings from Android's own LocationManager (no Google Play services,
// which most phones sold in mainland China do not have). Which providers to
// ask, which readings to keep and what to show are LocationTracker's
// (shared, JVM-tested); this only asks Android and forwards what it says.
package org.wangge.demo.android

import android.Manifest
import android.annotation.SuppressLint
import android.content.Context
import android.content.pm.PackageManager
import android.location.Location
import android.location.LocationListener
import android.location.LocationManager
import android.os.Looper
import android.os.SystemClock
import androidx.core.content.ContextCompat
import androidx.core.location.LocationManagerCompat
import org.wangge.demo.LocationAccess
import org.wangge.demo.LocationProvider
import org.wangge.demo.LocationReading

class LocationSource(private val context: Context) {
    private val manager = context.getSystemService(LocationManager::class.java)
    private val listener = LocationListener { location -> reading(location)?.let(onReading) }
    private var onReading: (LocationReading) -> Unit = {}

    /** The permissions granted and the providers switched on. */
    fun access(): LocationAccess {
        fun granted(p: String) = ContextCompat.checkSelfPermission(context, p) == PackageManager.PERMISSION_GRANTED
        val manager = manager
        return LocationAccess(
            fine = granted(Manifest.permission.ACCESS_FINE_LOCATION),
            coarse = granted(Manifest.permission.ACCESS_COARSE_LOCATION),
            enabled = if (manager != null && LocationManagerCompat.isLocationEnabled(manager)) {
                manager.getProviders(true).toSet()
            } else {
                emptySet()
            },
        )
    }

    /**
     * Hands [onReading] the last-known position of each provider (the
     * tracker drops stale ones), then every update, on the main thread,
     * until [stop].
     */
    @SuppressLint("MissingPermission") // providers come from LocationTracker.start, which checked the grants
    fun start(providers: List<LocationProvider>, onReading: (LocationReading) -> Unit) {
        val manager = manager ?: return
        stop()
        this.onReading = onReading
        providers.forEach { p ->
            manager.getLastKnownLocation(p.androidName)?.let { reading(it) }?.let(onReading)
            manager.requestLocationUpdates(p.androidName, UPDATE_MS, 0f, listener, Looper.getMainLooper())
        }
    }

    /** Stops the updates (a good fix, or the screen left): the GPS is the battery's biggest drain. */
    fun stop() {
        manager?.removeUpdates(listener)
    }

    /** `SystemClock.elapsedRealtime()`, the clock readings are aged on. */
    fun nowElapsedMs(): Long = SystemClock.elapsedRealtime()

    private fun reading(location: Location): LocationReading? {
        val provider = LocationProvider.of(location.provider ?: return null) ?: return null
        return LocationReading(
            provider = provider,
            lat = location.latitude,
            lon = location.longitude,
            accuracyM = if (location.hasAccuracy()) location.accuracy.toDouble() else null,
            timeMs = location.time,
            elapsedMs = location.elapsedRealtimeNanos / 1_000_000,
        )
    }

    private companion object {
        /** One update a second while the screen waits for a better fix. */
        const val UPDATE_MS = 1_000L
    }
}
