// Opens the device's store once per process and holds the signed-in
// person's session. Android-only; the logic is in :shared.
package org.wangge.demo.android

import android.app.Activity
import android.app.Application
import android.content.Intent
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.sync.Mutex
import kotlinx.coroutines.sync.withLock
import kotlinx.coroutines.withContext
import org.wangge.core.Store
import org.wangge.core.generateDeviceId
import org.wangge.demo.Session

class WanggeApplication : Application() {
    /** Opened on first use, off the main thread (the activities ask from a coroutine on IO). */
    val store: Store by lazy {
        val prefs = getSharedPreferences("wangge", MODE_PRIVATE)
        // The device id is minted once and kept: the store refuses any other.
        val device = prefs.getString("device_id", null)
            ?: generateDeviceId().also { prefs.edit().putString("device_id", it).apply() }
        // Encrypted at rest with the Keystore-wrapped key (StoreKey); a plain store from an
        // earlier version is encrypted in place at this open.
        val key = StoreKey.get(this)
        try {
            Store.open(File(filesDir, "wangge.sqlite3").path, device, key)
        } finally {
            key.fill(0)
        }
    }

    private val signingIn = Mutex()

    /** The session of the person the phone is paired to; set by [signedIn] and the pairing screen. */
    @Volatile
    var session: Session? = null

    override fun onCreate() {
        super.onCreate()
        // Before any https:// call: the Rust library's TLS verifier asks Android's trust manager.
        PlatformTrust.init(this)
        BackgroundWork(this).start()
    }

    /**
     * The signed-in session, resumed from the store's pairing (offline), or
     * `null` when the phone was never paired or the back office revoked it
     * (a sync learns that): the screens send the officer to pair then.
     */
    suspend fun signedIn(): Session? = signingIn.withLock {
        val paired = withContext(Dispatchers.IO) { store.pairedDevice() }
        if (paired == null || paired.revoked) {
            session = null
            return null
        }
        session ?: Session.resume(store).also { session = it }
    }
}

/** The store, opened off the main thread on first use. */
suspend fun WanggeApplication.storeOffMain(): Store = withContext(Dispatchers.IO) { store }

/** The application, from any activity. */
val Activity.app: WanggeApplication get() = application as WanggeApplication

/**
 * The signed-in session; when nobody is (never paired, or revoked), opens
 * the pairing screen, closes this one and returns `null`.
 */
suspend fun Activity.sessionOrPair(): Session? {
    val session = app.signedIn()
    if (session == null) {
        startActivity(Intent(this, EnrolmentActivity::class.java))
        finish()
    }
    return session
}
