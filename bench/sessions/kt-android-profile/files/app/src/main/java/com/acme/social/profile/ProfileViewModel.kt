package com.acme.social.profile

import androidx.lifecycle.LiveData
import androidx.lifecycle.MutableLiveData
import androidx.lifecycle.ViewModel
import com.acme.social.ServiceLocator

class ProfileViewModel : ViewModel() {
    val repository: ProfileRepository = ServiceLocator.profileRepository

    private val _followers = MutableLiveData<Int>()
    val followers: LiveData<Int> = _followers

    private val _error = MutableLiveData<String?>()
    val error: LiveData<String?> = _error

    fun follow(userId: String) {
        repository.follow(userId) { result ->
            result.onSuccess { _followers.postValue(it) }
                .onFailure { _error.postValue(it.message) }
        }
    }
}
