#pragma once
// Timestamped log lines to stderr (journald) and an optional log file. Thread-safe.

#include <fmt/format.h>

#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::base {

enum class LogLevel { debug, info, warning, error };

// Returns the level named "debug", "info", "warning"/"warn" or "error"; nullopt otherwise.
std::optional<LogLevel> parse_log_level(std::string_view name);

class Logger {
public:
    explicit Logger(LogLevel level = LogLevel::info);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    void set_level(LogLevel level);
    LogLevel level() const;

    // Appends every line to `path` as well (opened for append per line, so logrotate needs no
    // signal, as with lsyncd). Returns an error when the file cannot be opened now.
    bool set_file(const std::filesystem::path& path, std::string* error);

    void write(LogLevel level, std::string_view message);

    template <class... Args> void debug(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::debug))
            write(LogLevel::debug, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args> void info(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::info))
            write(LogLevel::info, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args> void warning(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::warning))
            write(LogLevel::warning, fmt::format(f, std::forward<Args>(args)...));
    }
    template <class... Args> void error(fmt::format_string<Args...> f, Args&&... args) {
        if (enabled(LogLevel::error))
            write(LogLevel::error, fmt::format(f, std::forward<Args>(args)...));
    }

    bool enabled(LogLevel level) const;

    // Returns up to `count` of the most recent lines written (oldest first, without the line
    // end), for alert mails. The last 200 lines are kept.
    std::vector<std::string> recent_lines(std::size_t count) const;

private:
    mutable std::mutex m_mutex;
    LogLevel m_level;
    std::filesystem::path m_file;
    std::deque<std::string> m_recent;
};

} // namespace fsmirror::base
