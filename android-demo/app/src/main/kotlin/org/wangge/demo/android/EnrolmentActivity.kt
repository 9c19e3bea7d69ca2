// The pairing screen: renders EnrolmentViewModel's state. The back office's
// QR code (wangge://enrol?server=…&code=…) opens this screen from the
// phone's camera app (the manifest's intent filter), or its text is pasted;
// the server and code can be typed too. Pairing happens on the officer's tap.
// Also shows where the phone stands: paired, re-paired, or revoked with
// what it kept.
package org.wangge.demo.android

import android.content.Intent
import android.graphics.Color
import android.os.Build
import android.os.Bundle
import android.view.View
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.core.widget.doAfterTextChanged
import androidx.lifecycle.lifecycleScope
import kotlinx.coroutines.launch
import org.wangge.demo.EnrolmentViewModel

class EnrolmentActivity : AppCompatActivity() {
    private lateinit var model: EnrolmentViewModel

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_enrolment)
        val pairing = findViewById<TextView>(R.id.pairing)
        val kept = findViewById<TextView>(R.id.kept)
        val server = findViewById<EditText>(R.id.server)
        val code = findViewById<EditText>(R.id.code)
        val qrText = findViewById<EditText>(R.id.qr_text)
        val error = findViewById<TextView>(R.id.error)
        val pair = findViewById<Button>(R.id.pair)
        val enter = findViewById<Button>(R.id.continue_to_app)

        // The store opens off the main thread: the model exists once it has.
        lifecycleScope.launch {
            model = EnrolmentViewModel(app.storeOffMain(), deviceName = "${Build.MANUFACTURER} ${Build.MODEL}")
            model.load()
            intent?.dataString?.let(model::scanned) // opened from the QR code
            findViewById<Button>(R.id.read_qr).setOnClickListener { model.scanned(qrText.text.toString()) }
            server.doAfterTextChanged { model.typeServer(it?.toString().orEmpty()) }
            code.doAfterTextChanged { model.typeCode(it?.toString().orEmpty()) }
            pair.setOnClickListener {
                lifecycleScope.launch {
                    val session = model.pair() ?: return@launch
                    app.session = session
                    BackgroundWork(this@EnrolmentActivity).start() // the schedule a revocation stopped
                }
            }
            enter.setOnClickListener {
                startActivity(Intent(this@EnrolmentActivity, PatrolListActivity::class.java))
                finish()
            }
            model.state.collect { s ->
                pairing.text = s.pairing
                pairing.setTextColor(if (s.revoked) Color.rgb(0xC6, 0x28, 0x28) else Color.BLACK)
                kept.text = s.kept.orEmpty()
                // The fields follow the state (a scanned code fills them) without echoing the typing.
                if (server.text.toString() != s.serverUrl) server.setText(s.serverUrl)
                if (code.text.toString() != s.code) code.setText(s.code)
                error.text = s.error.orEmpty()
                pair.isEnabled = s.canPair
                pair.text = getString(if (s.busy) R.string.pairing_busy else R.string.pair)
                enter.visibility = if (model.session != null) View.VISIBLE else View.GONE
            }
        }
    }

    /** A second QR code while the screen is open (singleTop). */
    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        if (::model.isInitialized) intent.dataString?.let(model::scanned)
    }
}
