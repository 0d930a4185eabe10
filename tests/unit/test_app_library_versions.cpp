// `fsmirror --version` names each library with a version number as the library reports it.

#include "app/library_versions.hpp"

#include <cctype>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

using fsmirror::app::library_versions;

TEST_CASE("library versions list librsync, libssh2, sqlite and lua with numbers", "[app]") {
    const auto versions = library_versions();
    std::vector<std::string> names;
    for (const auto& library : versions) {
        names.emplace_back(library.name);
        INFO(library.name << " " << library.version);
        REQUIRE_FALSE(library.version.empty());
        CHECK(std::isdigit(static_cast<unsigned char>(library.version.front())));
        CHECK(library.version.find('.') != std::string::npos);
    }
    CHECK(names == std::vector<std::string>{"librsync", "libssh2", "sqlite", "lua"});
}
