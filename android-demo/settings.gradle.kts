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
    }
}
rootProject.name = "wangge-android-demo"
include(":shared", ":app")
