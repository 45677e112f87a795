package com.acme.links

import io.ktor.http.HttpStatusCode
import io.ktor.server.application.Application
import io.ktor.server.application.call
import io.ktor.server.request.receive
import io.ktor.server.response.respond
import io.ktor.server.response.respondRedirect
import io.ktor.server.routing.get
import io.ktor.server.routing.post
import io.ktor.server.routing.routing
import kotlinx.serialization.Serializable

@Serializable
data class ShortenRequest(val url: String, val slug: String? = null)

@Serializable
data class ShortenResponse(val slug: String, val shortUrl: String)

fun Application.configureRouting(links: LinkService) {
    routing {
        post("/api/links") {
            val req = call.receive<ShortenRequest>()
            if (!req.url.startsWith("http://") && !req.url.startsWith("https://")) {
                call.respond(HttpStatusCode.BadRequest, mapOf("error" to "url must be http(s)"))
                return@post
            }
            val link = links.shorten(req.url, req.slug)
                ?: return@post call.respond(HttpStatusCode.Conflict, mapOf("error" to "slug already taken"))
            call.respond(HttpStatusCode.Created, ShortenResponse(link.slug, link.shortUrl))
        }

        get("/{slug}") {
            val slug = call.parameters["slug"]!!
            val target = links.resolve(slug)
            if (target == null) {
                call.respond(HttpStatusCode.NotFound, "no such link, did you recieve it from someone?")
            } else {
                links.recordHit(slug)
                call.respondRedirect(target, permanent = false)
            }
        }
    }
}
