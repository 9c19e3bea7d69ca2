// Opens the device's store once per process and holds the signed-in
// person's session. Android-only; the logic is in :shared.
package org.wangge.demo.android

import android.app.Application
import java.io.File
import org.wangge.core.Actor
import org.wangge.core.Role
import org.wangge.core.Store
import org.wangge.core.generateDeviceId
import org.wangge.demo.Session

class WanggeApplication : Application() {
    /** Opened on first use, off the main thread (the activities ask from a coroutine on IO). */
    val session: Session by lazy {
        val prefs = getSharedPreferences("wangge", MODE_PRIVATE)
        // The device id is minted once and kept: the store refuses any other.
        val device = prefs.getString("device_id", null)
            ?: generateDeviceId().also { prefs.edit().putString("device_id", it).apply() }
        // Encrypted at rest with the Keystore-wrapped key (StoreKey); a plain store from an
        // earlier version is encrypted in place at this open.
        val key = StoreKey.get(this)
        val store = try {
            Store.open(File(filesDir, "wangge.sqlite3").path, device, key)
        } finally {
            key.fill(0)
        }
        // Enrolment (who this is) comes with the sync issue; the demo signs in a grid officer.
        val role = if (prefs.getBoolean("workstation", false)) Role.WORKSTATION_STAFF else Role.GRID_OFFICER
        Session(store, Actor(prefs.getString("staff_id", null) ?: "officer-017", role, "网格一组"))
    }
}

/** The session, from any activity. */
val android.app.Activity.session: Session get() = (application as WanggeApplication).session
