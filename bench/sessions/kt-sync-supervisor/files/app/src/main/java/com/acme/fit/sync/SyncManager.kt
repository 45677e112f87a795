package com.acme.fit.sync

import android.util.Log
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.coroutineScope
import kotlinx.coroutines.launch
import kotlinx.coroutines.supervisorScope
import kotlinx.coroutines.withTimeout

class SyncManager(
    private val workouts: WorkoutRepository,
    private val heartRate: HeartRateRepository,
    private val profile: ProfileRepository,
    private val scope: CoroutineScope,
) {
    data class Report(val workouts: Int, val samples: Int, val profileSynced: Boolean, val errors: List<String>)

    fun syncInBackground(onDone: (Report) -> Unit) {
        scope.launch(Dispatchers.IO) {
            onDone(syncAll())
        }
    }

    suspend fun syncAll(): Report = supervisorScope {
        val errors = mutableListOf<String>()
        val w = async { withTimeout(30_000) { workouts.pushPending() } }
        val hr = async { withTimeout(60_000) { heartRate.uploadSince(heartRate.lastUploaded()) } }
        val p = async { profile.sync() }

        val workoutCount = runCatching { w.await() }.getOrElse { errors += "workouts: ${it.message}"; 0 }
        val sampleCount = runCatching { hr.await() }.getOrElse { errors += "heart rate: ${it.message}"; 0 }
        val profileOk = runCatching { p.await() }.getOrElse { errors += "profile: ${it.message}"; false }
        Report(workoutCount, sampleCount, profileOk, errors)
    }

    suspend fun refreshDashboard(): List<Any> = coroutineScope {
        listOf(
            async { workouts.recent(7) },
            async { heartRate.restingTrend(30) },
            async { profile.current() },
        ).awaitAll().also { Log.d(TAG, "dashboard refreshed") }
    }

    companion object {
        private const val TAG = "SyncManager"
    }
}
