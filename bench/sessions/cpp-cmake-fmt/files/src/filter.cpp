#include "filter.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

Filter::Filter(std::vector<std::string> patterns) {
    for (auto& p : patterns) {
        m_res.emplace_back(p, std::regex::ECMAScript | std::regex::optimize);
        m_labels.push_back(fmt::format("/{}/", p));
    }
}

bool Filter::matches(const std::string& line) const {
    if (m_res.empty()) return true;
    for (const auto& re : m_res) {
        if (std::regex_search(line, re)) return true;
    }
    return false;
}

std::string Filter::describe() const {
    if (m_labels.empty()) return "everything";
    return fmt::format("{}", fmt::join(m_labels, " or "));
}
