// The per-sync part of fsmirror.yml: the 'defaults' mapping and each item of the 'syncs' list,
// with their options (delay, delete, exclude, preserve, ssh, sqlite, target, ...). A sync with a
// list of targets becomes one SyncConfig per target.

#include "config/yaml_sync_sections.hpp"

#include "config/remote_target.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace fsmirror::config {

namespace {

constexpr unsigned k_max_workers = 64;
constexpr std::string_view k_sync_keys =
    "name, source, target, delay, max_delays, delete, exclude, exclude_from, preserve, inplace, "
    "fsync, workers, ssh, sqlite, max_delete_percent, max_delete_files, require_mount, "
    "verify_interval, verify_checksum, events";
constexpr std::string_view k_defaults_keys =
    "delay, max_delays, delete, exclude, exclude_from, preserve, inplace, fsync, workers, ssh, "
    "sqlite, max_delete_percent, max_delete_files, require_mount, verify_interval, "
    "verify_checksum, events";
constexpr std::string_view k_ssh_keys = "identity_file, known_hosts, host_key_policy, "
                                        "compression, connect_timeout, keepalive, agent_path";
constexpr std::string_view k_remote_keys = "host, port, user, path, identity_file, known_hosts, "
                                           "host_key_policy, compression, connect_timeout, "
                                           "keepalive, agent_path";
constexpr double k_max_ssh_timeout_seconds = 3600.0;
constexpr std::string_view k_preserve_keys = "mode, times, links, owner";
constexpr std::string_view k_sqlite_keys = "enabled, paths, interval, temp_dir";

bool is_valid_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

DeleteMode parse_delete_mode(const YamlValueReader& reader, const YamlEntry& entry) {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        if (text == "true")
            return DeleteMode::always;
        if (text == "false")
            return DeleteMode::never;
        if (text == "startup")
            return DeleteMode::startup;
        if (text == "running")
            return DeleteMode::running;
    }
    reader.fail_value(entry,
                      fmt::format("'{}' must be one of true, false, startup, running; got {}",
                                  entry.key, describe_node(entry.value)));
}

FsyncPolicy parse_fsync(const YamlValueReader& reader, const YamlEntry& entry) {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        if (text == "file")
            return FsyncPolicy::file;
        if (text == "batch")
            return FsyncPolicy::batch;
        if (text == "none")
            return FsyncPolicy::none;
    }
    reader.fail_value(entry, fmt::format("'{}' must be one of file, batch, none; got {}", entry.key,
                                         describe_node(entry.value)));
}

RequireMount parse_require_mount(const YamlValueReader& reader, const YamlEntry& entry) {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        if (text == "none")
            return RequireMount::none;
        if (text == "source")
            return RequireMount::source;
        if (text == "target")
            return RequireMount::target;
        if (text == "both")
            return RequireMount::both;
    }
    reader.fail_value(entry, fmt::format("'{}' must be one of none, source, target, both; got {}",
                                         entry.key, describe_node(entry.value)));
}

EventsBackend parse_events(const YamlValueReader& reader, const YamlEntry& entry) {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        if (text == "auto")
            return EventsBackend::automatic;
        if (text == "inotify")
            return EventsBackend::inotify;
        if (text == "fanotify")
            return EventsBackend::fanotify;
    }
    reader.fail_value(entry, fmt::format("'{}' must be one of auto, inotify, fanotify; got {}",
                                         entry.key, describe_node(entry.value)));
}

// Keys it does not set keep their value in `out`, so a sync's preserve refines the defaults'.
void parse_preserve(const YamlValueReader& reader, const YamlEntry& entry, PreserveOptions& out,
                    std::string_view where) {
    if (entry.value.IsNull())
        return;
    if (!entry.value.IsMap())
        reader.fail_value(entry,
                          fmt::format("'preserve' must be a mapping of {} to true/false, got {}",
                                      k_preserve_keys, describe_node(entry.value)));
    for (const YamlEntry& e : reader.entries(entry.value, "'preserve'")) {
        const std::string name = "preserve." + e.key;
        if (e.key == "mode") {
            out.mode = reader.parse_bool(e, name);
        } else if (e.key == "times") {
            out.times = reader.parse_bool(e, name);
        } else if (e.key == "links") {
            out.links = reader.parse_bool(e, name);
            if (!out.links)
                reader.fail_value(e,
                                  "'preserve.links: false' (copying what symlinks point to) is not "
                                  "supported yet; symlinks are always mirrored as symlinks");
        } else if (e.key == "owner") {
            if (e.value.IsScalar() && e.value.Scalar() == "auto") {
                out.owner = std::nullopt;
            } else if (e.value.IsScalar() &&
                       (e.value.Scalar() == "true" || e.value.Scalar() == "false")) {
                out.owner = e.value.Scalar() == "true";
            } else {
                reader.fail_value(e, fmt::format("'{}' must be true, false or auto, got {}", name,
                                                 describe_node(e.value)));
            }
        } else {
            reader.fail_unknown(e, fmt::format("in 'preserve' of {}", where), k_preserve_keys);
        }
    }
}

