rootProject.name = "kilo-lsp-jetbrains"
