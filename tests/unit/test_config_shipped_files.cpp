// The YAML files we ship load: the package's default /etc/fsmirror/fsmirror.yml and every
// example. An example that needs a feature still to come (a remote target, issue 3) must fail
// with exactly the loader's "not supported yet" message until that feature is merged, and load
// after it: the test then passes without changes.

#include "config/yaml_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using fsmirror::config::ConfigError;
using fsmirror::config::load_yaml_config_file;

namespace {

const fs::path k_source_dir = FSMIRROR_SOURCE_DIR;

std::vector<fs::path> shipped_yaml_files() {
    std::vector<fs::path> files{k_source_dir / "packaging/fsmirror.yml"};
    for (const auto& entry : fs::directory_iterator(k_source_dir / "examples"))
        if (entry.path().extension() == ".yml" || entry.path().extension() == ".yaml")
            files.push_back(entry.path());
    std::sort(files.begin() + 1, files.end());
    return files;
}

} // namespace

TEST_CASE("the default config and every YAML example load", "[config][packaging]") {
    const auto files = shipped_yaml_files();
    REQUIRE(files.size() >= 4); // default config, local mirror, SSH push, several syncs, SQLite
    for (const auto& file : files) {
        INFO(file.string());
        try {
            const auto config = load_yaml_config_file(file);
            CHECK_FALSE(config.syncs.empty());
        } catch (const ConfigError& error) {
            const std::string message = error.what();
            INFO(message);
            // Remote targets arrive with the SSH transport (issue 3).
            REQUIRE(message.find("remote targets are not supported yet") != std::string::npos);
            WARN(file.filename().string() << " needs a feature not merged yet: " << message);
        }
    }
}

TEST_CASE("the default config is the placeholder local mirror the man page describes",
          "[config][packaging]") {
    const auto config = load_yaml_config_file(k_source_dir / "packaging/fsmirror.yml");
    REQUIRE(config.syncs.size() == 1);
    CHECK(config.syncs[0].name == "storage");
    CHECK(config.syncs[0].source == "/mnt/storage_do_1");
    CHECK(config.syncs[0].target == "/mnt/storage_do_2");
    CHECK(config.syncs[0].delay_seconds == 1.0);
    REQUIRE(config.log.file);
    CHECK(*config.log.file == "/var/log/fsmirror/fsmirror.log");
}
