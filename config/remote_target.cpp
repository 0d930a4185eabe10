#include "config/remote_target.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>

#include <fmt/format.h>

namespace fsmirror::config {

namespace {

bool is_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
           c == '.' || c == '%';
}

} // namespace

bool looks_remote(std::string_view target) {
    const auto colon = target.find(':');
    return colon != std::string_view::npos && colon < target.find('/');
}

bool is_valid_user(std::string_view user) {
    return !user.empty() && user.size() <= 64 && user.front() != '-' &&
           std::all_of(user.begin(), user.end(), is_name_char);
}

bool is_valid_host(std::string_view host) {
    if (host.empty() || host.size() > 253 || host.front() == '-')
        return false;
    if (host.find(':') != std::string_view::npos)
        return std::all_of(host.begin(), host.end(), is_ipv6_char);
    return std::all_of(host.begin(), host.end(), is_name_char);
}

std::expected<RemoteTarget, std::string> parse_remote_target(std::string_view text) {
    const auto fail = [&](const std::string& reason) {
        return std::unexpected(fmt::format(
            "'{}' is not a remote target of the form [user@]host[:port]:/absolute/path: {}", text,
            reason));
    };
    RemoteTarget target;
    std::string_view rest = text;
    const auto at = rest.find('@');
    if (at != std::string_view::npos && at < rest.find(':')) {
        target.user = std::string(rest.substr(0, at));
        if (!is_valid_user(target.user))
            return fail(fmt::format("invalid user name '{}'", target.user));
        rest.remove_prefix(at + 1);
    }
    if (rest.starts_with('[')) {
        const auto close = rest.find(']');
        if (close == std::string_view::npos)
            return fail("'[' without ']' around the host");
        target.host = std::string(rest.substr(1, close - 1));
        rest.remove_prefix(close + 1);
        if (!rest.starts_with(':'))
            return fail("expected ':' after the host");
    } else {
        const auto colon = rest.find(':');
        if (colon == std::string_view::npos)
            return fail("no ':' after the host");
        target.host = std::string(rest.substr(0, colon));
        rest.remove_prefix(colon);
    }
    if (!is_valid_host(target.host))
        return fail(fmt::format("invalid host '{}'", target.host));
    rest.remove_prefix(1); // the ':'
    const auto colon = rest.find(':');
    const auto digits = rest.substr(0, colon);
    if (colon != std::string_view::npos && !digits.empty() &&
        std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        unsigned port = 0;
        const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (ec != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
            return fail(fmt::format("port '{}' is not a number from 1 to 65535", digits));
        target.port = static_cast<std::uint16_t>(port);
        rest.remove_prefix(colon + 1);
    }
    if (!rest.starts_with('/'))
        return fail("the path on the remote must be absolute");
    if (rest.find('\0') != std::string_view::npos || rest.find('\n') != std::string_view::npos)
        return fail("the path contains a NUL or a newline");
    std::filesystem::path path = std::filesystem::path(rest).lexically_normal();
    std::string normal = path.string();
    while (normal.size() > 1 && normal.back() == '/')
        normal.pop_back();
    target.path = normal;
    return target;
}

std::string to_string(const RemoteTarget& target) {
    std::string text;
    if (!target.user.empty())
        text += target.user + "@";
    text += target.host.find(':') != std::string::npos ? "[" + target.host + "]" : target.host;
    if (target.port != 22)
        text += fmt::format(":{}", target.port);
    return text + ":" + target.path;
}

} // namespace fsmirror::config
