// Enrolment by pairing code against a real server: the back office's CLI
// makes a one-time code (`wangge-server pair`), the phone exchanges it with
// `pair`, keeps the token in its store and syncs with `syncPaired`; a reused
// code is refused; a revocation shows on the phone; plain http:// to another
// host is refused unless allowed.
package org.wangge.tests

import org.wangge.core.Actor
import org.wangge.core.NewCase
import org.wangge.core.model.Role
import org.wangge.core.SyncConfig
import org.wangge.core.WanggeException
import org.wangge.core.cstDay
import org.wangge.core.parsePairingPayload

private fun WanggeException.says(vararg words: String) {
    val text = message ?: ""
    for (w in words) assertThat(text.contains(w)) { "message lacks '$w': $text" }
}

fun pairingTests() = Suite("pairing and transport, against a real server").apply {
    test("a pairing code enrols the phone, which syncs with the token it keeps; a reused code is refused") {
        SyncServer().use { server ->
            val (code, qr) = server.pair(officer.id)
            val payload = parsePairingPayload(qr)
            assertEq(server.url, payload.serverUrl, "server in the QR payload")
            assertEq(code.replace("-", ""), payload.code, "code in the QR payload")

            val phone = TestStore()
            assertEq(null, phone.store.pairedDevice(), "not paired yet")
            val paired = phone.store.pair(payload.serverUrl!!, code.lowercase(), "网格一组-手持09")
            assertEq(phone.deviceId, paired.deviceId, "the store's own device id")
            assertEq("网格一组-手持09", paired.name, "name")
            assertEq(officer.id, paired.person?.staffId, "person")
            assertEq(listOf("XT-B1"), paired.blocks, "blocks")
            assertEq(false, paired.revoked, "not revoked")
            assertThat(!paired.toString().contains("wgt_")) { "the token shows: $paired" }
            // The store acts as the person already, and answers for the block's workstations.
            val stranger = Actor("officer-099", Role.GRID_OFFICER, "网格一组")
            val vendor = NewCase("A02-001", "流动摊贩", gps = fixW01U1())
            assertThrows<WanggeException.NotAllowed> { phone.store.recordCase(stranger, vendor) }
            val id = phone.store.recordCase(officer, vendor)
            val today = cstDay(phone.clock.nowMs())
            assertEq(listOf("XT-W01", "XT-W02", "XT-W03", "XT-W04", "XT-W05"),
                phone.store.workstationsWithoutReport(today), "missing filings of the block only")

            val progress = phone.store.syncPaired()
            assertEq(1L, progress.docsSent, "sent with the kept token")
            assertEq(true, phone.store.caseSyncState(id).onServer, "on the server")

            val other = TestStore()
            assertThrows<WanggeException.PairingRefused> { other.store.pair(server.url, code) }
                .says("pairing_code_used")
            assertEq(null, other.store.pairedDevice(), "nothing kept")
            assertThrows<WanggeException.InvalidInput> { other.store.syncPaired() }
            assertThrows<WanggeException.PairingRefused> { other.store.pair(server.url, "222-22222") }
                .says("pairing_code_unknown")
            assertThrows<WanggeException.InvalidInput> { parsePairingPayload("https://example.org") }

            // Revoked by the back office: the next sync says so, and the phone keeps it.
            server.revoke(phone.deviceId)
            assertThrows<WanggeException.NotAuthorized> { phone.store.syncPaired() }.says("revoked")
            assertEq(true, phone.store.pairedDevice()?.revoked, "revoked shown")
            // The case the server holds is wiped; nothing unsent was there to keep.
            val wipe = phone.store.revocation()
            assertEq(1L, wipe?.wipedDocuments, "the street's data wiped")
            assertEq(0L, wipe?.keptDocuments, "nothing unsent to keep")
            phone.store.close()
            val reopened = phone.reopen()
            assertEq(true, reopened.pairedDevice()?.revoked, "revoked kept")
            // Paired again: the same device, a new token.
            val again = reopened.pair(server.url, server.pair(officer.id).first)
            assertEq(true, again.reenrolled, "re-enrolled")
            assertEq(false, again.revoked, "no longer revoked")
            assertEq(null, reopened.revocation(), "pairing again clears the revocation")
            reopened.syncPaired()

            val log = server.logText()
            assertThat(!log.contains("wgt_") && !log.contains(code)) { "the server's log shows a secret" }
            reopened.close()
            other.store.close()
        }
    }

    test("plain http:// to another host throws InsecureHttp unless allowed") {
        SyncServer().use { server ->
            val phone = TestStore()
            val remote = "http://10.0.0.1:8080"
            assertThrows<WanggeException.InsecureHttp> { phone.store.sync(remote, "wgt_x") }.says("https://")
            assertThrows<WanggeException.InsecureHttp> { phone.store.pair(remote, "ABC-DEFGH") }
            // 0.0.0.0 is not loopback, but reaches the local server: refused, then allowed.
            val any = "http://0.0.0.0:${server.port}"
            val (code, _) = server.pair(officer.id)
            assertThrows<WanggeException.InsecureHttp> { phone.store.pair(any, code) }
            phone.store.setSyncConfig(SyncConfig(allowInsecureHttp = true))
            phone.store.pair(any, code)
            phone.store.syncPaired()
            phone.store.close()
        }
    }
}
