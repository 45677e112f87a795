#include <fmt/core.h>

#include <csignal>
#include <string>
#include <vector>

#include "filter.h"
#include "follower.h"

namespace {
volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }
}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        fmt::print(stderr, "usage: {} FILE [PATTERN...]\n", argv[0]);
        return 2;
    }
    std::vector<std::string> patterns(argv + 2, argv + argc);
    Filter filter(patterns);
    Follower follower(argv[1]);
    std::signal(SIGINT, on_signal);

    std::size_t shown = 0;
    while (!g_stop) {
        for (const auto& line : follower.poll()) {
            if (filter.matches(line)) {
                fmt::print("{}\n", line);
                ++shown;
            }
        }
    }
    fmt::print(stderr, "\n{} lines shown\n", shown);
    return 0;
}
