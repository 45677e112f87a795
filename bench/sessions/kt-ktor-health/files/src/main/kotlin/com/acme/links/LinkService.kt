package com.acme.links

import java.security.SecureRandom

data class Link(val slug: String, val target: String, val shortUrl: String)

class LinkService(private val db: Database, private val baseUrl: String) {
    private val random = SecureRandom()
    private val alphabet = "abcdefghijkmnopqrstuvwxyz23456789"

    fun shorten(target: String, wanted: String?): Link? {
        val slug = wanted ?: generateSlug()
        val inserted = db.insertLink(slug, target)
        return if (inserted) Link(slug, target, "$baseUrl/$slug") else null
    }

    fun resolve(slug: String): String? = db.findTarget(slug)

    fun recordHit(slug: String) = db.incrementHits(slug)

    private fun generateSlug(length: Int = 7): String =
        (1..length).map { alphabet[random.nextInt(alphabet.length)] }.joinToString("")
}
