// A real sync server for the tests: `wangge-server` (built by
// bindings/kotlin-tests/build.sh) started as a process on a free
// 127.0.0.1 port with a database in a temporary folder, devices enrolled
// through its CLI, stopped by close().
package org.wangge.tests

import java.io.File
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** A device enrolled on the server: the id its store must be opened with, and its token. */
data class Enrolment(val deviceId: String, val token: String)

/** A free TCP port on 127.0.0.1 (nothing listens on it once this returns). */
fun freePort(): Int = ServerSocket(0, 0, InetAddress.getByName("127.0.0.1")).use { it.localPort }

/**
 * The `wangge-server` binary: the system property `wangge.server`, else the
 * environment variable `WANGGE_SERVER`, else `target/debug/wangge-server`.
 */
fun serverBinary(): String {
    val path = System.getProperty("wangge.server") ?: System.getenv("WANGGE_SERVER") ?: "target/debug/wangge-server"
    check(File(path).canExecute()) { "the sync server binary $path is missing: cargo build -p wangge-sync-server" }
    return path
}

/** A sync server process serving a fresh database until [close]. */
class SyncServer(dir: Path = tempDir()) : AutoCloseable {
    val db: String = dir.resolve("server.sqlite3").toString()
    val port: Int = freePort()
    val url: String = "http://127.0.0.1:$port"
    private val log: File = dir.resolve("server.log").toFile()
    private val process: Process =
        ProcessBuilder(serverBinary(), "--db", db, "serve", "--listen", "127.0.0.1:$port")
            .redirectErrorStream(true)
            .redirectOutput(log)
            .start()

    init {
        val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20)
        while (true) {
            if (!process.isAlive) error("wangge-server exited (${process.exitValue()}): ${log.readText()}")
            val up = try {
                Socket().use { it.connect(InetSocketAddress("127.0.0.1", port), 200) }
                true
            } catch (_: java.io.IOException) {
                false
            }
            if (up) break
            if (System.nanoTime() > deadline) {
                close()
                error("wangge-server did not listen on $port within 20 s: ${log.readText()}")
            }
            Thread.sleep(50)
        }
    }

    /**
     * Enrols a device through the CLI (`wangge-server enroll`): `role` is
     * `field` or `centre`; `blocks` and `teams` are its scope.
     */
    fun enroll(
        name: String,
        role: String = "field",
        blocks: List<String> = listOf(),
        teams: List<String> = listOf(),
    ): Enrolment {
        val args = mutableListOf(serverBinary(), "--db", db, "enroll", "--name", name, "--role", role)
        if (blocks.isNotEmpty()) args += listOf("--blocks", blocks.joinToString(","))
        if (teams.isNotEmpty()) args += listOf("--teams", teams.joinToString(","))
        val p = ProcessBuilder(args).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "enroll failed: $out" }
        val values = out.lines().mapNotNull { line ->
            val i = line.indexOf('=')
            if (i > 0) line.substring(0, i).trim() to line.substring(i + 1).trim() else null
        }.toMap()
        return Enrolment(
            values["device_id"] ?: error("no device_id in: $out"),
            values["token"] ?: error("no token in: $out"),
        )
    }

    /** Stops the server (and waits for it). */
    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor(10, TimeUnit.SECONDS)
        }
    }
}
