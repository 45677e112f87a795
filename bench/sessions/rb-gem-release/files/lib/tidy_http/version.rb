module TidyHttp
  VERSION = "2.2.1"
end
