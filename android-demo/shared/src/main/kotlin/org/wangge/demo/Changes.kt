// The store's changes as a Flow: the listener interface of the bindings
// (`Store.observe`) turned into a cold flow with callbackFlow, so that a
// screen's list reloads when cases, zero reports or the sync state change,
// without polling.
package org.wangge.demo

import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import org.wangge.core.Store
import org.wangge.core.StoreChange
import org.wangge.core.StoreObserver

/** "Everything may have changed": what a collector sees first, to load once. */
val EVERYTHING = StoreChange(cases = emptyList(), allCases = true, zeroReports = emptyList(), syncState = true, photos = true)

/**
 * Every committed change of the store, once per transaction (a sync round
 * that receives fifty cases is one change), starting with [EVERYTHING] once
 * the observer is registered, so a collector that loads on each element
 * misses nothing written between its first load and its registration.
 * Collecting registers an observer; cancelling the collection stops it.
 * The observer is called on the writing thread and only hands the change on.
 */
fun Store.changes(): Flow<StoreChange> = callbackFlow {
    val handle = observe(object : StoreObserver {
        override fun onChange(change: StoreChange) {
            trySend(change)
        }
    })
    trySend(EVERYTHING)
    awaitClose {
        handle.stop()
        handle.close()
    }
}.buffer(Channel.UNLIMITED)

/** Whether a change can alter a case list (its rows or their sync badges). */
fun StoreChange.touchesCaseLists(): Boolean = cases.isNotEmpty() || allCases || syncState