double parse_ssh_seconds(const YamlValueReader& reader, const YamlEntry& entry, double min) {
    const double value = reader.parse_seconds(entry);
    if (value < min || value > k_max_ssh_timeout_seconds)
        reader.fail_value(entry,
                          fmt::format("'{}' must be from {} to {} seconds, got {}", entry.key, min,
                                      k_max_ssh_timeout_seconds, describe_node(entry.value)));
    return value;
}

// Sets the SSH option `entry` names; false when it is not one.
bool apply_ssh_option(const YamlValueReader& reader, const YamlEntry& entry, SshSettings& ssh,
                      std::string_view name) {
    const std::string& key = entry.key;
    const std::string full = fmt::format("{}{}", name, key);
    if (key == "identity_file") {
        ssh.identity_file = reader.parse_key_path(entry, full);
    } else if (key == "known_hosts") {
        ssh.known_hosts = reader.parse_key_path(entry, full);
    } else if (key == "host_key_policy") {
        const std::string text = entry.value.IsScalar() ? entry.value.Scalar() : "";
        if (text == "strict")
            ssh.host_key_policy = HostKeyPolicy::strict;
        else if (text == "accept-new")
            ssh.host_key_policy = HostKeyPolicy::accept_new;
        else
            reader.fail_value(entry, fmt::format("'{}' must be strict or accept-new, got {}", full,
                                                 describe_node(entry.value)));
    } else if (key == "compression") {
        ssh.compression = reader.parse_bool(entry, full);
    } else if (key == "connect_timeout") {
        ssh.connect_timeout_seconds = parse_ssh_seconds(reader, entry, 0.1);
    } else if (key == "keepalive") {
        ssh.keepalive_seconds = parse_ssh_seconds(reader, entry, 0);
    } else if (key == "agent_path") {
        ssh.agent_path = reader.parse_string(entry, full);
        if (ssh.agent_path.find('\n') != std::string::npos)
            reader.fail_value(entry, fmt::format("'{}' must not contain a newline", full));
    } else {
        return false;
    }
    return true;
}

// Keys it does not set keep their value in `out`, so a sync's ssh refines the defaults'.
void parse_ssh(const YamlValueReader& reader, const YamlEntry& entry, SshSettings& out,
               std::string_view where) {
    if (entry.value.IsNull())
        return;
    if (!entry.value.IsMap())
        reader.fail_value(entry, fmt::format("'ssh' must be a mapping of {}, got {}", k_ssh_keys,
                                             describe_node(entry.value)));
    for (const YamlEntry& e : reader.entries(entry.value, "'ssh'")) {
        if (!apply_ssh_option(reader, e, out, "ssh."))
            reader.fail_unknown(e, fmt::format("in 'ssh' of {}", where), k_ssh_keys);
    }
}

// One item of 'target': a local path, a remote string, or a remote mapping. Sets sync.target and
// sync.remote (and refines sync.ssh from a mapping).
void parse_target(const YamlValueReader& reader, const YamlEntry& entry, SyncConfig& sync,
                  std::string_view where) {
    if (entry.value.IsMap()) {
        RemoteTarget remote;
        bool has_host = false;
        bool has_path = false;
        for (const YamlEntry& e : reader.entries(entry.value, "'target'")) {
            if (e.key == "host") {
                remote.host = reader.parse_string(e, "target.host");
                if (remote.host.size() > 2 && remote.host.front() == '[' &&
                    remote.host.back() == ']')
                    remote.host = remote.host.substr(1, remote.host.size() - 2);
                if (!is_valid_host(remote.host))
                    reader.fail_value(e, fmt::format("'target.host' is not a valid host name or "
                                                     "address, got {}",
                                                     describe_node(e.value)));
                has_host = true;
            } else if (e.key == "port") {
                remote.port = static_cast<std::uint16_t>(reader.parse_integer(e, 1, 65535));
            } else if (e.key == "user") {
                remote.user = reader.parse_string(e, "target.user");
                if (!is_valid_user(remote.user))
                    reader.fail_value(e,
                                      fmt::format("'target.user' must consist of letters, digits, "
                                                  "'.', '_' and '-' (not first), got {}",
                                                  describe_node(e.value)));
            } else if (e.key == "path") {
                const std::string text = reader.parse_string(e, "target.path");
                if (!text.starts_with('/'))
                    reader.fail_value(e,
                                      fmt::format("'target.path' must be an absolute path on the "
                                                  "remote, got {}",
                                                  describe_node(e.value)));
                auto parsed = parse_remote_target("h:" + text);
                if (!parsed)
                    reader.fail_value(e, fmt::format("'target.path': {}", parsed.error()));
                remote.path = parsed->path;
                has_path = true;
            } else if (!apply_ssh_option(reader, e, sync.ssh, "target.")) {
                reader.fail_unknown(e, fmt::format("in 'target' of {}", where), k_remote_keys);
            }
        }
        if (!has_host || !has_path)
            reader.fail_value(
                entry, fmt::format("a 'target' mapping in {} needs 'host' and 'path'", where));
        sync.target = to_string(remote);
        sync.remote = std::move(remote);
        return;
    }
    const std::string text = reader.parse_string(entry, "target");
    if (looks_remote(text)) {
        auto remote = parse_remote_target(text);
        if (!remote)
            reader.fail_value(entry, fmt::format("'target' in {}: {}", where, remote.error()));
        sync.target = to_string(*remote);
        sync.remote = std::move(*remote);
        return;
    }
    sync.target = reader.parse_path(entry, "target").string();
    sync.remote.reset();
}

