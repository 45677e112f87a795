Gem::Specification.new do |spec|
  spec.name = "tidy_http"
  spec.version = "2.2.1"
  spec.authors = ["Priya Raman"]
  spec.email = ["priya@example.dev"]
  spec.summary = "A small Net::HTTP wrapper with timeouts, retries and JSON by default"
  spec.description = <<~DESC
    tidy_http wraps Net::HTTP with sane defaults: open and read timeouts, JSON request and
    response bodies, and one place to add headers. No dependencies beyond the standard library.
  DESC
  spec.homepage = "https://github.com/praman/tidy_http"
  spec.license = "MIT"
  spec.required_ruby_version = ">= 2.7"
  spec.metadata = {
    "source_code_uri" => spec.homepage,
    "changelog_uri" => "#{spec.homepage}/blob/main/CHANGELOG.md",
    "rubygems_mfa_required" => "true"
  }

  spec.files = `git ls-files -z`.split("\x0").reject { |f| f.start_with?("spec/", ".github/") }
  spec.require_paths = ["lib"]

  spec.add_dependency "json", ">= 2.0"
  spec.add_development_dependency "rspec", "~> 3.13"
  spec.add_development_dependency "webmock", "~> 3.23"
end
