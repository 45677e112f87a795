require_relative "lib/tidy_http/version"

Gem::Specification.new do |spec|
  spec.name = "tidy_http"
  spec.version = TidyHttp::VERSION
  spec.authors = ["Priya Raman"]
  spec.summary = "A small Net::HTTP wrapper with timeouts, retries and JSON by default"
  spec.homepage = "https://github.com/praman/tidy_http"
  spec.license = "MIT"
  spec.required_ruby_version = ">= 2.7"

  spec.files = `git ls-files -z`.split("\x0").reject { |f| f.start_with?("spec/", ".github/") }
  spec.require_paths = ["lib"]

  spec.add_dependency "json", ">= 2.0"
  spec.add_development_dependency "rspec", "~> 3.13"
  spec.add_development_dependency "webmock", "~> 3.23"
end
