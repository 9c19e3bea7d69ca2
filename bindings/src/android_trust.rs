//! Android only: hands the app's `Context` to `rustls-platform-verifier`, which checks the
//! sync server's certificate with Android's own trust manager (system CAs and the ones the
//! user installed, such as a street's government CA). The app calls
//! `PlatformTrust.nativeInit(context)` once per process, before the first `https://` sync
//! (`android-demo/app/.../PlatformTrust.kt`); until then a verification fails with the
//! verifier's "not initialised" error rather than trusting anything.
//!
//! Compiled only for Android targets (this machine builds none: see android-demo/README.md
//! for the build with the SDK).

use jni::EnvUnowned;
use jni::errors::ThrowRuntimeExAndDefault;
use jni::objects::{JClass, JObject};

/// `org.wangge.demo.android.PlatformTrust.nativeInit(Context)`: a failure becomes a Java
/// `RuntimeException` in the app (never a panic across the JNI boundary).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_wangge_demo_android_PlatformTrust_nativeInit<'local>(
    mut env: EnvUnowned<'local>,
    _class: JClass<'local>,
    context: JObject<'local>,
) {
    env.with_env(|env| rustls_platform_verifier::android::init_with_env(env, context))
        .resolve::<ThrowRuntimeExAndDefault>()
}
