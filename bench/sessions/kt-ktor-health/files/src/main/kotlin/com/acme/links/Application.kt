package com.acme.links

import io.ktor.serialization.kotlinx.json.json
import io.ktor.server.application.Application
import io.ktor.server.application.install
import io.ktor.server.engine.embeddedServer
import io.ktor.server.netty.Netty
import io.ktor.server.plugins.callloging.CallLogging
import io.ktor.server.plugins.contentnegotiation.ContentNegotiation

object Config {
    val port: Int by lazy { System.getenv("PORT")?.toInt() ?: 8080 }
    val jdbcUrl: String by lazy { System.getenv("JDBC_URL") ?: "jdbc:postgresql://localhost/links" }
    val baseUrl: String by lazy { System.getenv("BASE_URL") ?: "http://localhost:$port" }
}

fun main() {
    embeddedServer(Netty, port = Config.port, module = Application::module).start(wait = true)
}

fun Application.module() {
    install(ContentNegotiation) { json() }
    install(CallLogging)
    val db = Database(Config.jdbcUrl)
    configureRouting(LinkService(db, Config.baseUrl))
}
