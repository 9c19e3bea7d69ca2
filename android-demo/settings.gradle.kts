// Android Studio project of the Wangge field app demo. Not built in this
// repository's CI (no Android SDK there): see README.md.
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositories {
        google()
        mavenCentral()
        // rustls-platform-verifier's Kotlin component (app/build.gradle.kts), published by
        // its authors as a Maven repository on GitHub, and only that artifact from it.
        maven {
            url = uri("https://github.com/rustls/rustls-platform-verifier/raw/maven-archive/android-release-support/maven/")
            content { includeGroup("rustls") }
        }
    }
}
rootProject.name = "wangge-android-demo"
include(":shared", ":app")
