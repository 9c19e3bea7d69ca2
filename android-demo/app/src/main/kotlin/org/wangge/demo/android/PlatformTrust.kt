// The phone's trust store for the sync's TLS. The Rust library checks the
// server's certificate with rustls-platform-verifier, which on Android asks
// Android's own trust manager (system CAs and the user-installed ones, such
// as a street's government CA) through a small Kotlin component of its own
// (the `rustls:rustls-platform-verifier` AAR, see app/build.gradle.kts).
// That component needs the app's Context, handed over once per process
// through JNI, before the first https:// call.
package org.wangge.demo.android

import android.content.Context
import android.util.Log

object PlatformTrust {
    private const val TAG = "WanggeTrust"

    /**
     * The verifier has its Context. When false, https:// syncs cannot check
     * certificates; the sync screen says so (a build whose native library
     * lacks the entry point below).
     */
    @Volatile
    var ready: Boolean = false
        private set

    /** Hands [context]'s application context to the verifier; safe to call more than once. */
    fun init(context: Context) {
        if (ready) return
        ready = try {
            // The same library JNA loads for the bindings; loading it twice maps it once.
            System.loadLibrary("wangge_ffi")
            nativeInit(context.applicationContext)
            true
        } catch (e: UnsatisfiedLinkError) {
            Log.e(TAG, "libwangge_ffi has no Java_org_wangge_demo_android_PlatformTrust_nativeInit: " +
                "https:// sync cannot verify certificates; rebuild the native library with it", e)
            false
        }
    }

    /**
     * Implemented in the native library (bindings crate, Android only):
     * `rustls_platform_verifier::android::init_with_env(env, context)`.
     */
    @JvmStatic
    private external fun nativeInit(context: Context)
}
