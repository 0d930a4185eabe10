#include "app/preflight_gate.hpp"

#include <utility>

namespace fsmirror::app {

PreflightGate::PreflightGate(std::unique_ptr<transport::Transport> real, Checks checks)
    : m_real(std::move(real)), m_checks(std::move(checks)) {}

base::Status PreflightGate::ensure_checked() {
    std::lock_guard lock(m_mutex);
    if (m_passed)
        return {};
    if (m_refusal)
        return std::unexpected(*m_refusal);
    auto verdict = m_checks(*m_real);
    if (verdict) {
        m_passed = true;
        return {};
    }
    if (verdict.error().kind != base::ErrorKind::transient)
        m_refusal = verdict.error();
    return verdict;
}

std::string PreflightGate::describe() const {
    return m_real->describe();
}

base::Status PreflightGate::check_root() {
    if (auto root = m_real->check_root(); !root)
        return root;
    return ensure_checked();
}

base::Result<std::optional<transport::EntryInfo>> PreflightGate::stat(std::string_view path) {
    return m_real->stat(path);
}

std::vector<base::Result<std::optional<transport::EntryInfo>>>
PreflightGate::stat_many(const std::vector<std::string>& paths) {
    return m_real->stat_many(paths);
}

base::Result<std::vector<transport::DirEntry>>
PreflightGate::list_directory(std::string_view path) {
    return m_real->list_directory(path);
}

base::Status PreflightGate::make_directory(std::string_view path,
                                           const transport::EntryInfo& info) {
    return after_checks([&] { return m_real->make_directory(path, info); });
}

base::Result<transport::PutResult>
PreflightGate::put_file(std::string_view path, const transport::SourceFile& source,
                        const std::optional<transport::EntryInfo>& existing) {
    return after_checks([&] { return m_real->put_file(path, source, existing); });
}

base::Status PreflightGate::put_symlink(std::string_view path, const transport::EntryInfo& info) {
    return after_checks([&] { return m_real->put_symlink(path, info); });
}

base::Status PreflightGate::rename(std::string_view from, std::string_view to) {
    return after_checks([&] { return m_real->rename(from, to); });
}

base::Status PreflightGate::remove(std::string_view path) {
    return after_checks([&] { return m_real->remove(path); });
}

base::Status PreflightGate::set_attributes(std::string_view path,
                                           const transport::EntryInfo& info) {
    return after_checks([&] { return m_real->set_attributes(path, info); });
}

base::Status PreflightGate::flush() {
    return after_checks([&] { return m_real->flush(); });
}

base::Result<transport::ContentDigest> PreflightGate::hash_file(std::string_view path) {
    return m_real->hash_file(path);
}

base::Result<std::string> PreflightGate::read_small_file(std::string_view path,
                                                         std::size_t max_bytes) {
    return m_real->read_small_file(path, max_bytes);
}

base::Result<transport::FileSystemInfo> PreflightGate::file_system() {
    return m_real->file_system();
}

base::Result<transport::DatabaseDigest> PreflightGate::inspect_database(std::string_view path,
                                                                        bool integrity_check) {
    return m_real->inspect_database(path, integrity_check);
}

std::int64_t PreflightGate::mtime_granularity_ns() const {
    return m_real->mtime_granularity_ns();
}

} // namespace fsmirror::app
