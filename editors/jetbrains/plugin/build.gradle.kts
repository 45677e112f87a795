// Build: make dist (the sidecar's wheel, in the repository's dist/), then ./gradlew buildPlugin
// (Gradle 8.10+, JDK 17+; downloads the IntelliJ Platform and LSP4IJ). The wheel goes into the
// plugin's bundled/ folder: the plugin installs the sidecar from it on first run.
plugins {
    id("org.jetbrains.kotlin.jvm") version "2.0.21"
    id("org.jetbrains.intellij.platform") version "2.2.1"
}

group = "dev.kilolsp"
version = providers.gradleProperty("pluginVersion").get()

repositories {
    mavenCentral()
    intellijPlatform { defaultRepositories() }
}

dependencies {
    intellijPlatform {
        intellijIdeaCommunity(providers.gradleProperty("platformVersion"))
        plugin("com.redhat.devtools.lsp4ij", providers.gradleProperty("lsp4ijVersion").get())
    }
}

kotlin { jvmToolchain(17) }

intellijPlatform {
    pluginConfiguration {
        ideaVersion { sinceBuild = "243" }
    }
}

val wheels = fileTree(rootDir.resolve("../../../dist")) { include("kilo_lsp-*.whl") }

tasks.named<Sync>("prepareSandbox") {
    from(wheels) { into("${project.name}/bundled") }
    doFirst { check(!wheels.isEmpty) { "no kilo_lsp wheel in dist/: run `make dist` in the repository first" } }
}
