// The zero report screen for workstation staff: renders ZeroReportViewModel's state.
package org.wangge.demo.android

import android.os.Bundle
import android.widget.Button
import android.widget.EditText
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import kotlinx.coroutines.launch
import org.wangge.demo.ZeroReportViewModel

class ZeroReportActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_zero_report)
        val summary = findViewById<TextView>(R.id.summary)
        val matter = findViewById<EditText>(R.id.matter)

        lifecycleScope.launch {
            val s = sessionOrPair() ?: return@launch
            // The workstation the person answers for, from the pairing.
            val workstation = s.person?.workstations?.firstOrNull()
            if (workstation == null) {
                summary.text = getString(R.string.no_workstation)
                return@launch
            }
            val model = ZeroReportViewModel(s, workstation)
            findViewById<Button>(R.id.nothing).setOnClickListener { lifecycleScope.launch { model.fileNothingToReport() } }
            findViewById<Button>(R.id.record).setOnClickListener {
                val text = matter.text.toString()
                lifecycleScope.launch { model.recordMatter(text) }
            }
            model.load()
            model.state.collect { st ->
                summary.text = buildString {
                    appendLine("${st.workstationName} · ${st.day}")
                    appendLine(st.summary)
                    st.matters.forEach { appendLine("${it.time}  ${it.item ?: "—"}：${it.description}") }
                    appendLine(getString(R.string.pending_workstations, st.workstationsPending))
                    st.error?.let { appendLine(it) }
                }
            }
        }
    }
}
