// The store's encryption key on Android: a random 32-byte key, wrapped by an
// AES key that never leaves the Android Keystore, kept in the app's private
// files. The file format and the wrapping are StoreKeyFile (:shared, tested on
// the JVM); this is only the Keystore part.
package org.wangge.demo.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import java.io.File
import java.security.KeyStore
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import org.wangge.demo.StoreKeyFile

object StoreKey {
    private const val ALIAS = "wangge-store-key-wrap"
    private const val FILE = "wangge.storekey"

    /**
     * The key to open the store with (`Store.open(path, device, key)`), created on
     * first use. Call off the main thread (the Keystore may take tens of ms).
     * Throws StoreKeyException when the file no longer unwraps (the Keystore key was
     * lost, e.g. the app's data restored on another phone): the store cannot be read.
     */
    fun get(context: Context): ByteArray =
        StoreKeyFile.loadOrCreate(File(context.noBackupFilesDir, FILE), wrappingKey())

    /** The Keystore's AES-256-GCM key, generated inside it on first use; its bytes are never exposed. */
    private fun wrappingKey(): SecretKey {
        val keyStore = KeyStore.getInstance("AndroidKeyStore").apply { load(null) }
        (keyStore.getKey(ALIAS, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, "AndroidKeyStore")
        generator.init(
            KeyGenParameterSpec.Builder(ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }
}
