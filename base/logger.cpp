#include "base/logger.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <optional>

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
Logger::~Logger() = default;

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
    std::string line = fmt::format("{} {}: {}\n", timestamp_now(), level_name(level), message);
    std::lock_guard lock(m_mutex);
    m_recent.push_back(line.substr(0, line.size() - 1));
    if (m_recent.size() > k_recent_lines)
        m_recent.pop_front();
    std::fputs(line.c_str(), stderr);
    if (!m_file.empty()) {
        std::ofstream out(m_file, std::ios::app);
        out << line;
    }
}

} // namespace fsmirror::base
