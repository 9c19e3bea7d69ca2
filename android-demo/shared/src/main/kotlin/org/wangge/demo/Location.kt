// Where the officer stands, from Android's own LocationManager (no Google
// Play services, which most phones sold in mainland China lack): which
// providers to ask, which of their readings to keep, when to stop asking,
// and what the report screen says about the fix. Plain Kotlin, so all of it
// is tested on the JVM; the app's LocationSource only forwards readings.
package org.wangge.demo

import org.wangge.core.model.GpsFix

/** A provider of Android's `LocationManager`, by the name it is registered under. */
enum class LocationProvider(
    /** `LocationManager.GPS_PROVIDER` and the others. */
    val androidName: String,
    /** How the screen names it. */
    val label: String,
) {
    /** Satellites: metres outdoors, nothing indoors; only with the fine location permission. */
    GPS("gps", "卫星"),

    /** Cell towers and Wi-Fi (the phone maker's service): tens to hundreds of metres, works indoors. */
    NETWORK("network", "基站/WLAN"),

    /** Android 12's own fusion of the two (no Play services involved). */
    FUSED("fused", "融合定位"),
    ;

    companion object {
        /** The provider of that name, or `null` for one this app does not ask (`passive`, vendors' own). */
        fun of(androidName: String): LocationProvider? = entries.firstOrNull { it.androidName == androidName }
    }
}

/** One reading, with the fields of `android.location.Location` the app copies over. */
data class LocationReading(
    val provider: LocationProvider,
    /** WGS-84 degrees (what Android reports; the grid catalog is in WGS-84 too). */
    val lat: Double,
    val lon: Double,
    /** Radius of the 68 % accuracy circle in metres; `null` when the provider gave none (`hasAccuracy()` false). */
    val accuracyM: Double?,
    /** `Location.getTime()`: when the fix was taken, ms since the Unix epoch (goes into the case). */
    val timeMs: Long,
    /**
     * `Location.getElapsedRealtimeNanos()` in ms: the age of a reading is
     * judged on this monotonic clock, because a GPS fix's wall time comes
     * from the satellites and the phone's own clock may be set wrong.
     */
    val elapsedMs: Long,
) {
    /** The fix as the store takes it. */
    fun toGpsFix(): GpsFix = GpsFix(lat, lon, accuracyM ?: 0.0, timeMs)
}

/** What the app may use, as Android's permissions and settings say. */
data class LocationAccess(
    /** `ACCESS_FINE_LOCATION` granted (satellites, precise network fixes). */
    val fine: Boolean,
    /** `ACCESS_COARSE_LOCATION` granted (on Android 12+ an approximate position, about 2 km). */
    val coarse: Boolean,
    /** `LocationManager.getProviders(true)`: the providers switched on. */
    val enabled: Set<String>,
)

/**
 * The thresholds, written down with their reasons. A unit grid of the
 * street is a few hundred metres across; the core offers the candidate
 * grids when the accuracy circle crosses a boundary, so a weak fix is still
 * usable, only less certain.
 */
data class LocationPolicy(
    /**
     * A reading older than this is from somewhere else (an officer walks
     * about 150 m in two minutes): last-known positions older than this are
     * not shown at all.
     */
    val maxAgeMs: Long = 2 * 60_000L,
    /** Good enough to stop asking (saves the battery): well inside a unit grid. */
    val goodM: Double = 20.0,
    /** Beyond this the screen warns that the grid may be wrong and says what helps. */
    val weakM: Double = 100.0,
    /**
     * A newer reading replaces a more accurate older one when the older is
     * at least this old: the officer may have walked on since.
     */
    val supersedeAfterMs: Long = 30_000L,
    /** The core refuses accuracy circles larger than this (10 km): such readings are dropped. */
    val maxAccuracyM: Double = 10_000.0,
)

/** How good the kept fix is. */
enum class FixQuality {
    /** Within [LocationPolicy.goodM]: the app stops asking. */
    GOOD,

    /** Usable: the grid is right unless it is near a boundary (then the candidates are offered). */
    FAIR,

    /** Beyond [LocationPolicy.weakM]: the screen says how to improve it. */
    WEAK,
}

/** Where locating stands, as the report screen shows it ([line]). */
sealed class LocationStatus {
    /** What the screen says. */
    abstract val line: String

    /** Locating has not been started. */
    data object Idle : LocationStatus() {
        override val line = "尚未定位"
    }

    /** Neither location permission: the screen asks for it. */
    data object NoPermission : LocationStatus() {
        override val line = "未授予定位权限：请允许“位置信息”，否则案件需由中心确定网格"
    }

    /** Location is switched off in the system settings. */
    data object Off : LocationStatus() {
        override val line = "手机定位已关闭：请在系统设置中打开“位置信息”"
    }

    /** Asking [providers]; no usable reading yet. */
    data class Searching(val providers: List<LocationProvider>, val approximateOnly: Boolean) : LocationStatus() {
        override val line =
            "正在定位（${providers.joinToString("、") { it.label }}）…" + if (approximateOnly) approximateNote else ""
    }

