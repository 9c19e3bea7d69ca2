// The store encrypted at rest: the app passes its 32-byte key as a ByteArray;
// a wrong or missing key is WanggeException.WrongKey, never "corrupt data".
package org.wangge.tests

import java.io.File
import java.security.SecureRandom
import org.wangge.core.Catalog
import org.wangge.core.CaseQuery
import org.wangge.core.NewCase
import org.wangge.core.Store
import org.wangge.core.WanggeException
import org.wangge.core.generateDeviceId

private fun randomKey(): ByteArray = ByteArray(32).also { SecureRandom().nextBytes(it) }

fun encryptionTests() = Suite("the store encrypted with the app's key").apply {
    test("open with a key, reopen with the wrong key → WrongKey, with the right one → every case") {
        val dir = tempDir()
        val path = dir.resolve("store.sqlite3").toString()
        val device = generateDeviceId()
        val key = randomKey()
        Store.openWith(path, device, Catalog.demo(), key = key).use { store ->
            store.recordCase(officer, NewCase("A02-001", "居民楼下流动摊贩占道经营", gps = fixW01U1()))
        }
        val header = File(path).inputStream().use { it.readNBytes(16) }
        assertThat(!header.contentEquals("SQLite format 3\u0000".toByteArray())) { "the file is not plain SQLite" }

        val wrong = key.copyOf().also { it[0] = (it[0].toInt() xor 1).toByte() }
        val e = assertThrows<WanggeException.WrongKey> { Store.open(path, device, wrong) }
        assertThat(e.message.orEmpty().contains("another key")) { "message: ${e.message}" }
        assertThrows<WanggeException.WrongKey> { Store.open(path, device) }
        assertThrows<WanggeException.InvalidInput> { Store.open(path, device, ByteArray(16)) }

        Store.open(path, device, key).use { store ->
            assertEq(listOf("居民楼下流动摊贩占道经营"), store.cases(CaseQuery()).map { it.description }, "cases")
        }
    }

    test("a plain store opened with a key is encrypted in place and keeps its cases") {
        val t = TestStore()
        t.store.recordCase(officer, NewCase("A01-001", "垃圾箱旁暴露垃圾", gps = fixW01U1()))
        t.store.close()
        val key = randomKey()
        Store.openWith(t.path, t.deviceId, Catalog.demo(), t.clock, key).use { store ->
            assertEq(1, store.cases(CaseQuery()).size, "cases after encryption")
        }
        assertThrows<WanggeException.WrongKey> { t.reopen() }
    }
}
