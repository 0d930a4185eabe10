// Any text as an lsyncd config, run in the Lua sandbox and translated: the loader returns the
// translation or throws ConfigError (Lua errors, the instruction and memory limits included).
// Any other exception, a crash or a sanitizer report is a bug.

#include "config/lua_loader.hpp"
#include "config/yaml_loader.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
        fsmirror::config::load_lsyncd_config_text(text, "fuzz.lua", {}, "/nonexistent-fuzz-base");
    } catch (const fsmirror::config::ConfigError&) {
        // The expected answer to a bad file.
    }
    return 0;
}
