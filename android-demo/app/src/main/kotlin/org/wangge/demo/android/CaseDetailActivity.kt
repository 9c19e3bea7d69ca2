// The case detail screen: renders CaseDetailViewModel's state (with the
// case's sync badge, and the server's reason when it refused the case); one
// button per action the signed-in person may take.
package org.wangge.demo.android

import android.content.Context
import android.content.Intent
import android.os.Bundle
import android.widget.Button
import android.widget.EditText
import android.widget.LinearLayout
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import kotlinx.coroutines.launch
import org.wangge.demo.CaseAction
import org.wangge.demo.CaseDetailViewModel
import org.wangge.demo.SyncBadge

class CaseDetailActivity : AppCompatActivity() {
    companion object {
        private const val CASE_ID = "case_id"

        fun intent(context: Context, caseId: String): Intent =
            Intent(context, CaseDetailActivity::class.java).putExtra(CASE_ID, caseId)
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_case_detail)
        val caseId = intent.getStringExtra(CASE_ID) ?: return finish()
        val header = findViewById<TextView>(R.id.header)
        val timeline = findViewById<TextView>(R.id.timeline)
        val actions = findViewById<LinearLayout>(R.id.actions)
        val note = findViewById<EditText>(R.id.note)

        lifecycleScope.launch {
            val model = CaseDetailViewModel(sessionOrPair() ?: return@launch)
            model.load(caseId)
            model.watch(this) // reloads when a sync brings news of the case or its photos
            model.state.collect { s ->
                header.text = listOf(
                    "${s.title} · ${s.status}${if (s.overdue) " · ⚠" else ""}  ${s.caseNumber.orEmpty()}",
                    s.description,
                    getString(R.string.grid_label, s.place),
                    getString(R.string.response_due, s.responseDue),
                    getString(R.string.resolution_due, s.resolutionDue),
                    getString(R.string.holders, s.holders),
                    s.sync?.let { getString(R.string.sync_state, it.label) }.orEmpty() +
                        (s.photoSync?.let { " · $it" } ?: ""),
                    (s.sync as? SyncBadge.Refused)?.message.orEmpty(),
                    s.error.orEmpty(),
                ).joinToString("\n")
                timeline.text = s.timeline.joinToString("\n") { e ->
                    "${e.time}  ${e.what}  ${e.who}" + (e.note?.let { "：$it" } ?: "") +
                        (e.superseded?.let { "（未生效：$it）" } ?: "")
                } + s.photos.joinToString("") { p ->
                    "\n📷 ${p.attachedAt}" + (if (p.warnings.isEmpty()) "" else "  ⚠ " + p.warnings.joinToString("；"))
                }
                actions.removeAllViews()
                s.actions.forEach { action ->
                    actions.addView(Button(this@CaseDetailActivity).apply {
                        text = action.label
                        setOnClickListener {
                            val text = note.text.toString().ifBlank { action.label }
                            lifecycleScope.launch {
                                when (action) {
                                    CaseAction.HANDLE_ON_SPOT -> model.handleOnSpot(text)
                                    CaseAction.ARRIVE -> model.arrive()
                                    CaseAction.FEEDBACK -> model.feedback(text)
                                    CaseAction.VERIFY -> model.verify(passed = true)
                                    CaseAction.COMMENT -> model.comment(text)
                                    CaseAction.RETRY_SYNC -> model.retrySync()
                                }
                            }
                        }
                    })
                }
            }
        }
    }
}
