// Any text as fsmirror.yml: the loader returns a Config or throws ConfigError naming the
// mistake. Any other exception, a crash or a sanitizer report is a bug.

#include "config/yaml_loader.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        fsmirror::config::load_yaml_config_text(text, "fuzz.yml", "/nonexistent-fuzz-base");
    } catch (const fsmirror::config::ConfigError&) {
        // The expected answer to a bad file.
    }
    return 0;
}