    /** The fix kept, its [quality], and whether the app still asks for a better one. */
    data class Located(
        val reading: LocationReading,
        val quality: FixQuality,
        /** The providers are still asked (the fix is not [FixQuality.GOOD] yet). */
        val listening: Boolean,
        /** Seconds since the reading, when it was judged. */
        val ageS: Long,
        val approximateOnly: Boolean,
    ) : LocationStatus() {
        override val line: String = buildString {
            val accuracy = reading.accuracyM?.let { "±${Math.round(it)} 米" } ?: "精度未知"
            append(if (quality == FixQuality.WEAK) "定位精度较差 " else "定位精度 ")
            append(accuracy)
            append("（${reading.provider.label}")
            if (ageS >= 5) append("，$ageS 秒前")
            append("）")
            if (quality == FixQuality.WEAK) append("：到开阔处稍候可提高精度；跨网格时请选择网格")
            if (listening && quality != FixQuality.WEAK) append("，仍在提高精度…")
            if (approximateOnly) append(approximateNote)
        }
    }

    private companion object {
        const val approximateNote = "（仅有大致位置权限，请允许“精确位置”）"
    }
}

/**
 * Keeps the best reading of one locating session: [start] says which
 * providers to ask, [offer] judges each reading that arrives, [status]
 * says what to show and whether to keep asking. Not thread-safe: the
 * screen calls it from its main thread.
 */
class LocationTracker(private val policy: LocationPolicy = LocationPolicy()) {
    /** What the screen shows now. */
    var status: LocationStatus = LocationStatus.Idle
        private set

    private var access = LocationAccess(fine = false, coarse = false, enabled = emptySet())
    private var best: LocationReading? = null

    /**
     * Starts (or restarts, after a permission answer) a session: the
     * providers to ask for updates, best first; empty when there is no
     * permission or location is off ([status] says which).
     */
    fun start(access: LocationAccess): List<LocationProvider> {
        this.access = access
        best = null
        val providers = providersToAsk(access)
        status = when {
            !access.fine && !access.coarse -> LocationStatus.NoPermission
            providers.isEmpty() -> LocationStatus.Off
            else -> LocationStatus.Searching(providers, approximateOnly = !access.fine)
        }
        return providers
    }

    /**
     * A reading arrived (or a last-known position, when starting) at
     * [nowElapsedMs] (`SystemClock.elapsedRealtime()`); returns the fix to
     * use when it replaces the one kept, else `null` (stale, without
     * accuracy, beyond what the core takes, or worse than the one kept).
     */
    fun offer(reading: LocationReading, nowElapsedMs: Long): LocationReading? {
        val usable = reading.accuracyM != null && reading.accuracyM.isFinite() &&
            reading.accuracyM >= 0 && reading.accuracyM <= policy.maxAccuracyM &&
            nowElapsedMs - reading.elapsedMs <= policy.maxAgeMs
        val kept = best
        val replaces = usable && (kept == null || isBetter(reading, kept))
        if (replaces) best = reading
        val shown = best ?: return null
        val quality = quality(shown.accuracyM ?: Double.MAX_VALUE)
        status = LocationStatus.Located(
            reading = shown,
            quality = quality,
            listening = quality != FixQuality.GOOD,
            ageS = (nowElapsedMs - shown.elapsedMs).coerceAtLeast(0) / 1000,
            approximateOnly = !access.fine,
        )
        return if (replaces) reading else null
    }

    /** The app should keep the providers' updates running. */
    val listening: Boolean
        get() = when (val s = status) {
            is LocationStatus.Searching -> true
            is LocationStatus.Located -> s.listening
            else -> false
        }

    private fun quality(accuracyM: Double) = when {
        accuracyM <= policy.goodM -> FixQuality.GOOD
        accuracyM <= policy.weakM -> FixQuality.FAIR
        else -> FixQuality.WEAK
    }

    /**
     * A more accurate reading wins; so does a newer one once the kept one is
     * [LocationPolicy.supersedeAfterMs] older, unless it is much worse
     * (beyond [LocationPolicy.weakM] while the kept one was not): a network
     * fix must not push out a good satellite fix just by being newer.
     */
    private fun isBetter(new: LocationReading, kept: LocationReading): Boolean {
        val newM = new.accuracyM ?: return false
        val keptM = kept.accuracyM ?: return true
        if (new.elapsedMs - kept.elapsedMs >= policy.supersedeAfterMs) {
            return !(newM > policy.weakM && keptM <= policy.weakM)
        }
        return newM < keptM || (newM == keptM && new.elapsedMs > kept.elapsedMs)
    }

    companion object {
        /**
         * The providers to ask, best first: satellites need the fine
         * permission; the network provider works with either; the fused
         * one (Android 12+) is asked too when it exists. Only providers
         * switched on are asked.
         */
        fun providersToAsk(access: LocationAccess): List<LocationProvider> {
            if (!access.fine && !access.coarse) return emptyList()
            return LocationProvider.entries.filter { p ->
                p.androidName in access.enabled && (p != LocationProvider.GPS || access.fine)
            }
        }
    }
}
