// The files the camera app writes into for the new report screen
// (ACTION_IMAGE_CAPTURE into a FileProvider uri). The camera is another
// app: it writes a full-size JPEG into a file this app hands it, and this
// app may be killed meanwhile, so the file's name must survive in the
// activity's saved state, and files of captures that never came back must
// not pile up. Plain files, so it is tested on the JVM.
package org.wangge.demo

import java.io.File
import java.io.IOException
import java.util.UUID

/**
 * The capture files in [dir] (the app's cache, shared with the camera app
 * through the FileProvider path `captures/`). After import the store holds
 * the photo (oriented, downscaled, stripped), so the camera's file is
 * deleted at once: a full-size original with its GPS tags must not linger.
 */
class PhotoCaptures(
    private val dir: File,
    /** Leftovers older than this are swept: a capture the officer abandoned, or the app died during. */
    private val keepMs: Long = 24 * 60 * 60_000L,
) {
    /** A new, empty file for one capture; its [File.getName] is what the activity saves. */
    fun newFile(): File {
        if (!dir.isDirectory && !dir.mkdirs()) {
            throw IOException("cannot create the photo folder $dir: free some storage on the phone, then try again")
        }
        return File(dir, "capture-${UUID.randomUUID()}.jpg")
    }

    /** The capture file of that name (from the saved state); `null` for a name that is not one of ours. */
    fun file(name: String): File? =
        if (NAME.matches(name)) File(dir, name) else null

    /**
     * The camera came back: the photo's bytes, and the file is deleted.
     * `null` when the officer cancelled or the camera wrote nothing (an
     * empty or missing file); the file is deleted then too.
     */
    fun take(file: File): ByteArray? {
        try {
            if (!file.isFile || file.length() == 0L) return null
            return file.readBytes()
        } finally {
            file.delete()
        }
    }

    /** Deletes capture files older than [keepMs] at [nowMs]; returns how many. */
    fun sweep(nowMs: Long): Int {
        val old = dir.listFiles { f -> NAME.matches(f.name) && nowMs - f.lastModified() > keepMs } ?: return 0
        return old.count { it.delete() }
    }

    private companion object {
        val NAME = Regex("capture-[0-9a-f-]{36}\\.jpg")
    }
}
