#include "app/control_files.hpp"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

namespace fsmirror::app {

namespace fs = std::filesystem;

namespace {

constexpr const char* k_paused = "paused";
constexpr const char* k_resume = "resume";

std::string utc_now() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    ::gmtime_r(&now, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

// Writes `text` to `path` through a temp file and rename, so a reader never sees half of it.
base::Status write_atomically(const fs::path& path, const std::string& text) {
    std::error_code ec;
    fs::create_directories(path.parent_path(), ec);
    if (ec)
        return base::fail(base::error_kind_from_errno(ec.value()),
                          "create " + path.parent_path().string() + ": " + ec.message(),
                          ec.value());
    const fs::path temp = path.string() + ".tmp";
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return base::fail_errno("create " + temp.string());
    const char* data = text.data();
    std::size_t left = text.size();
    while (left > 0) {
        ssize_t n = ::write(fd, data, left);
        if (n < 0) {
            ::close(fd);
            return base::fail_errno("write " + temp.string());
        }
        data += n;
        left -= static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (::rename(temp.c_str(), path.c_str()) != 0)
        return base::fail_errno("rename " + temp.string());
    return {};
}

} // namespace

fs::path resolve_state_dir(const std::optional<fs::path>& flag,
                           const std::optional<fs::path>& configured) {
    if (flag)
        return *flag;
    if (configured)
        return *configured;
    if (const char* from_systemd = std::getenv("STATE_DIRECTORY"); from_systemd && *from_systemd) {
        std::string first(from_systemd);
        if (auto colon = first.find(':'); colon != std::string::npos)
            first.resize(colon);
        if (!first.empty())
            return first;
    }
    return "/var/lib/fsmirror";
}

ControlFiles::ControlFiles(fs::path state_dir) : m_state_dir(std::move(state_dir)) {}

fs::path ControlFiles::sync_dir(const std::string& sync_name) const {
    return m_state_dir / sync_name;
}

base::Status ControlFiles::write_paused(const std::string& sync_name,
                                        const engine::SessionStatus& status) {
    std::string text =
        fmt::format("state={}\n"
                    "reason={}\n"
                    "held_deletions={}\n"
                    "since={}\n"
                    "resume=fsmirror resume --name {} --state-dir {}\n",
                    engine::to_string(status.state), status.reason, status.held_deletions,
                    utc_now(), sync_name, m_state_dir.string());
    return write_atomically(sync_dir(sync_name) / k_paused, text);
}

void ControlFiles::clear_paused(const std::string& sync_name) {
    std::error_code ec;
    fs::remove(sync_dir(sync_name) / k_paused, ec);
}

std::optional<std::string> ControlFiles::read_paused(const std::string& sync_name) const {
    std::ifstream in(sync_dir(sync_name) / k_paused);
    if (!in)
        return std::nullopt;
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

base::Status ControlFiles::request_resume(const std::string& sync_name) {
    return write_atomically(sync_dir(sync_name) / k_resume,
                            fmt::format("requested={}\n", utc_now()));
}

bool ControlFiles::resume_pending(const std::string& sync_name) const {
    std::error_code ec;
    return fs::exists(sync_dir(sync_name) / k_resume, ec);
}

bool ControlFiles::take_resume_request(const std::string& sync_name) {
    std::error_code ec;
    return fs::remove(sync_dir(sync_name) / k_resume, ec);
}

void ControlFiles::clear_stale(const std::string& sync_name) {
    std::error_code ec;
    fs::remove(sync_dir(sync_name) / k_resume, ec);
    fs::remove(sync_dir(sync_name) / k_paused, ec);
}

} // namespace fsmirror::app
