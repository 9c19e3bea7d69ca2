// The new report screen: renders NewReportViewModel's state; the GPS fix
// comes from the fused location provider, the photo from the system photo
// picker (the view model imports the bytes off the main thread).
package org.wangge.demo.android

import android.annotation.SuppressLint
import android.os.Bundle
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.Spinner
import android.widget.TextView
import android.widget.AdapterView
import android.view.View
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.widget.doAfterTextChanged
import androidx.lifecycle.lifecycleScope
import com.google.android.gms.location.LocationServices
import com.google.android.gms.location.Priority
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.wangge.core.GpsFix
import org.wangge.demo.GridChoice
import org.wangge.demo.NewReportViewModel

class NewReportActivity : AppCompatActivity() {
    private lateinit var model: NewReportViewModel

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) {
            lifecycleScope.launch {
                val bytes = withContext(Dispatchers.IO) {
                    contentResolver.openInputStream(uri)?.use { it.readBytes() }
                }
                if (bytes != null) model.attachPhoto(bytes)
            }
        }
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_new_report)
        val categories = findViewById<Spinner>(R.id.category)
        val items = findViewById<Spinner>(R.id.item)
        val gridText = findViewById<TextView>(R.id.grid)
        val candidates = findViewById<RadioGroup>(R.id.candidates)
        val submit = findViewById<Button>(R.id.submit)
        val photoCount = findViewById<TextView>(R.id.photo_count)
        val error = findViewById<TextView>(R.id.error)

        lifecycleScope.launch {
            model = NewReportViewModel(withContext(Dispatchers.IO) { session })
            val s0 = model.state.value
            categories.adapter = ArrayAdapter(this@NewReportActivity, android.R.layout.simple_spinner_item, s0.categories.map { it.nameZh })
            categories.onItemSelectedListener = selected { i -> model.pickCategory(s0.categories[i].id) }
            items.onItemSelectedListener = selected { i -> model.state.value.items.getOrNull(i)?.let { model.pickItem(it.id) } }
            findViewById<EditText>(R.id.description).doAfterTextChanged { model.describe(it?.toString().orEmpty()) }
            findViewById<Button>(R.id.photo).setOnClickListener {
                pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
            }
            submit.setOnClickListener { lifecycleScope.launch { if (model.submit() != null) finish() } }
            requestFix()

            var shownItems = emptyList<String>()
            model.state.collect { s ->
                val ids = s.items.map { it.id }
                if (ids != shownItems) {
                    shownItems = ids
                    items.adapter = ArrayAdapter(this@NewReportActivity, android.R.layout.simple_spinner_item, s.items.map { "${it.title}（${it.limits}）" })
                }
                gridText.text = when (val g = s.grid) {
                    is GridChoice.Waiting -> getString(R.string.waiting_for_fix)
                    is GridChoice.Certain -> g.place.name
                    is GridChoice.Choose -> getString(R.string.choose_grid)
                    is GridChoice.Outside -> getString(R.string.outside_street)
                }
                val choose = s.grid as? GridChoice.Choose
                if (choose != null && candidates.childCount != choose.candidates.size) {
                    candidates.removeAllViews()
                    choose.candidates.forEach { place ->
                        candidates.addView(RadioButton(this@NewReportActivity).apply {
                            text = place.name
                            setOnClickListener { model.chooseGrid(place.cell) }
                        })
                    }
                }
                photoCount.text = getString(R.string.photo_count, s.photos.size)
                submit.isEnabled = s.canSubmit
                error.text = s.error.orEmpty()
            }
        }
    }

    @SuppressLint("MissingPermission") // asked for by the launcher flow; without it no fix arrives
    private fun requestFix() {
        LocationServices.getFusedLocationProviderClient(this)
            .getCurrentLocation(Priority.PRIORITY_HIGH_ACCURACY, null)
            .addOnSuccessListener { loc ->
                if (loc != null) {
                    val fix = GpsFix(loc.latitude, loc.longitude, loc.accuracy.toDouble(), loc.time)
                    lifecycleScope.launch { model.locate(fix) }
                }
            }
    }

    private fun selected(onPick: (Int) -> Unit) = object : AdapterView.OnItemSelectedListener {
        override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) = onPick(position)
        override fun onNothingSelected(parent: AdapterView<*>?) {}
    }
}
