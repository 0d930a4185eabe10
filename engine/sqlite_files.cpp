#include "engine/sqlite_files.hpp"

#include <algorithm>
#include <array>

namespace fsmirror::engine {

namespace {

constexpr std::array<unsigned char, 16> k_magic = {'S', 'Q', 'L', 'i', 't', 'e', ' ', 'f',
                                                   'o', 'r', 'm', 'a', 't', ' ', '3', '\0'};

struct Suffix {
    std::string_view text;
    CompanionKind kind;
};

constexpr std::array<Suffix, 3> k_suffixes = {Suffix{"-wal", CompanionKind::wal},
                                              Suffix{"-shm", CompanionKind::shm},
                                              Suffix{"-journal", CompanionKind::journal}};

std::string_view suffix_of(CompanionKind kind) {
    for (const auto& suffix : k_suffixes)
        if (suffix.kind == kind)
            return suffix.text;
    return {};
}

} // namespace

DatabaseFormat classify_header(std::span<const unsigned char> first_bytes) {
    if (first_bytes.size() < k_sqlite_header_bytes ||
        !std::equal(k_magic.begin(), k_magic.end(), first_bytes.begin()))
        return DatabaseFormat::not_database;
    // Offsets 18 and 19: the file format write and read versions, 1 = legacy (rollback
    // journal), 2 = WAL. SQLite sets both together.
    if (first_bytes[18] == 2 && first_bytes[19] == 2)
        return DatabaseFormat::wal;
    return DatabaseFormat::rollback;
}

std::optional<Companion> companion_of(std::string_view path) {
    const auto slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    for (const auto& suffix : k_suffixes) {
        if (name.size() > suffix.text.size() && name.ends_with(suffix.text))
            return Companion{std::string(path.substr(0, path.size() - suffix.text.size())),
                             suffix.kind};
    }
    return std::nullopt;
}

std::string companion_path(std::string_view database, CompanionKind kind) {
    return std::string(database) + std::string(suffix_of(kind));
}

} // namespace fsmirror::engine
