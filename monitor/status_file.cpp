#include "monitor/status_file.hpp"

#include "base/unique_fd.hpp"

#include <cerrno>
#include <ctime>
#include <string>

#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fsmirror::monitor {

namespace {

std::string source_with_slash(const std::string& source) {
    return source.ends_with('/') ? source : source + "/";
}

// A path relative to the source as lsyncd shows it: a leading '/', directories ending in '/'.
std::string shown_path(const std::string& relative, bool is_directory) {
    std::string path = "/" + relative;
    if (is_directory && !path.ends_with('/'))
        path += '/';
    return path;
}

std::string time_or(const std::optional<WallTime>& time, std::string_view otherwise) {
    return time ? lsyncd_date(*time) : std::string(otherwise);
}

void append_sync_block(std::string& out, const SyncStatus& sync,
                       const SyncDescription* description) {
    out += fmt::format("{} source={}\n", sync.name, source_with_slash(sync.source));
    out += fmt::format("There are {} delays\n", sync.backlog);
    for (const auto& item : sync.items)
        out += lsyncd_delay_line(item) + "\n";
    out += "Filtering:\n";
    if (description && !description->excludes.empty()) {
        out += "From excludes:\n";
        for (const auto& pattern : description->excludes)
            out += "- " + pattern + "\n";
    } else {
        out += "  nothing.\n";
    }
    out += "\n\n";
}

void append_fsmirror_section(std::string& out, const StatusReport& report) {
    const auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(report.written - report.started);
    out += "\nfsmirror:\n";
    out += fmt::format("  pid {} on {}, up {}, this report is rewritten every {:g} s\n", report.pid,
                       report.hostname, human_duration(uptime),
                       std::chrono::duration<double>(report.status_interval).count());
    for (const auto& sync : report.syncs) {
        out +=
            fmt::format("  sync {}: {}{}, target {}\n", sync.name, to_string(sync.state),
                        sync.initial_sync_done ? "" : " (initial sync not finished)", sync.target);
        std::string oldest = "none";
        if (sync.oldest_pending)
            oldest = human_duration(std::chrono::duration_cast<std::chrono::seconds>(
                report.written - *sync.oldest_pending));
        out += fmt::format("    backlog {} ({} retrying), oldest pending {}\n", sync.backlog,
                           sync.retrying, oldest);
        out += fmt::format("    written {} files ({}), deleted {}, renamed {}, failed {}\n",
                           sync.counters.files_written, human_bytes(sync.counters.bytes_written),
                           sync.counters.entries_removed, sync.counters.renames,
                           sync.counters.failures);
        out += fmt::format("    last success {}\n", time_or(sync.last_success_time, "never"));
        if (sync.databases)
            out +=
                fmt::format("    sqlite: {} snapshots ({} failed), {} database(s) with changes "
                            "not yet mirrored (oldest {:.1f} s), last recovery point {:.1f} s\n",
                            sync.databases->snapshots, sync.databases->snapshot_failures,
                            sync.databases->databases_unmirrored,
                            static_cast<double>(sync.databases->unmirrored_age_ms) / 1000.0,
                            static_cast<double>(sync.databases->last_recovery_point_ms) / 1000.0);
        if (!sync.last_error.empty())
            out += fmt::format("    last error {}: {}\n", time_or(sync.last_error_time, "?"),
                               sync.last_error);
    }
    if (report.alerts.empty()) {
        out += "  health OK\n";
    } else {
        out += fmt::format("  health {}\n", to_string(worst_severity(report.alerts)));
        for (const auto& alert : report.alerts)
            out += fmt::format("    {} {}: {}\n", to_string(alert.severity), to_string(alert.kind),
                               alert.message);
    }
}

} // namespace

const SyncDescription* StatusReport::description(const std::string& name) const {
    for (const auto& description : descriptions)
        if (description.name == name)
            return &description;
    return nullptr;
}

std::string lsyncd_date(WallTime time) {
    const std::time_t seconds = WallClock::to_time_t(time);
    std::tm local{};
    localtime_r(&seconds, &local);
    char buffer[64];
    const std::size_t length = std::strftime(buffer, sizeof buffer, "%a %b %e %H:%M:%S %Y", &local);
    return std::string(buffer, length);
}

std::string lsyncd_delay_line(const BacklogItem& item) {
    const std::string status = to_string(item.status);
    std::string line = status + std::string(status.size() < 7 ? 7 - status.size() : 0, ' ');
    line += item.type;
    line += ' ';
    if (item.type == "Init" || item.type == "Blanket")
        return line;
    line += shown_path(item.path, item.is_directory);
    if (item.type == "Move")
        line += " -> " + shown_path(item.to_path, item.is_directory);
    return line;
}

std::string format_status_file(const StatusReport& report) {
    std::string out = fmt::format("Lsyncd status report at {}\n\n", lsyncd_date(report.written));
    std::size_t watches = 0;
    for (const auto& sync : report.syncs) {
        append_sync_block(out, sync, report.description(sync.name));
        watches += sync.watched_directories ? sync.watched_directories->size() : 0;
    }
    out += fmt::format("Inotify watching {} directories\n", watches);
    std::size_t number = 0;
    for (const auto& sync : report.syncs) {
        if (!sync.watched_directories)
            continue;
        const std::string root = source_with_slash(sync.source);
        for (const auto& directory : *sync.watched_directories)
            out += fmt::format("  {}: {}{}\n", ++number, root,
                               directory.empty() ? "" : directory + "/");
    }
    append_fsmirror_section(out, report);
    return out;
}

base::Status write_file_atomically(const std::filesystem::path& path, std::string_view content,
                                   unsigned mode) {
    std::string temp = path.parent_path() / ("." + path.filename().string() + ".XXXXXX");
    base::UniqueFd fd(::mkostemp(temp.data(), O_CLOEXEC));
    if (!fd.valid())
        return base::fail_errno("cannot create a temporary file for " + path.string());
    const auto cleanup_fail = [&](const std::string& what) {
        const int err = errno;
        ::unlink(temp.c_str());
        return std::unexpected(base::error_from_errno(err, what + " " + path.string()));
    };
    std::size_t done = 0;
    while (done < content.size()) {
        const ssize_t written = ::write(fd.get(), content.data() + done, content.size() - done);
        if (written < 0) {
            if (errno == EINTR)
                continue;
            return cleanup_fail("cannot write");
        }
        done += static_cast<std::size_t>(written);
    }
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
        return cleanup_fail("cannot set the mode of");
    if (::close(fd.release()) != 0)
        return cleanup_fail("cannot write");
    if (::rename(temp.c_str(), path.c_str()) != 0)
        return cleanup_fail("cannot rename a temporary file onto");
    return {};
}

} // namespace fsmirror::monitor
