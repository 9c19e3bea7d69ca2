// The new report screen: renders NewReportViewModel's state. The photo
// comes from the phone's camera app (ACTION_IMAGE_CAPTURE into a
// FileProvider file, PhotoCaptures) or the system photo picker; the fix from
// Android's LocationManager (LocationSource), judged by the view model's
// LocationTracker, which also says when to stop asking.
package org.wangge.demo.android

import android.Manifest
import android.content.ActivityNotFoundException
import android.os.Bundle
import android.view.View
import android.widget.AdapterView
import android.widget.ArrayAdapter
import android.widget.Button
import android.widget.EditText
import android.widget.RadioButton
import android.widget.RadioGroup
import android.widget.Spinner
import android.widget.TextView
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.appcompat.app.AppCompatActivity
import androidx.core.content.FileProvider
import androidx.core.widget.doAfterTextChanged
import androidx.lifecycle.lifecycleScope
import java.io.File
import java.io.IOException
import kotlinx.coroutines.CompletableDeferred
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.ExperimentalCoroutinesApi
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import org.wangge.demo.GridChoice
import org.wangge.demo.NewReportViewModel
import org.wangge.demo.PhotoCaptures

class NewReportActivity : AppCompatActivity() {
    /** Set once the session is read; a photo that comes back first (after the app was killed) waits for it. */
    private val ready = CompletableDeferred<NewReportViewModel>()
    private lateinit var captures: PhotoCaptures
    private lateinit var location: LocationSource

    /** The file the camera app is writing into; kept in the saved state (the app may be killed meanwhile). */
    private var capturing: File? = null

    private val pickPhoto = registerForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) attach { contentResolver.openInputStream(uri)?.use { it.readBytes() } }
    }

    private val takePhoto = registerForActivityResult(ActivityResultContracts.TakePicture()) { _ ->
        // Whatever the camera app answered, the file says whether it wrote a photo.
        val file = capturing ?: return@registerForActivityResult
        capturing = null
        attach { captures.take(file) }
    }

    private val askLocation = registerForActivityResult(ActivityResultContracts.RequestMultiplePermissions()) {
        startLocating()
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContentView(R.layout.activity_new_report)
        captures = PhotoCaptures(File(cacheDir, "captures"))
        location = LocationSource(this)
        capturing = savedInstanceState?.getString(CAPTURING)?.let(captures::file)
        val categories = findViewById<Spinner>(R.id.category)
        val items = findViewById<Spinner>(R.id.item)
        val gridText = findViewById<TextView>(R.id.grid)
        val locationText = findViewById<TextView>(R.id.location)
        val candidates = findViewById<RadioGroup>(R.id.candidates)
        val submit = findViewById<Button>(R.id.submit)
        val photoCount = findViewById<TextView>(R.id.photo_count)
        val error = findViewById<TextView>(R.id.error)

        lifecycleScope.launch {
            val session = sessionOrPair() ?: return@launch
            val model = NewReportViewModel(session).also { ready.complete(it) }
            withContext(Dispatchers.IO) { captures.sweep(System.currentTimeMillis()) }
            val s0 = model.state.value
            categories.adapter = ArrayAdapter(this@NewReportActivity, android.R.layout.simple_spinner_item, s0.categories.map { it.nameZh })
            categories.onItemSelectedListener = selected { i -> model.pickCategory(s0.categories[i].id) }
            items.onItemSelectedListener = selected { i -> model.state.value.items.getOrNull(i)?.let { model.pickItem(it.id) } }
            findViewById<EditText>(R.id.description).doAfterTextChanged { model.describe(it?.toString().orEmpty()) }
            findViewById<Button>(R.id.camera).setOnClickListener { capture() }
            findViewById<Button>(R.id.photo).setOnClickListener {
                pickPhoto.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly))
            }
            submit.setOnClickListener {
                lifecycleScope.launch {
                    if (model.submit() != null) {
                        BackgroundWork(this@NewReportActivity).syncSoon() // to the centre at the next signal
                        finish()
                    }
                }
            }
            if (!location.access().let { it.fine || it.coarse }) {
                askLocation.launch(arrayOf(Manifest.permission.ACCESS_FINE_LOCATION, Manifest.permission.ACCESS_COARSE_LOCATION))
            }
            startLocating()

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
                locationText.text = s.location.line
                val choose = s.grid as? GridChoice.Choose
                if (choose == null) {
                    candidates.removeAllViews()
                } else if (candidates.childCount != choose.candidates.size) {
                    candidates.removeAllViews()
                    choose.candidates.forEach { place ->
                        candidates.addView(RadioButton(this@NewReportActivity).apply {
                            text = place.name
                            isChecked = place.cell == choose.chosen
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

    override fun onSaveInstanceState(outState: Bundle) {
        super.onSaveInstanceState(outState)
        capturing?.let { outState.putString(CAPTURING, it.name) }
    }

    override fun onStart() {
        super.onStart()
        if (ready.isCompleted) startLocating()
    }

    override fun onStop() {
        location.stop()
        super.onStop()
    }

    /** Asks the providers the tracker chose; stops them once it says the fix is good enough. */
    @OptIn(ExperimentalCoroutinesApi::class) // getCompleted, after isCompleted
    private fun startLocating() {
        if (!ready.isCompleted) return
        val model = ready.getCompleted()
        val providers = model.startLocating(location.access())
        location.start(providers) { reading ->
            lifecycleScope.launch {
                if (!model.offerReading(reading, location.nowElapsedMs())) location.stop()
            }
        }
    }

    /** Opens the camera app on a new capture file. */
    private fun capture() {
        try {
            val file = captures.newFile()
            capturing = file
            takePhoto.launch(FileProvider.getUriForFile(this, "$packageName.captures", file))
        } catch (e: ActivityNotFoundException) {
            capturing = null
            findViewById<TextView>(R.id.error).text = getString(R.string.no_camera_app)
        } catch (e: IOException) {
            capturing = null
            findViewById<TextView>(R.id.error).text = e.message
        }
    }

    /** Reads the photo off the main thread and hands it to the view model (which imports it). */
    private fun attach(read: () -> ByteArray?) {
        lifecycleScope.launch {
            val bytes = try {
                withContext(Dispatchers.IO) { read() }
            } catch (e: IOException) {
                findViewById<TextView>(R.id.error).text = getString(R.string.photo_unreadable, e.message)
                null
            }
            if (bytes != null) ready.await().attachPhoto(bytes)
        }
    }

    private fun selected(onPick: (Int) -> Unit) = object : AdapterView.OnItemSelectedListener {
        override fun onItemSelected(parent: AdapterView<*>?, view: View?, position: Int, id: Long) = onPick(position)
        override fun onNothingSelected(parent: AdapterView<*>?) {}
    }

    private companion object {
        const val CAPTURING = "capturing"
    }
}
