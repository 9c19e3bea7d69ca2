// The plain-Kotlin layer: view models over the generated bindings. The same
// sources are compiled and tested on a desktop JVM by scripts/test-kotlin.sh.
plugins {
    id("org.jetbrains.kotlin.jvm")
}

kotlin {
    jvmToolchain(17)
    sourceSets["main"].kotlin.srcDir("../../bindings/kotlin") // bash bindings/generate.sh
}

dependencies {
    implementation("org.jetbrains.kotlinx:kotlinx-coroutines-core:1.9.0")
    // The JVM jar to compile against; the app ships JNA's Android aar.
    compileOnly("net.java.dev.jna:jna:5.14.0")
}
