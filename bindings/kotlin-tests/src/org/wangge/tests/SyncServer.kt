// A real sync server for the tests: `wangge-server` (built by
// bindings/kotlin-tests/build.sh) started as a process on a free
// 127.0.0.1 port with a database in a temporary folder, the test roster
// imported and devices enrolled to its people through the CLI, stopped by
// close().
package org.wangge.tests

import java.io.File
import java.net.InetAddress
import java.net.InetSocketAddress
import java.net.ServerSocket
import java.net.Socket
import java.nio.file.Path
import java.util.concurrent.TimeUnit

/** A device enrolled on the server: the id its store must be opened with, and its token. */
data class EnrolledDevice(val deviceId: String, val token: String)

/**
 * A person of the server's register as the roster file lists them
 * (`wangge-server roster import`): role names are the core's
 * (`grid_officer` …); units, blocks and workstations are ids.
 */
data class RosterPerson(
    val staffId: String,
    val name: String,
    val roles: List<String>,
    val units: List<String> = listOf(),
    val blocks: List<String> = listOf(),
    val workstations: List<String> = listOf(),
)

/** The units of the test roster: id → kind. */
val testUnits: List<Pair<String, String>> = listOf(
    "管理中心" to "centre",
    "网格一组" to "grid_team",
    "城管中队" to "department",
)

/** The officer of the fixtures ([officer]) in the register: a grid officer of 网格一组, block XT-B1. */
val officerPerson = RosterPerson(officer.id, "王建国", listOf("grid_officer"), listOf("网格一组"), blocks = listOf("XT-B1"))

/** Workstation XT-W01's staff ([wsStaff]) in the register. */
val wsStaffPerson = RosterPerson(wsStaff.id, "林静", listOf("workstation_staff"), workstations = listOf("XT-W01"))

/**
 * The people of the test roster: the actors of the fixtures (Fixtures.kt),
 * each with the roles and units the tests use them in, so that a device
 * enrolled to one of them may push what that actor records.
 */
val testPeople: List<RosterPerson> = listOf(
    officerPerson,
    wsStaffPerson,
    RosterPerson(centre.id, "周晓燕", listOf("centre"), listOf("管理中心")),
    RosterPerson(cityTeam.id, "陈志强", listOf("handling_unit"), listOf("城管中队")),
    RosterPerson(supervisor.id, "汪德明", listOf("supervisor")),
)

/** A JSON string literal. */
private fun json(text: String): String = buildString {
    append('"')
    for (c in text) {
        when {
            c == '"' -> append("\\\"")
            c == '\\' -> append("\\\\")
            c < ' ' -> append("\\u%04x".format(c.code))
            else -> append(c)
        }
    }
    append('"')
}

private fun json(list: List<String>): String = list.joinToString(",", "[", "]") { json(it) }

/** The roster file for `wangge-server roster import` (format: sync-server/src/roster.rs). */
fun rosterJson(people: List<RosterPerson>, units: List<Pair<String, String>> = testUnits): String {
    val u = units.joinToString(",\n    ") { (id, kind) -> "{\"id\": ${json(id)}, \"kind\": ${json(kind)}}" }
    val p = people.joinToString(",\n    ") {
        "{\"staff_id\": ${json(it.staffId)}, \"name\": ${json(it.name)}, \"roles\": ${json(it.roles)}, " +
            "\"units\": ${json(it.units)}, \"blocks\": ${json(it.blocks)}, \"workstations\": ${json(it.workstations)}}"
    }
    return "{\"units\": [\n    $u\n  ],\n  \"people\": [\n    $p\n  ]}\n"
}

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

/**
 * A sync server process serving a fresh database until [close], with the
 * register of [people] (default: [testPeople]) imported before it starts.
 */
class SyncServer(private val dir: Path = tempDir(), people: List<RosterPerson> = testPeople) : AutoCloseable {
    val db: String = dir.resolve("server.sqlite3").toString()
    val port: Int = freePort()
    val url: String = "http://127.0.0.1:$port"
    private val log: File = dir.resolve("server.log").toFile()
    private var rosters = 0

    init {
        importRoster(people)
    }

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

    /** Runs the server's CLI on this database; returns its output (stdout and stderr). */
    private fun cli(vararg args: String): String {
        val p = ProcessBuilder(listOf(serverBinary(), "--db", db) + args).redirectErrorStream(true).start()
        val out = p.inputStream.bufferedReader().readText()
        check(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0) { "wangge-server ${args.first()} failed: $out" }
        return out
    }

    /**
     * Adds or replaces [people] (and [units]) in the server's register
     * (`wangge-server roster import`), also while it serves: the server
     * reads a device's person at every request, so a changed role applies
     * at the device's next sync.
     */
    fun importRoster(people: List<RosterPerson>, units: List<Pair<String, String>> = testUnits) {
        val file = dir.resolve("roster-${++rosters}.json").toFile()
        file.writeText(rosterJson(people, units))
        cli("roster", "import", file.path)
    }

    /**
     * Enrols a device to the person `person` of the register through the
     * CLI (`wangge-server enroll --person`); its scope is the person's,
     * with `blocks` and `teams` replacing theirs when given.
     */
    fun enroll(
        name: String,
        person: String = officer.id,
        blocks: List<String> = listOf(),
        teams: List<String> = listOf(),
    ): EnrolledDevice {
        val args = mutableListOf("enroll", "--name", name, "--person", person)
        if (blocks.isNotEmpty()) args += listOf("--blocks", blocks.joinToString(","))
        if (teams.isNotEmpty()) args += listOf("--teams", teams.joinToString(","))
        val out = cli(*args.toTypedArray())
        val values = out.lines().mapNotNull { line ->
            val i = line.indexOf('=')
            if (i > 0) line.substring(0, i).trim() to line.substring(i + 1).trim() else null
        }.toMap()
        return EnrolledDevice(
            values["device_id"] ?: error("no device_id in: $out"),
            values["token"] ?: error("no token in: $out"),
        )
    }

    /**
     * Makes a one-time pairing code for the person `person` through the CLI
     * (`wangge-server pair`); returns the code as printed (`ABC-DEFGH`) and
     * the QR payload.
     */
    fun pair(person: String = officer.id, name: String? = null): Pair<String, String> {
        val args = mutableListOf("pair", "--person", person, "--server-url", url)
        if (name != null) args += listOf("--name", name)
        val out = cli(*args.toTypedArray())
        val values = out.lines().mapNotNull { line ->
            val i = line.indexOf('=')
            if (i > 0) line.substring(0, i).trim() to line.substring(i + 1).trim() else null
        }.toMap()
        return (values["code"] ?: error("no code in: $out")) to (values["qr"] ?: error("no qr in: $out"))
    }

    /** Revokes a device through the CLI (`wangge-server revoke`). */
    fun revoke(deviceId: String) {
        cli("revoke", deviceId)
    }

    /** What the server has logged so far. */
    fun logText(): String = log.readText()

    /** Stops the server (and waits for it). */
    override fun close() {
        process.destroy()
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly()
            process.waitFor(10, TimeUnit.SECONDS)
        }
    }
}
