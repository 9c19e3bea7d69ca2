// The store key file (StoreKeyFile) on the JVM, with a plain JCE AES key in
// place of the Android Keystore's: created once and read back, never holding
// the key in the clear, refused when damaged, of another version or wrapped by
// another key; and the key it gives opens an encrypted store.
package org.wangge.demo.tests

import java.io.File
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.wangge.core.CaseQuery
import org.wangge.core.NewCase
import org.wangge.core.Store
import org.wangge.core.WanggeException
import org.wangge.core.generateDeviceId
import org.wangge.demo.StoreKeyException
import org.wangge.demo.StoreKeyFile
import org.wangge.tests.Suite
import org.wangge.tests.assertEq
import org.wangge.tests.assertThat
import org.wangge.tests.assertThrows
import org.wangge.tests.fixW01U1
import org.wangge.tests.officer
import org.wangge.tests.tempDir

private fun aesKey(): SecretKey = KeyGenerator.getInstance("AES").apply { init(256) }.generateKey()

private fun ByteArray.containsSlice(part: ByteArray): Boolean =
    (0..size - part.size).any { at -> part.indices.all { this[at + it] == part[it] } }

fun storeKeyTests() = Suite("the store key, wrapped").apply {
    test("created once, read back the same, never in the clear in its file") {
        val file = tempDir().resolve("wangge.storekey").toFile()
        val wrapping = aesKey()
        val key = StoreKeyFile.loadOrCreate(file, wrapping)
        assertEq(StoreKeyFile.KEY_BYTES, key.size, "key length")
        assertThat(key.toHashSet().size > 8) { "the key is random bytes" }
        assertThat(key.contentEquals(StoreKeyFile.loadOrCreate(file, wrapping))) { "the same key comes back" }
        val stored = file.readBytes()
        assertEq(StoreKeyFile.VERSION, stored[0].toInt(), "version byte")
        assertThat(!stored.containsSlice(key.copyOfRange(0, 8))) { "the file does not hold the key in the clear" }
        assertThat(!File(file.path + ".tmp").exists()) { "no temporary file left" }
    }

    test("another wrapping key, a damaged file, another version → StoreKeyException") {
        val file = tempDir().resolve("wangge.storekey").toFile()
        val wrapping = aesKey()
        StoreKeyFile.loadOrCreate(file, wrapping)
        val stored = file.readBytes()
        val e = assertThrows<StoreKeyException> { StoreKeyFile.unwrap(stored, aesKey()) }
        assertThat(e.message.orEmpty().contains("keystore key")) { "message: ${e.message}" }
        val flipped = stored.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
        assertThrows<StoreKeyException> { StoreKeyFile.unwrap(flipped, wrapping) }
        val v2 = stored.copyOf().also { it[0] = 2 }
        assertThat(assertThrows<StoreKeyException> { StoreKeyFile.unwrap(v2, wrapping) }.message.orEmpty().contains("version 2")) {
            "names the version"
        }
        assertThrows<StoreKeyException> { StoreKeyFile.unwrap(stored.copyOf(20), wrapping) }
        assertThrows<StoreKeyException> { StoreKeyFile.unwrap(ByteArray(0), wrapping) }
    }

    test("the key opens an encrypted store; a new key (the keystore's lost) does not") {
        val dir = tempDir()
        val path = dir.resolve("wangge.sqlite3").toString()
        val device = generateDeviceId()
        val key = StoreKeyFile.loadOrCreate(dir.resolve("wangge.storekey").toFile(), aesKey())
        Store.open(path, device, key).use { it.recordCase(officer, NewCase("A02-001", "流动摊贩", gps = fixW01U1())) }
        Store.open(path, device, key).use { assertEq(1, it.cases(CaseQuery()).size, "cases") }
        val lost = StoreKeyFile.loadOrCreate(dir.resolve("other.storekey").toFile(), aesKey())
        assertThrows<WanggeException.WrongKey> { Store.open(path, device, lost) }
    }
}
