#include "transport/temp_name.hpp"

#include <atomic>
#include <random>

#include <fmt/format.h>

namespace fsmirror::transport {

namespace {
constexpr std::string_view k_prefix = ".fsmirror-";
constexpr std::string_view k_suffix = ".tmp";
constexpr std::size_t k_hex_digits = 16;
} // namespace

std::string make_temp_name() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    return fmt::format("{}{:016x}{}", k_prefix, generator(), k_suffix);
}

bool is_temp_name(std::string_view name) {
    if (name.size() != k_prefix.size() + k_hex_digits + k_suffix.size())
        return false;
    if (!name.starts_with(k_prefix) || !name.ends_with(k_suffix))
        return false;
    for (char c : name.substr(k_prefix.size(), k_hex_digits))
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

} // namespace fsmirror::transport
