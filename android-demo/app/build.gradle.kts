// The thin Android layer: activities and layouts that render the shared
// view models' state and forward taps to them, the WorkManager worker, the
// LocationManager wrapper, and the TLS verifier's hand-over of the Context.
plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
}

/**
 * The version of rustls-platform-verifier's Kotlin component must be the
 * one the Rust crate was built against (they talk over JNI): read it from
 * the workspace's Cargo.lock (the `rustls-platform-verifier-android` crate).
 */
fun rustlsPlatformVerifierVersion(): String {
    val crate = "rustls-platform-verifier-android"
    val lines = rootProject.file("../Cargo.lock").readLines()
    val at = lines.indexOfFirst { it.trim() == "name = \"$crate\"" }
    return lines.drop(at + 1).firstOrNull { it.trimStart().startsWith("version = ") }
        ?.substringAfter('"')?.substringBefore('"')
        ?.takeIf { at >= 0 && it.isNotEmpty() }
        ?: error("$crate is not in ../Cargo.lock: the Rust library no longer uses rustls-platform-verifier?")
}

android {
    namespace = "org.wangge.demo.android"
    compileSdk = 35
    defaultConfig {
        applicationId = "org.wangge.demo"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1.0"
        ndk { abiFilters += listOf("arm64-v8a", "armeabi-v7a", "x86_64") }
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            // Keeps JNA, the generated bindings and the TLS verifier's component, which R8 would otherwise strip.
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"), "proguard-rules.pro")
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    // libwangge_ffi.so per ABI, built by cargo-ndk (see README.md).
    sourceSets["main"].jniLibs.srcDir("src/main/jniLibs")
}

dependencies {
    implementation(project(":shared"))
    implementation("net.java.dev.jna:jna:5.14.0@aar")
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")
    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.activity:activity-ktx:1.9.3")
    implementation("androidx.appcompat:appcompat:1.7.0")
    implementation("androidx.lifecycle:lifecycle-runtime-ktx:2.8.7")
    implementation("androidx.recyclerview:recyclerview:1.3.2")
    // Background sync (SyncWorker, a CoroutineWorker).
    implementation("androidx.work:work-runtime-ktx:2.10.0")
    // The Kotlin half of the TLS verifier (repository in settings.gradle.kts).
    implementation("rustls:rustls-platform-verifier:${rustlsPlatformVerifierVersion()}")
    // No Google Play services: location comes from Android's own LocationManager.
}
