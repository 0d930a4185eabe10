#include "base/logger.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <optional>

#include <syslog.h>

namespace fsmirror::base {

namespace {

const char* level_name(LogLevel level) {
    switch (level) {
    case LogLevel::debug:
        return "debug";
    case LogLevel::info:
        return "info";
    case LogLevel::warning:
        return "warning";
    case LogLevel::error:
        return "error";
    }
    return "info";
}

// lsyncd's category names (lsyncd.c: "Normal", "Warn", "Error"; debug output is per category).
const char* lsyncd_category(LogLevel level) {
    switch (level) {
    case LogLevel::debug:
        return "Debug";
    case LogLevel::info:
        return "Normal";
    case LogLevel::warning:
        return "Warn";
    case LogLevel::error:
        return "Error";
    }
    return "Normal";
}

int syslog_priority(LogLevel level) {
    switch (level) {
    case LogLevel::debug:
        return LOG_DEBUG;
    case LogLevel::info:
        return LOG_NOTICE;
    case LogLevel::warning:
        return LOG_WARNING;
    case LogLevel::error:
        return LOG_ERR;
    }
    return LOG_NOTICE;
}

std::tm local_now() {
    std::time_t seconds = std::time(nullptr);
    std::tm local{};
    localtime_r(&seconds, &local);
    return local;
}

// "%T" as lsyncd's console lines have it: "16:54:54".
std::string lsyncd_console_time() {
    std::tm local = local_now();
    char buffer[16];
    std::strftime(buffer, sizeof buffer, "%H:%M:%S", &local);
    return buffer;
}

// ctime() without its newline, as lsyncd's log file lines have it: "Sun Nov 22 16:54:54 2026".
std::string lsyncd_file_time() {
    std::tm local = local_now();
    char buffer[64];
    std::strftime(buffer, sizeof buffer, "%a %b %e %H:%M:%S %Y", &local);
    return buffer;
}

std::string timestamp_now() {
    auto now = std::chrono::system_clock::now();
    auto seconds = std::chrono::system_clock::to_time_t(now);
    auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &local);
    return fmt::format("{}.{:03}", buffer, millis);
}

constexpr std::size_t k_recent_lines = 200;

} // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
    if (name == "debug")
        return LogLevel::debug;
    if (name == "info")
        return LogLevel::info;
    if (name == "warning" || name == "warn")
        return LogLevel::warning;
    if (name == "error")
        return LogLevel::error;
    return std::nullopt;
}

Logger::Logger(LogLevel level) : m_level(level) {}

Logger::~Logger() {
    if (m_syslog)
        ::closelog();
}

void Logger::set_style(LogStyle style) {
    std::lock_guard lock(m_mutex);
    m_style = style;
}

void Logger::set_console(Console console) {
    std::lock_guard lock(m_mutex);
    m_console = console;
}

void Logger::set_syslog(const std::string& ident, int facility) {
    std::lock_guard lock(m_mutex);
    m_syslog_ident = ident;
    ::openlog(m_syslog_ident.c_str(), LOG_PID, facility);
    m_syslog = true;
}

void Logger::set_level(LogLevel level) {
    std::lock_guard lock(m_mutex);
    m_level = level;
}

LogLevel Logger::level() const {
    std::lock_guard lock(m_mutex);
    return m_level;
}

bool Logger::enabled(LogLevel level) const {
    std::lock_guard lock(m_mutex);
    return level >= m_level;
}

bool Logger::set_file(const std::filesystem::path& path, std::string* error) {
    std::ofstream probe(path, std::ios::app);
    if (!probe) {
        if (error)
            *error = fmt::format("cannot open log file {} for appending", path.string());
        return false;
    }
    std::lock_guard lock(m_mutex);
    m_file = path;
    return true;
}

std::vector<std::string> Logger::recent_lines(std::size_t count) const {
    std::lock_guard lock(m_mutex);
    const std::size_t skip = m_recent.size() > count ? m_recent.size() - count : 0;
    return std::vector<std::string>(m_recent.begin() + static_cast<std::ptrdiff_t>(skip),
                                    m_recent.end());
}

void Logger::write(LogLevel level, std::string_view message) {
    std::lock_guard lock(m_mutex);
    // Kept in fsmirror's own shape whatever the style, for alert mails.
    std::string native = fmt::format("{} {}: {}", timestamp_now(), level_name(level), message);
    m_recent.push_back(native);
    if (m_recent.size() > k_recent_lines)
        m_recent.pop_front();
    if (m_style == LogStyle::native) {
        const std::string line = native + "\n";
        if (m_console == Console::on)
            std::fputs(line.c_str(), stderr);
        if (!m_file.empty()) {
            std::ofstream out(m_file, std::ios::app);
            out << line;
        }
    } else {
        const char* category = lsyncd_category(level);
        if (m_console == Console::on) {
            // lsyncd writes errors to stderr and everything else to stdout, one flush per line.
            std::FILE* stream = level == LogLevel::error ? stderr : stdout;
            std::fputs(fmt::format("{} {}: {}\n", lsyncd_console_time(), category, message).c_str(),
                       stream);
            std::fflush(stream);
        }
        if (!m_file.empty()) {
            std::ofstream out(m_file, std::ios::app);
            out << fmt::format("{} {}: {}\n", lsyncd_file_time(), category, message);
        }
    }
    if (m_syslog) {
        std::string text(message);
        if (m_style == LogStyle::lsyncd)
            ::syslog(syslog_priority(level), "%s, %s", lsyncd_category(level), text.c_str());
        else
            ::syslog(syslog_priority(level), "%s", text.c_str());
    }
}

} // namespace fsmirror::base
