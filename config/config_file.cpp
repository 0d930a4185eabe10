#include "config/config_file.hpp"

#include "config/yaml_loader.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include <fmt/format.h>

namespace fsmirror::config {

std::string read_config_file(const std::filesystem::path& absolute) {
    const auto cannot_read = [&](int err) {
        return ConfigError(
            fmt::format("cannot read config file {}: {}", absolute.string(), std::strerror(err)));
    };
    const std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(std::fopen(absolute.c_str(), "rb"),
                                                               &std::fclose);
    if (!file)
        throw cannot_read(errno);
    std::string text;
    char buffer[65536];
    std::size_t count = 0;
    while ((count = std::fread(buffer, 1, sizeof buffer, file.get())) > 0)
        text.append(buffer, count);
    if (std::ferror(file.get()))
        throw cannot_read(errno);
    return text;
}

} // namespace fsmirror::config
