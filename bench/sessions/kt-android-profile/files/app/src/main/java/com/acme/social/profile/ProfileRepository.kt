package com.acme.social.profile

import com.acme.social.net.ApiCallback
import com.acme.social.net.SocialApi

data class Profile(val id: String, val displayName: String, val bio: String, val followers: Int, val following: Boolean)

class ProfileRepository(private val api: SocialApi) {

    fun loadProfileBlocking(userId: String): Profile {
        val dto = api.getProfile(userId).execute().body() ?: error("empty profile for $userId")
        return Profile(dto.id, dto.displayName, dto.bio.orEmpty(), dto.followers, dto.following)
    }

    fun follow(userId: String, callback: (Result<Int>) -> Unit) {
        api.follow(userId).enqueue(object : ApiCallback<FollowResponse> {
            override fun onSuccess(body: FollowResponse) = callback(Result.success(body.followers))
            override fun onError(t: Throwable) = callback(Result.failure(t))
        })
    }

    fun unfollow(userId: String, callback: (Result<Int>) -> Unit) {
        api.unfollow(userId).enqueue(object : ApiCallback<FollowResponse> {
            override fun onSuccess(body: FollowResponse) = callback(Result.success(body.followers))
            override fun onError(t: Throwable) = callback(Result.failure(t))
        })
    }
}

data class FollowResponse(val followers: Int)
