#include "safety/path_checks.hpp"

#include <algorithm>
#include <array>
#include <string_view>

namespace fsmirror::safety {

namespace {

bool is_within(const std::filesystem::path& inner, const std::filesystem::path& outer) {
    auto inner_it = inner.begin();
    for (auto outer_it = outer.begin(); outer_it != outer.end(); ++outer_it, ++inner_it) {
        if (outer_it->empty() && std::next(outer_it) == outer.end())
            return true; // a trailing separator
        if (inner_it == inner.end() || *inner_it != *outer_it)
            return false;
    }
    return true;
}

std::filesystem::path without_trailing_separator(const std::filesystem::path& path) {
    auto text = path.lexically_normal().string();
    while (text.size() > 1 && text.back() == '/')
        text.pop_back();
    return text;
}

} // namespace

Overlap classify_overlap(const std::filesystem::path& source, const std::filesystem::path& target) {
    auto s = without_trailing_separator(source);
    auto t = without_trailing_separator(target);
    if (s == t)
        return Overlap::same;
    if (is_within(t, s))
        return Overlap::target_inside_source;
    if (is_within(s, t))
        return Overlap::source_inside_target;
    return Overlap::none;
}

bool is_system_directory(const std::filesystem::path& path) {
    static constexpr std::array<std::string_view, 17> k_system = {
        "/",     "/bin",  "/boot", "/dev",  "/etc", "/home", "/lib", "/lib32", "/lib64",
        "/proc", "/root", "/run",  "/sbin", "/sys", "/usr",  "/var", "/tmp"};
    auto text = without_trailing_separator(path).string();
    return std::find(k_system.begin(), k_system.end(), text) != k_system.end();
}

std::optional<std::string> check_source_target_paths(const std::filesystem::path& source,
                                                     const std::filesystem::path& target) {
    if (is_system_directory(target))
        return "refusing system directory " + target.string() +
               " as a target: mirroring deletes what the source lacks; choose a dedicated "
               "directory";
    switch (classify_overlap(source, target)) {
    case Overlap::same:
        return "source and target are the same directory (" + source.string() +
               "): choose a different target";
    case Overlap::target_inside_source:
        return "target " + target.string() + " lies inside source " + source.string() +
               ": the mirror would copy itself forever; choose a target outside the source";
    case Overlap::source_inside_target:
        return "source " + source.string() + " lies inside target " + target.string() +
               ": mirroring would delete the source's neighbours; choose a target outside it";
    case Overlap::none:
        break;
    }
    return std::nullopt;
}

} // namespace fsmirror::safety
