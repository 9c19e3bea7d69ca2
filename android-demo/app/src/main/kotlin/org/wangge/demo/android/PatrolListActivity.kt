// The patrol list screen: renders PatrolListViewModel's state. The
// launcher: a phone nobody is signed in on goes to the pairing screen.
package org.wangge.demo.android

import android.content.Intent
import android.graphics.Color
import android.os.Bundle
import android.view.View
import android.view.ViewGroup
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.ListView
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.lifecycleScope
import androidx.lifecycle.repeatOnLifecycle
import kotlinx.coroutines.launch
import org.wangge.demo.PatrolFilter
import org.wangge.demo.PatrolListViewModel
import org.wangge.demo.PatrolRow

class PatrolListActivity : AppCompatActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_patrol_list)
        val list = findViewById<ListView>(R.id.cases)
        val summary = findViewById<TextView>(R.id.summary)
        val adapter = object : ArrayAdapter<PatrolRow>(this, android.R.layout.simple_list_item_2, android.R.id.text1) {
            override fun getView(position: Int, convertView: View?, parent: ViewGroup): View {
                val view = super.getView(position, convertView, parent)
                val row = getItem(position) ?: return view
                view.findViewById<TextView>(android.R.id.text1).apply {
                    text = "${row.status}  ${row.title} · ${row.grid}"
                    setTextColor(if (row.overdue) Color.RED else Color.BLACK)
                }
                view.findViewById<TextView>(android.R.id.text2).text =
                    "${row.description}\n${row.deadline}" + if (row.holders.isNotEmpty()) " → ${row.holders}" else ""
                return view
            }
        }
        list.adapter = adapter
        list.setOnItemClickListener { _, _, position, _ ->
            adapter.getItem(position)?.let { startActivity(CaseDetailActivity.intent(this, it.caseId)) }
        }
        findViewById<Button>(R.id.new_report).setOnClickListener {
            startActivity(Intent(this, NewReportActivity::class.java))
        }
        findViewById<Button>(R.id.zero_report).setOnClickListener {
            startActivity(Intent(this, ZeroReportActivity::class.java))
        }
        findViewById<Button>(R.id.sync).setOnClickListener {
            startActivity(Intent(this, SyncActivity::class.java))
        }
        lifecycleScope.launch {
            val model = PatrolListViewModel(sessionOrPair() ?: return@launch) // unpaired: the pairing screen
            findViewById<Button>(R.id.overdue).setOnClickListener {
                lifecycleScope.launch { model.show(PatrolFilter.OVERDUE) }
            }
            findViewById<Button>(R.id.mine).setOnClickListener {
                lifecycleScope.launch { model.show(PatrolFilter.MINE) }
            }
            findViewById<Button>(R.id.search_go).setOnClickListener {
                val text = findViewById<EditText>(R.id.search).text.toString()
                lifecycleScope.launch { model.search(text) }
            }
            repeatOnLifecycle(Lifecycle.State.STARTED) {
                // Loads the list, then reloads it on every change of the store (no polling).
                model.watch(this)
                model.state.collect { s ->
                    adapter.clear()
                    adapter.addAll(s.rows)
                    summary.text = getString(R.string.patrol_summary, s.rows.size, s.overdueCount) +
                        (s.error?.let { "\n$it" } ?: "")
                }
            }
        }
    }
}
