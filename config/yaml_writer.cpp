#include "config/yaml_writer.hpp"

#include <cctype>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

namespace fsmirror::config {

namespace {

// A scalar as YAML needs it written (quoted when it could be misread).
std::string scalar(const std::string& text) {
    YAML::Emitter out;
    out << YAML::DoubleQuoted << text;
    // Plain when yaml-cpp would read it back as the same string and nothing else.
    bool plain = !text.empty();
    for (char c : text)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '.' || c == '_' ||
              c == '-' || c == '@'))
            plain = false;
    if (plain && (text == "true" || text == "false" || text == "yes" || text == "no" ||
                  text == "on" || text == "off" || text == "null" || text == "~" ||
                  text.front() == '-' || std::isdigit(static_cast<unsigned char>(text.front()))))
        plain = false;
    return plain ? text : std::string(out.c_str());
}

void comment_lines(std::string& out, const std::vector<std::string>& lines,
                   const std::string& indent) {
    for (const std::string& line : lines) {
        // Long notes are folded at about 96 columns, at blanks.
        std::string rest = line;
        const std::size_t width = 96 - indent.size();
        bool first = true;
        while (!rest.empty()) {
            std::size_t cut = rest.size();
            if (rest.size() > width) {
                cut = rest.rfind(' ', width);
                if (cut == std::string::npos || cut == 0)
                    cut = rest.find(' ', width);
                if (cut == std::string::npos)
                    cut = rest.size();
            }
            out += indent + (first ? "# " : "#   ") + rest.substr(0, cut) + "\n";
            rest = cut < rest.size() ? rest.substr(cut + 1) : "";
            first = false;
        }
    }
}

const char* level_name(base::LogLevel level) {
    switch (level) {
    case base::LogLevel::debug:
        return "debug";
    case base::LogLevel::info:
        return "info";
    case base::LogLevel::warning:
        return "warning";
    case base::LogLevel::error:
        return "error";
    }
    return "info";
}

const char* delete_name(DeleteMode mode) {
    switch (mode) {
    case DeleteMode::always:
        return "true";
    case DeleteMode::never:
        return "false";
    case DeleteMode::startup:
        return "startup";
    case DeleteMode::running:
        return "running";
    }
    return "true";
}

const char* fsync_name(FsyncPolicy policy) {
    switch (policy) {
    case FsyncPolicy::file:
        return "file";
    case FsyncPolicy::batch:
        return "batch";
    case FsyncPolicy::none:
        return "none";
    }
    return "batch";
}

} // namespace

std::string write_yaml_config(const Config& config, const YamlComments& comments) {
    std::string out;
    comment_lines(out, comments.header, "");
    if (!comments.header.empty())
        out += "\n";

    const SyncConfig defaults;
    if (config.log.level != base::LogLevel::info || config.log.file) {
        out += "log:\n";
        out += fmt::format("  level: {}\n", level_name(config.log.level));
        if (config.log.file)
            out += fmt::format("  file: {}\n", scalar(config.log.file->string()));
        out += "\n";
    }
    if (config.status_file) {
        out += fmt::format("status_file: {}\n", scalar(config.status_file->string()));
        out += fmt::format("status_interval: {}\n\n", config.status_interval_seconds);
    }

    out += "syncs:\n";
    for (std::size_t i = 0; i < config.syncs.size(); ++i) {
        const SyncConfig& sync = config.syncs[i];
        if (i > 0)
            out += "\n";
        if (i < comments.per_sync.size())
            comment_lines(out, comments.per_sync[i], "  ");
        out += fmt::format("  - name: {}\n", scalar(sync.name));
        out += fmt::format("    source: {}\n", scalar(sync.source.string()));
        out += fmt::format("    target: {}\n", scalar(sync.target));
        out += fmt::format("    delay: {}\n", sync.delay_seconds);
        if (sync.max_delays != defaults.max_delays)
            out += fmt::format("    max_delays: {}\n", sync.max_delays);
        if (sync.delete_mode != defaults.delete_mode)
            out += fmt::format("    delete: {}\n", delete_name(sync.delete_mode));
        if (!sync.excludes.empty()) {
            out += "    exclude:\n";
            for (const std::string& pattern : sync.excludes)
                out += fmt::format("      - {}\n", scalar(pattern));
        }
        if (sync.exclude_from)
            out += fmt::format("    exclude_from: {}\n", scalar(sync.exclude_from->string()));
        const PreserveOptions& p = sync.preserve;
        if (p.mode != defaults.preserve.mode || p.times != defaults.preserve.times ||
            p.links != defaults.preserve.links || p.owner != defaults.preserve.owner) {
            out += "    preserve:\n";
            out += fmt::format("      mode: {}\n", p.mode);
            out += fmt::format("      times: {}\n", p.times);
            out += fmt::format("      links: {}\n", p.links);
            out +=
                fmt::format("      owner: {}\n", p.owner ? (*p.owner ? "true" : "false") : "auto");
        }
        if (sync.inplace)
            out += "    inplace: true\n";
        if (sync.fsync != defaults.fsync)
            out += fmt::format("    fsync: {}\n", fsync_name(sync.fsync));
        if (sync.workers != defaults.workers)
            out += fmt::format("    workers: {}\n", sync.workers);
        if (sync.remote) {
            const SshSettings& ssh = sync.ssh;
            const SshSettings plain;
            std::string lines;
            if (ssh.identity_file)
                lines +=
                    fmt::format("      identity_file: {}\n", scalar(ssh.identity_file->string()));
            if (ssh.known_hosts)
                lines += fmt::format("      known_hosts: {}\n", scalar(ssh.known_hosts->string()));
            if (ssh.host_key_policy != plain.host_key_policy)
                lines += "      host_key_policy: accept-new\n";
            if (ssh.compression)
                lines += "      compression: true\n";
            if (ssh.connect_timeout_seconds != plain.connect_timeout_seconds)
                lines += fmt::format("      connect_timeout: {}\n", ssh.connect_timeout_seconds);
            if (ssh.keepalive_seconds != plain.keepalive_seconds)
                lines += fmt::format("      keepalive: {}\n", ssh.keepalive_seconds);
            if (ssh.agent_path != plain.agent_path)
                lines += fmt::format("      agent_path: {}\n", scalar(ssh.agent_path));
            if (!lines.empty())
                out += "    ssh:\n" + lines;
        }
    }
    return out;
}

} // namespace fsmirror::config
