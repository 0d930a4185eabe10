#pragma once
// A Transport that forwards to a real one, records every call in order, and fails the calls a
// test chooses: for faults no real file system produces on demand at a chosen path.

#include "transport/transport.hpp"

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace fsmirror::fakes {

class RecordingTransport final : public transport::Transport {
public:
    // Decides whether call `operation` ("put_file", "rename", ...) on `path` fails, and how.
    using FaultRule =
        std::function<std::optional<base::Error>(const std::string& operation, std::string_view)>;

    explicit RecordingTransport(std::unique_ptr<transport::Transport> real)
        : m_real(std::move(real)) {}

    void set_fault_rule(FaultRule rule) { m_rule = std::move(rule); }

    // "operation path" (or "rename from -> to"), in call order; reads are not recorded.
    std::vector<std::string> calls() const {
        std::lock_guard lock(m_mutex);
        return m_calls;
    }

    std::string describe() const override { return "recording:" + m_real->describe(); }
    base::Status check_root() override { return m_real->check_root(); }
    base::Result<std::optional<transport::EntryInfo>> stat(std::string_view path) override {
        return m_real->stat(path);
    }
    base::Result<std::vector<transport::DirEntry>> list_directory(std::string_view path) override {
        return m_real->list_directory(path);
    }
    base::Status make_directory(std::string_view path, const transport::EntryInfo& info) override {
        if (auto fault = record("make_directory", path))
            return std::unexpected(*fault);
        return m_real->make_directory(path, info);
    }
    base::Result<transport::PutResult>
    put_file(std::string_view path, const transport::SourceFile& source,
             const std::optional<transport::EntryInfo>& existing) override {
        if (auto fault = record("put_file", path))
            return std::unexpected(*fault);
        return m_real->put_file(path, source, existing);
    }
    base::Status put_symlink(std::string_view path, const transport::EntryInfo& info) override {
        if (auto fault = record("put_symlink", path))
            return std::unexpected(*fault);
        return m_real->put_symlink(path, info);
    }
    base::Status rename(std::string_view from, std::string_view to) override {
        if (auto fault = record("rename", std::string(from) + " -> " + std::string(to)))
            return std::unexpected(*fault);
        return m_real->rename(from, to);
    }
    base::Status remove(std::string_view path) override {
        if (auto fault = record("remove", path))
            return std::unexpected(*fault);
        return m_real->remove(path);
    }
    base::Status set_attributes(std::string_view path, const transport::EntryInfo& info) override {
        if (auto fault = record("set_attributes", path))
            return std::unexpected(*fault);
        return m_real->set_attributes(path, info);
    }
    base::Status flush() override { return m_real->flush(); }

private:
    std::optional<base::Error> record(const std::string& operation, std::string_view path) {
        {
            std::lock_guard lock(m_mutex);
            m_calls.push_back(operation + " " + std::string(path));
        }
        return m_rule ? m_rule(operation, path) : std::nullopt;
    }

    std::unique_ptr<transport::Transport> m_real;
    FaultRule m_rule;
    mutable std::mutex m_mutex;
    std::vector<std::string> m_calls;
};

} // namespace fsmirror::fakes
