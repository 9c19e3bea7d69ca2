// The sync screen of a paired phone: renders SyncStatusViewModel.paired's
// state (pending changes, the running sync's progress, the last result, the
// error, the documents the server refused with a retry each), the pairing
// (re-paired, revoked), and the background setting for full photos.
package org.wangge.demo.android

import android.content.Intent
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.LinearLayout
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.appcompat.widget.SwitchCompat
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import kotlinx.coroutines.launch
import org.wangge.demo.BackgroundSyncSettings
import org.wangge.demo.Session
import org.wangge.demo.SyncStatusViewModel

class SyncActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_sync)
        val pairing = findViewById<TextView>(R.id.pairing)
        val status = findViewById<TextView>(R.id.status)
        val error = findViewById<TextView>(R.id.error)
        val syncNow = findViewById<Button>(R.id.sync_now)
        val cancel = findViewById<Button>(R.id.cancel_sync)
        val refused = findViewById<LinearLayout>(R.id.refused)
        val background = BackgroundWork(this)
        findViewById<SwitchCompat>(R.id.full_photos_on_metered).apply {
            isChecked = background.settings.fullPhotosOnMetered
            setOnCheckedChangeListener { _, on -> background.settings = BackgroundSyncSettings(fullPhotosOnMetered = on) }
        }
        findViewById<Button>(R.id.pair_again).setOnClickListener {
            startActivity(Intent(this, EnrolmentActivity::class.java))
        }

        lifecycleScope.launch {
            val session = sessionOrPair() ?: return@launch
            val model = SyncStatusViewModel.paired(session)
            // The sync runs in the activity's scope: leaving the screen cancels it at its
            // next round (kept rounds stay); the background worker sends the rest.
            syncNow.setOnClickListener { model.startSync(lifecycleScope) }
            cancel.setOnClickListener { model.cancelSync() }
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                launch { pairing.text = Session.pairingLine(session.store) + trustLine() }
                model.refresh()
                model.watch(this) // reloads on the store's changes (a background sync, a new case)
                model.state.collect { s ->
                    status.text = listOfNotNull(s.pendingText, s.progressLine, s.lastSync).joinToString("\n")
                    error.text = s.error.orEmpty()
                    syncNow.isEnabled = !s.syncing
                    cancel.visibility = if (s.syncing) View.VISIBLE else View.GONE
                    refused.removeAllViews()
                    s.refused.forEach { row ->
                        refused.addView(TextView(this@SyncActivity).apply {
                            text = "${row.at}  ${row.title}\n${row.reason}：${row.message}"
                        })
                        refused.addView(Button(this@SyncActivity).apply {
                            text = getString(R.string.retry)
                            setOnClickListener {
                                lifecycleScope.launch { if (model.retry(row.docId)) background.syncSoon() }
                            }
                        })
                    }
                    // A sync that learnt of a revocation: the pairing line says so, nobody is signed in.
                    if (s.error != null) pairing.text = Session.pairingLine(session.store) + trustLine()
                }
            }
        }
    }

    private fun trustLine(): String = if (PlatformTrust.ready) "" else "\n" + getString(R.string.trust_not_ready)
}
