#include "transport/dry_run_transport.hpp"

#include "base/rel_path.hpp"

#include <ctime>

#include <fmt/format.h>

namespace fsmirror::transport {

namespace {

std::string shown(std::string_view path) {
    return "/" + std::string(path);
}

std::string format_mtime(std::int64_t ns) {
    std::time_t seconds = static_cast<std::time_t>(ns / 1'000'000'000);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
    return fmt::format("{}.{:09}Z", text, ns % 1'000'000'000);
}

} // namespace

DryRunTransport::DryRunTransport(std::unique_ptr<Transport> real, std::string description,
                                 AttributePolicy attributes, Report report)
    : m_real(std::move(real)), m_description(std::move(description)), m_attributes(attributes),
      m_report(std::move(report)) {}

std::string DryRunTransport::describe() const {
    return m_description + " (dry run)";
}

void DryRunTransport::say(const std::string& line) {
    std::lock_guard lock(m_mutex);
    m_report(line);
}

bool DryRunTransport::is_planned_directory(std::string_view path) const {
    std::lock_guard lock(m_mutex);
    return m_planned_directories.contains(path);
}

base::Result<std::optional<EntryInfo>> DryRunTransport::real_stat(std::string_view path) {
    if (!m_real)
        return std::optional<EntryInfo>{};
    return m_real->stat(path);
}

base::Status DryRunTransport::check_root() {
    if (!m_real)
        return {};
    return m_real->check_root();
}

base::Result<std::optional<EntryInfo>> DryRunTransport::stat(std::string_view path) {
    return real_stat(path);
}

base::Result<std::vector<DirEntry>> DryRunTransport::list_directory(std::string_view path) {
    if (!m_real || is_planned_directory(path))
        return std::vector<DirEntry>{};
    return m_real->list_directory(path);
}

base::Status DryRunTransport::make_directory(std::string_view path, const EntryInfo& info) {
    if (path.empty()) {
        if (!m_real && !is_planned_directory(path)) {
            say(fmt::format("mkdir {} (the target root)", m_description));
            std::lock_guard lock(m_mutex);
            m_planned_directories.emplace(path);
        }
        return {};
    }
    auto existing = real_stat(path);
    if (!existing)
        return std::unexpected(existing.error());
    if (*existing && (*existing)->type == EntryType::directory)
        return {};
    if (is_planned_directory(path))
        return {};
    if (*existing)
        say(fmt::format("delete {} ({}, replaced by a directory)", shown(path),
                        to_string((*existing)->type)));
    say(fmt::format("mkdir {} (mode {:04o})", shown(path), info.mode));
    std::lock_guard lock(m_mutex);
    m_planned_directories.emplace(path);
    return {};
}

base::Result<PutResult> DryRunTransport::put_file(std::string_view path, const SourceFile& source,
                                                  const std::optional<EntryInfo>& existing) {
    const auto size = source.info.size;
    if (existing && existing->type == EntryType::file) {
        say(fmt::format("delta {} ({} bytes; only changed blocks written over the {} on the "
                        "target)",
                        shown(path), size, existing->size));
        return PutResult{size, true};
    }
    if (existing)
        say(fmt::format("delete {} ({}, replaced by a file)", shown(path),
                        to_string(existing->type)));
    say(fmt::format("copy {} ({} bytes)", shown(path), size));
    return PutResult{size, false};
}

base::Status DryRunTransport::put_symlink(std::string_view path, const EntryInfo& info) {
    say(fmt::format("symlink {} -> {}", shown(path), info.link_target));
    return {};
}

base::Status DryRunTransport::rename(std::string_view from, std::string_view to) {
    auto existing = real_stat(from);
    if (!existing)
        return std::unexpected(existing.error());
    if (!*existing && !is_planned_directory(from))
        return base::fail(base::ErrorKind::not_found, "nothing to rename at " + shown(from));
    say(fmt::format("rename {} -> {}", shown(from), shown(to)));
    return {};
}

base::Status DryRunTransport::remove(std::string_view path) {
    auto existing = real_stat(path);
    if (!existing)
        return std::unexpected(existing.error());
    if (!*existing)
        return {};
    say(fmt::format("delete {} ({})", shown(path), to_string((*existing)->type)));
    return {};
}

base::Status DryRunTransport::set_attributes(std::string_view path, const EntryInfo& info) {
    if (is_planned_directory(path))
        return {}; // its mode was shown with the mkdir
    auto existing = real_stat(path);
    if (!existing)
        return std::unexpected(existing.error());
    if (!*existing)
        return {};
    const EntryInfo& now = **existing;
    std::string verb;
    std::string details;
    auto add = [&](const char* name, const std::string& change) {
        if (verb.empty())
            verb = name;
        details += (details.empty() ? "" : ", ") + change;
    };
    if (m_attributes.mode && info.type != EntryType::symlink && info.mode != now.mode)
        add("chmod", fmt::format("mode {:04o} -> {:04o}", now.mode, info.mode));
    if (m_attributes.times && info.mtime_ns != now.mtime_ns)
        add("touch",
            fmt::format("mtime {} -> {}", format_mtime(now.mtime_ns), format_mtime(info.mtime_ns)));
    if (m_attributes.owner && (info.uid != now.uid || info.gid != now.gid))
        add("chown", fmt::format("owner {}:{} -> {}:{}", now.uid, now.gid, info.uid, info.gid));
    if (!verb.empty())
        say(fmt::format("{} {} ({})", verb, shown(path), details));
    return {};
}

base::Status DryRunTransport::flush() {
    return {};
}

base::Result<ContentDigest> DryRunTransport::hash_file(std::string_view path) {
    if (!m_real)
        return base::fail(base::ErrorKind::not_found, "no target yet: " + shown(path));
    return m_real->hash_file(path);
}

base::Result<std::string> DryRunTransport::read_small_file(std::string_view path,
                                                           std::size_t max_bytes) {
    if (!m_real)
        return base::fail(base::ErrorKind::not_found, "no target yet: " + shown(path));
    return m_real->read_small_file(path, max_bytes);
}

base::Result<FileSystemInfo> DryRunTransport::file_system() {
    if (!m_real)
        return base::fail(base::ErrorKind::not_found, "no target yet: " + m_description);
    return m_real->file_system();
}

base::Result<DatabaseDigest> DryRunTransport::inspect_database(std::string_view path,
                                                               bool integrity_check) {
    if (!m_real)
        return base::fail(base::ErrorKind::not_found, "no target yet: " + shown(path));
    return m_real->inspect_database(path, integrity_check);
}

std::int64_t DryRunTransport::mtime_granularity_ns() const {
    return m_real ? m_real->mtime_granularity_ns() : 1;
}

} // namespace fsmirror::transport
