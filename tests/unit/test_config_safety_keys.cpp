// The safety keys of the YAML configuration (docs/configuration.md).

#include "config/yaml_loader.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::config;

namespace {

const std::string k_sync = "syncs:\n  - source: /a\n    target: /b\n";

std::string error_of(const std::string& text) {
    try {
        load_yaml_config_text(text, "test.yml", "/etc");
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("safety keys have safe defaults", "[config][safety]") {
    auto config = load_yaml_config_text(k_sync, "test.yml", "/etc");
    const auto& sync = config.syncs.at(0);
    CHECK(sync.max_delete_percent == 50);
    CHECK(sync.max_delete_files == 1000);
    CHECK(sync.require_mount == RequireMount::none);
    CHECK(sync.verify_interval_seconds == 0);
    CHECK_FALSE(sync.verify_checksum);
    CHECK_FALSE(config.state_dir);
}

TEST_CASE("safety keys are read per sync, from defaults, and state_dir at the top",
          "[config][safety]") {
    auto config = load_yaml_config_text("state_dir: state\n"
                                        "defaults:\n"
                                        "  max_delete_percent: 20\n"
                                        "  require_mount: both\n" +
                                            k_sync +
                                            "    max_delete_files: 50\n"
                                            "    verify_interval: 3600\n"
                                            "    verify_checksum: true\n"
                                            "  - source: /c\n"
                                            "    target: /d\n"
                                            "    require_mount: source\n",
                                        "test.yml", "/etc/fsmirror");
    REQUIRE(config.syncs.size() == 2);
    CHECK(config.state_dir == std::filesystem::path("/etc/fsmirror/state"));
    CHECK(config.syncs[0].max_delete_percent == 20);
    CHECK(config.syncs[0].max_delete_files == 50);
    CHECK(config.syncs[0].require_mount == RequireMount::both);
    CHECK(config.syncs[0].verify_interval_seconds == 3600);
    CHECK(config.syncs[0].verify_checksum);
    CHECK(config.syncs[1].require_mount == RequireMount::source);
    CHECK(config.syncs[1].max_delete_files == 1000);
}

TEST_CASE("safety keys out of range are refused", "[config][safety]") {
    CHECK(error_of(k_sync + "    max_delete_percent: 0\n") ==
          "test.yml:4:25: 'max_delete_percent' must be an integer from 1 to 100, got '0'");
    CHECK(error_of(k_sync + "    max_delete_percent: 101\n").find("from 1 to 100") !=
          std::string::npos);
    CHECK(error_of(k_sync + "    max_delete_files: 0\n").find("'max_delete_files' must be") !=
          std::string::npos);
    CHECK(error_of(k_sync + "    require_mount: yes\n") ==
          "test.yml:4:20: 'require_mount' must be one of none, source, target, both; got 'yes'");
    CHECK(error_of(k_sync + "    verify_interval: -1\n").find("'verify_interval' must be") !=
          std::string::npos);
    CHECK(error_of(k_sync + "    verify_checksum: yes\n").find("must be true or false") !=
          std::string::npos);
}
