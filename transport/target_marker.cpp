#include "transport/target_marker.hpp"

#include <fmt/format.h>

namespace fsmirror::transport {

std::string format_marker(const MarkerInfo& info) {
    return fmt::format("# fsmirror: this directory is a mirror written by fsmirror. The daemon\n"
                       "# checks this file before it writes here; do not edit or remove it.\n"
                       "source={}\n"
                       "sync={}\n",
                       info.source, info.sync_name);
}

MarkerInfo parse_marker(std::string_view text) {
    MarkerInfo info;
    while (!text.empty()) {
        auto end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
        if (line.empty() || line.front() == '#')
            continue;
        auto eq = line.find('=');
        if (eq == std::string_view::npos)
            continue;
        auto key = line.substr(0, eq);
        auto value = line.substr(eq + 1);
        if (key == "source")
            info.source = std::string(value);
        else if (key == "sync")
            info.sync_name = std::string(value);
    }
    return info;
}

} // namespace fsmirror::transport
