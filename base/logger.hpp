#pragma once
// Timestamped log lines to stderr (journald), an optional log file and optionally syslog, in
// fsmirror's own shape or in lsyncd's (for scripts that grep lsyncd's logs). Thread-safe.

#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace fsmirror::base {

enum class LogLevel { debug, info, warning, error };

// How a line looks.
enum class LogStyle {
    native, // "2026-01-13 12:08:09.123 info: message" everywhere, console on stderr
    // lsyncd's shapes: console "12:08:09 Normal: message" (errors on stderr, the rest on stdout),
    // log file "Tue Jan 13 12:08:09 2026 Normal: message", syslog "Normal, message".
    // Categories: Normal (info), Warn, Error, Debug.
    lsyncd,
};

// Where console lines go.
enum class Console { on, off };

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

    void set_style(LogStyle style);

    // Console::off after detaching from the terminal (lsyncd's daemon mode).
    void set_console(Console console);

    // Also sends every line to syslog with this identifier and facility (a LOG_* facility
    // value), as lsyncd does when detached without a log file.
    void set_syslog(const std::string& ident, int facility);

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
    LogStyle m_style = LogStyle::native;
    Console m_console = Console::on;
    bool m_syslog = false;
    std::string m_syslog_ident; // openlog() keeps the pointer, so it must outlive the logger
    std::filesystem::path m_file;
    std::deque<std::string> m_recent;
};

} // namespace fsmirror::base