// As `preserve`: keys it does not set keep the defaults' values.
void parse_sqlite(const YamlValueReader& reader, const YamlEntry& entry, SqliteConfig& out,
                  std::string_view where) {
    if (entry.value.IsNull())
        return;
    if (!entry.value.IsMap())
        reader.fail_value(entry, fmt::format("'sqlite' must be a mapping of {}, got {}",
                                             k_sqlite_keys, describe_node(entry.value)));
    for (const YamlEntry& e : reader.entries(entry.value, "'sqlite'")) {
        if (e.key == "enabled") {
            out.enabled = reader.parse_bool(e, "sqlite.enabled");
        } else if (e.key == "paths") {
            out.paths = reader.parse_patterns(YamlEntry{"sqlite.paths", e.key_mark, e.value});
        } else if (e.key == "interval") {
            out.interval_seconds =
                reader.parse_seconds(YamlEntry{"sqlite.interval", e.key_mark, e.value});
        } else if (e.key == "temp_dir") {
            out.temp_dir = reader.parse_path(e, "sqlite.temp_dir");
        } else {
            reader.fail_unknown(e, fmt::format("in 'sqlite' of {}", where), k_sqlite_keys);
        }
    }
}

// Sets the option `entry` names; false when it is not a per-sync option. `where` names the
// section for messages: "sync 'storage'" or "'defaults'".
bool apply_option(const YamlValueReader& reader, const YamlEntry& entry, SyncConfig& sync,
                  std::string_view where) {
    const std::string& key = entry.key;
    if (key == "delay") {
        sync.delay_seconds = reader.parse_seconds(entry);
    } else if (key == "max_delays") {
        sync.max_delays = static_cast<std::size_t>(
            reader.parse_integer(entry, 1, std::numeric_limits<std::size_t>::max()));
    } else if (key == "delete") {
        sync.delete_mode = parse_delete_mode(reader, entry);
    } else if (key == "exclude") {
        sync.excludes = reader.parse_patterns(entry);
    } else if (key == "exclude_from") {
        sync.exclude_from = reader.parse_path(entry, key);
    } else if (key == "preserve") {
        parse_preserve(reader, entry, sync.preserve, where);
    } else if (key == "inplace") {
        sync.inplace = reader.parse_bool(entry, key);
    } else if (key == "fsync") {
        sync.fsync = parse_fsync(reader, entry);
    } else if (key == "workers") {
        sync.workers = static_cast<unsigned>(reader.parse_integer(entry, 1, k_max_workers));
    } else if (key == "max_delete_percent") {
        sync.max_delete_percent = static_cast<unsigned>(reader.parse_integer(entry, 1, 100));
    } else if (key == "max_delete_files") {
        sync.max_delete_files = static_cast<std::uint64_t>(
            reader.parse_integer(entry, 1, std::numeric_limits<std::uint64_t>::max()));
    } else if (key == "require_mount") {
        sync.require_mount = parse_require_mount(reader, entry);
    } else if (key == "verify_interval") {
        sync.verify_interval_seconds = reader.parse_seconds(entry);
    } else if (key == "verify_checksum") {
        sync.verify_checksum = reader.parse_bool(entry, key);
    } else if (key == "events") {
        sync.events = parse_events(reader, entry);
    } else if (key == "ssh") {
        parse_ssh(reader, entry, sync.ssh, where);
    } else if (key == "sqlite") {
        parse_sqlite(reader, entry, sync.sqlite, where);
    } else {
        return false;
    }
    return true;
}

