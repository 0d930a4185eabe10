// Exclude patterns and paths: the input is patterns, one per line, then an empty line, then
// paths to test, one per line. A malformed pattern throws std::invalid_argument; matching never
// throws. A crash, another exception, a sanitizer report or a timeout (runaway backtracking) is
// a bug.

#include "engine/exclude_filter.hpp"

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

using fsmirror::engine::EntryKind;
using fsmirror::engine::ExcludeFilter;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    ExcludeFilter filter;
    bool in_patterns = true;
    while (!input.empty()) {
        const std::size_t end = input.find('\n');
        const std::string_view line = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
        if (in_patterns && line.empty()) {
            in_patterns = false;
            continue;
        }
        if (in_patterns) {
            try {
                filter.add_pattern(line);
            } catch (const std::invalid_argument&) {
                // The expected answer to a malformed pattern.
            }
            continue;
        }
        filter.is_excluded(line, EntryKind::file);
        filter.is_excluded(line, EntryKind::directory);
    }
    return 0;
}
