#include "base/rel_path.hpp"

#include <algorithm>

namespace fsmirror::base {

std::string join_rel(std::string_view parent, std::string_view name) {
    if (parent.empty())
        return std::string(name);
    std::string joined;
    joined.reserve(parent.size() + 1 + name.size());
    joined.append(parent).append("/").append(name);
    return joined;
}

std::string parent_rel(std::string_view path) {
    auto slash = path.rfind('/');
    if (slash == std::string_view::npos)
        return {};
    return std::string(path.substr(0, slash));
}

std::string_view base_name(std::string_view path) {
    auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool is_same_or_under(std::string_view path, std::string_view ancestor) {
    if (ancestor.empty())
        return true;
    if (!path.starts_with(ancestor))
        return false;
    return path.size() == ancestor.size() || path[ancestor.size()] == '/';
}

std::size_t depth_rel(std::string_view path) {
    if (path.empty())
        return 0;
    return 1 + static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

std::filesystem::path absolute_in(const std::filesystem::path& root, std::string_view path) {
    if (path.empty())
        return root;
    return root / std::filesystem::path(path);
}

bool is_clean_rel(std::string_view path) {
    if (path.empty())
        return true;
    if (path.front() == '/' || path.find('\0') != std::string_view::npos)
        return false;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto end = path.find('/', start);
        if (end == std::string_view::npos)
            end = path.size();
        auto part = path.substr(start, end - start);
        if (part.empty() || part == "." || part == "..")
            return false;
        start = end + 1;
    }
    return true;
}

} // namespace fsmirror::base