std::vector<SyncConfig> parse_sync(const YamlValueReader& reader, const YAML::Node& node,
                                   std::size_t index, const SyncConfig& defaults) {
    const std::string ordinal = fmt::format("sync #{}", index + 1);
    if (!node.IsMap())
        reader.fail(node.Mark(), fmt::format("{} must be a mapping with at least 'source' and "
                                             "'target', got {}",
                                             ordinal, describe_node(node)));
    const std::vector<YamlEntry> keys = reader.entries(node, ordinal);

    // The name comes first so that every later message can use it.
    SyncConfig sync = defaults;
    sync.name = fmt::format("sync{}", index + 1);
    const auto named =
        std::find_if(keys.begin(), keys.end(), [](const YamlEntry& e) { return e.key == "name"; });
    if (named != keys.end()) {
        sync.name = reader.parse_string(*named, "name");
        if (!is_valid_name(sync.name))
            reader.fail_value(*named,
                              fmt::format("'name' must consist of letters, digits, '_', '.' "
                                          "and '-' (and not be '.' or '..'), got {}",
                                          describe_node(named->value)));
    }
    const std::string where = fmt::format("sync '{}'", sync.name);

    bool has_source = false;
    const YamlEntry* target = nullptr;
    for (const YamlEntry& e : keys) {
        if (e.key == "name") {
            continue;
        } else if (e.key == "source") {
            sync.source = reader.parse_path(e, "source");
            has_source = true;
        } else if (e.key == "target") {
            target = &e; // parsed last: it may refine the sync's 'ssh' settings
        } else if (!apply_option(reader, e, sync, where)) {
            reader.fail_unknown(e, "in " + where, k_sync_keys);
        }
    }
    if (!has_source)
        reader.fail(node.Mark(), fmt::format("'source' is required in {}", where));
    if (target == nullptr)
        reader.fail(node.Mark(), fmt::format("'target' is required in {}", where));

    // A list of targets fans out: one sync per target, each with its own queue and connection.
    std::vector<SyncConfig> syncs;
    if (!target->value.IsSequence()) {
        parse_target(reader, *target, sync, where);
        syncs.push_back(std::move(sync));
        return syncs;
    }
    if (target->value.size() == 0)
        reader.fail_value(*target, fmt::format("'target' in {} is an empty list", where));
    const bool several = target->value.size() > 1;
    for (const YAML::Node& item : target->value) {
        SyncConfig one = sync;
        if (several)
            one.name = fmt::format("{}-{}", sync.name, syncs.size() + 1);
        parse_target(reader, YamlEntry{target->key, target->key_mark, item}, one,
                     fmt::format("sync '{}'", one.name));
        syncs.push_back(std::move(one));
    }
    return syncs;
}

} // namespace

SyncConfig parse_defaults_section(const YamlValueReader& reader, const YamlEntry& section) {
    SyncConfig defaults;
    if (section.value.IsNull())
        return defaults;
    if (!section.value.IsMap())
        reader.fail_value(section, fmt::format("'defaults' must be a mapping, got {}",
                                               describe_node(section.value)));
    for (const YamlEntry& e : reader.entries(section.value, "'defaults'")) {
        if (e.key == "name" || e.key == "source" || e.key == "target")
            reader.fail(
                e.key_mark,
                fmt::format("'{}' cannot be set in 'defaults'; set it in each sync", e.key));
        if (!apply_option(reader, e, defaults, "'defaults'"))
            reader.fail_unknown(e, "in 'defaults'", k_defaults_keys);
    }
    return defaults;
}

std::vector<SyncConfig> parse_syncs_section(const YamlValueReader& reader, const YamlEntry& section,
                                            const SyncConfig& defaults) {
    if (!section.value.IsSequence() || section.value.size() == 0)
        reader.fail_value(section, fmt::format("'syncs' must be a non-empty list of syncs, got {}",
                                               describe_node(section.value)));
    std::vector<SyncConfig> syncs;
    std::vector<YAML::Mark> marks; // where each sync starts, for messages about pairs
    std::size_t index = 0;
    for (const YAML::Node& node : section.value) {
        for (SyncConfig& sync : parse_sync(reader, node, index, defaults)) {
            for (std::size_t i = 0; i < syncs.size(); ++i) {
                if (syncs[i].name == sync.name)
                    reader.fail(node.Mark(),
                                fmt::format("duplicate sync name '{}' (also used by the "
                                            "sync on line {}); names must be unique",
                                            sync.name, marks[i].line + 1));
                if (syncs[i].target == sync.target)
                    reader.fail(node.Mark(),
                                fmt::format("sync '{}' has the same target {} as sync '{}' on "
                                            "line {}",
                                            sync.name, sync.target, syncs[i].name,
                                            marks[i].line + 1));
            }
            syncs.push_back(std::move(sync));
            marks.push_back(node.Mark());
        }
        ++index;
    }
    return syncs;
}

} // namespace fsmirror::config
