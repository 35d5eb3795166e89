// "Did you mean": the known name nearest to a misspelt one, at most two
// edits away (Levenshtein distance); empty when none is that close.
//
// Threading: a pure function.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

namespace litemcp::server {

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

template <class Names>
std::string closest(std::string_view name, const Names& known) {
    std::string best;
    std::size_t best_distance = 3;  // more than two edits: no suggestion
    for (const auto& k : known) {
        const std::string_view candidate(k);
        const auto d = edit_distance(name, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best;
}

// " (did you mean 'x'?)" or "".
template <class Names>
std::string did_you_mean(std::string_view name, const Names& known) {
    auto c = closest(name, known);
    return c.empty() ? std::string() : " (did you mean '" + c + "'?)";
}

}  // namespace litemcp::server
