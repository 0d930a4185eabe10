#include "config/yaml_loader.hpp"

#include "config/config_file.hpp"
#include "config/remote_target.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <sstream>
#include <string_view>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sys/stat.h>

namespace fsmirror::config {

namespace {

namespace fs = std::filesystem;

// Longer than a day is almost certainly a typo, and it keeps later std::chrono conversions far
// from overflow.
constexpr double k_max_delay_seconds = 86400.0;
constexpr unsigned k_max_workers = 64;

constexpr std::string_view k_top_level_keys = "log, defaults, syncs, status_file, "
                                              "status_interval, state_dir, monitor, alerts, "
                                              "metrics";
constexpr std::string_view k_monitor_keys = "interval, backlog_threshold, backlog_max_age, "
                                            "disk_usage_percent, disk_critical_percent, "
                                            "inode_usage_percent, inotify_watch_percent, "
                                            "recovery_point, mountpoints";
constexpr std::string_view k_alerts_keys = "email, exec, rate_limit_window, retry_interval";
constexpr std::string_view k_email_keys = "to, from, smtp_url, username, password, "
                                          "password_file, password_env, starttls, ca_file, "
                                          "sendmail_command";
constexpr std::string_view k_exec_keys = "command";
constexpr std::string_view k_metrics_keys = "textfile, listen";
constexpr std::string_view k_log_keys = "level, file";
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

// One key of a mapping: its name, where it is written, and its value.
struct Entry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
};

// Returns how a value reads in a message: "'abc'" for a scalar, "a list", "a mapping", "nothing".
std::string describe(const YAML::Node& node) {
    switch (node.Type()) {
    case YAML::NodeType::Scalar:
        return fmt::format("'{}'", node.Scalar());
    case YAML::NodeType::Sequence:
        return "a list";
    case YAML::NodeType::Map:
        return "a mapping";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
        break;
    }
    return "nothing";
}

bool is_valid_name(std::string_view name) {
    if (name.empty() || name == "." || name == "..")
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

// Turns one YAML document into a Config. Holds only what every message needs.
class Parser {
public:
    Parser(std::string origin, fs::path base_dir)
        : m_origin(std::move(origin)), m_base_dir(std::move(base_dir)) {}

    Config parse_document(const YAML::Node& root) const;
    // Only 'alerts' and 'state_dir'; every other key is ignored, even an unknown one.
    Config parse_alert_settings(const YAML::Node& root) const;

    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const {
        throw ConfigError(location(mark) + ": " + message);
    }

    std::string location(const YAML::Mark& mark) const {
        if (mark.is_null())
            return m_origin + ":1:1";
        return fmt::format("{}:{}:{}", m_origin, mark.line + 1, mark.column + 1);
    }

private:
    std::vector<Entry> entries(const YAML::Node& map, std::string_view section) const;
    [[noreturn]] void fail_value(const Entry& entry, const std::string& message) const;
    [[noreturn]] void fail_unknown(const Entry& entry, std::string_view where,
                                   std::string_view known) const;

    std::string parse_string(const Entry& entry, std::string_view name) const;
    fs::path parse_path(const Entry& entry, std::string_view name) const;
    bool parse_bool(const Entry& entry, std::string_view name) const;
    double parse_seconds(const Entry& entry) const;
    unsigned long long parse_integer(const Entry& entry, unsigned long long min,
                                     unsigned long long max) const;
    std::vector<std::string> parse_patterns(const Entry& entry) const;
    DeleteMode parse_delete_mode(const Entry& entry) const;
    FsyncPolicy parse_fsync(const Entry& entry) const;
    RequireMount parse_require_mount(const Entry& entry) const;
    EventsBackend parse_events(const Entry& entry) const;
    void parse_preserve(const Entry& entry, PreserveOptions& out, std::string_view where) const;
    fs::path parse_key_path(const Entry& entry, std::string_view name) const;
    double parse_ssh_seconds(const Entry& entry, double min) const;
    bool apply_ssh_option(const Entry& entry, SshSettings& ssh, std::string_view name) const;
    void parse_ssh(const Entry& entry, SshSettings& out, std::string_view where) const;
    // One item of 'target': a local path, a remote string, or a remote mapping. Sets
    // sync.target and sync.remote (and refines sync.ssh from a mapping).
    void parse_target(const Entry& entry, SyncConfig& sync, std::string_view where) const;
    void parse_sqlite(const Entry& entry, SqliteConfig& out, std::string_view where) const;

    LogConfig parse_log(const Entry& section) const;
    double parse_number(const Entry& entry, double min, double max) const;
    void require_map(const Entry& section, std::string_view name) const;
    std::vector<std::string> parse_strings(const Entry& entry) const;
    MonitorConfig parse_monitor(const Entry& section) const;
    EmailAlertConfig parse_email(const Entry& section) const;
    AlertsConfig parse_alerts(const Entry& section) const;
    MetricsConfig parse_metrics(const Entry& section) const;
    void parse_status_keys(const std::vector<Entry>& keys, Config& config) const;
    bool apply_option(const Entry& entry, SyncConfig& sync, std::string_view where) const;
    SyncConfig parse_defaults(const Entry& section) const;
    std::vector<SyncConfig> parse_sync(const YAML::Node& node, std::size_t index,
                                       const SyncConfig& defaults) const;
    std::vector<SyncConfig> parse_syncs(const Entry& section, const SyncConfig& defaults) const;

    std::string m_origin;
    fs::path m_base_dir;
};

// Returns the keys of `map` in order, after checking that they are unique plain names.
std::vector<Entry> Parser::entries(const YAML::Node& map, std::string_view section) const {
    std::vector<Entry> result;
    // By value: yaml-cpp's iterators hand out temporaries, so `it->first` would dangle.
    for (const auto& pair : map) {
        const YAML::Node key = pair.first;
        if (!key.IsScalar())
            fail(key.Mark(),
                 fmt::format("keys in {} must be names, got {}", section, describe(key)));
        const auto previous = std::find_if(result.begin(), result.end(),
                                           [&](const Entry& e) { return e.key == key.Scalar(); });
        if (previous != result.end())
            fail(key.Mark(), fmt::format("duplicate key '{}' in {} (first set on line {})",
                                         key.Scalar(), section, previous->key_mark.line + 1));
        result.push_back(Entry{key.Scalar(), key.Mark(), pair.second});
    }
    return result;
}

// An empty value has no position of its own (yaml-cpp marks the next token), so point at its key.
void Parser::fail_value(const Entry& entry, const std::string& message) const {
    fail(entry.value.IsNull() ? entry.key_mark : entry.value.Mark(), message);
}

void Parser::fail_unknown(const Entry& entry, std::string_view where,
                          std::string_view known) const {
    fail(entry.key_mark,
         fmt::format("unknown key '{}' {} (known keys: {})", entry.key, where, known));
}

std::string Parser::parse_string(const Entry& entry, std::string_view name) const {
    if (!entry.value.IsScalar() || entry.value.Scalar().empty())
        fail_value(entry, fmt::format("'{}' must be a non-empty string, got {}", name,
                                      describe(entry.value)));
    const std::string& text = entry.value.Scalar();
    if (text.find('\0') != std::string::npos)
        fail_value(entry, fmt::format("'{}' must not contain a NUL character", name));
    return text;
}

// Absolute against the base directory and lexically normalised, without a trailing slash.
fs::path Parser::parse_path(const Entry& entry, std::string_view name) const {
    if (!entry.value.IsScalar() || entry.value.Scalar().empty())
        fail_value(entry, fmt::format("'{}' must be a path, got {}", name, describe(entry.value)));
    const std::string text = parse_string(entry, name);
    fs::path path = (m_base_dir / text).lexically_normal();
    if (!path.has_filename() && path != path.root_path())
        path = path.parent_path();
    return path;
}

// Only the words true and false: yaml-cpp would also read yes/no/on/off (YAML 1.1), which
// surprises people who meant a string, so those are refused with a hint.
bool Parser::parse_bool(const Entry& entry, std::string_view name) const {
    if (entry.value.IsScalar()) {
        if (entry.value.Scalar() == "true")
            return true;
        if (entry.value.Scalar() == "false")
            return false;
    }
    fail_value(entry,
               fmt::format("'{}' must be true or false, got {}", name, describe(entry.value)));
}

double Parser::parse_seconds(const Entry& entry) const {
    const auto error = [&] {
        fail_value(entry, fmt::format("'{}' must be a number of seconds >= 0, got {}", entry.key,
                                      describe(entry.value)));
    };
    if (!entry.value.IsScalar())
        error();
    const std::string& text = entry.value.Scalar();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0)
        error();
    if (value > k_max_delay_seconds)
        fail_value(entry, fmt::format("'{}' must be at most {} seconds (one day), got {}",
                                      entry.key, k_max_delay_seconds, describe(entry.value)));
    return value;
}

// Decimal digits only: no sign, fraction, exponent or YAML 1.1 forms (0x10, 1_000).
unsigned long long Parser::parse_integer(const Entry& entry, unsigned long long min,
                                         unsigned long long max) const {
    const std::string range = max == std::numeric_limits<unsigned long long>::max()
                                  ? fmt::format(">= {}", min)
                                  : fmt::format("from {} to {}", min, max);
    const auto error = [&] {
        fail_value(entry, fmt::format("'{}' must be an integer {}, got {}", entry.key, range,
                                      describe(entry.value)));
    };
    if (!entry.value.IsScalar())
        error();
    const std::string& text = entry.value.Scalar();
    if (text.empty() ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
        error();
    unsigned long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max)
        error();
    return value;
}

std::vector<std::string> Parser::parse_patterns(const Entry& entry) const {
    const auto error = [&](const YAML::Node& at) {
        fail(at.IsNull() ? entry.key_mark : at.Mark(),
             fmt::format("'{}' must be a pattern or a list of patterns (non-empty strings), "
                         "got {}",
                         entry.key, describe(at)));
    };
    std::vector<std::string> patterns;
    if (entry.value.IsScalar()) {
        patterns.push_back(parse_string(entry, entry.key));
        return patterns;
    }
    if (!entry.value.IsSequence())
        error(entry.value);
    for (const YAML::Node& item : entry.value) {
        if (!item.IsScalar() || item.Scalar().empty())
            error(item);
        patterns.push_back(parse_string(Entry{entry.key, entry.key_mark, item}, entry.key));
    }
    return patterns;
}

DeleteMode Parser::parse_delete_mode(const Entry& entry) const {
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
    fail_value(entry, fmt::format("'{}' must be one of true, false, startup, running; got {}",
                                  entry.key, describe(entry.value)));
}

FsyncPolicy Parser::parse_fsync(const Entry& entry) const {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        if (text == "file")
            return FsyncPolicy::file;
        if (text == "batch")
            return FsyncPolicy::batch;
        if (text == "none")
            return FsyncPolicy::none;
    }
    fail_value(entry, fmt::format("'{}' must be one of file, batch, none; got {}", entry.key,
                                  describe(entry.value)));
}

RequireMount Parser::parse_require_mount(const Entry& entry) const {
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
    fail_value(entry, fmt::format("'{}' must be one of none, source, target, both; got {}",
                                  entry.key, describe(entry.value)));
}

EventsBackend Parser::parse_events(const Entry& entry) const {
    if (entry.value.IsScalar()) {
        const std::string& text = entry.value.Scalar();
        if (text == "auto")
            return EventsBackend::automatic;
        if (text == "inotify")
            return EventsBackend::inotify;
        if (text == "fanotify")
            return EventsBackend::fanotify;
    }
    fail_value(entry, fmt::format("'{}' must be one of auto, inotify, fanotify; got {}", entry.key,
                                  describe(entry.value)));
}

// Keys it does not set keep their value in `out`, so a sync's preserve refines the defaults'.
void Parser::parse_preserve(const Entry& entry, PreserveOptions& out,
                            std::string_view where) const {
    if (entry.value.IsNull())
        return;
    if (!entry.value.IsMap())
        fail_value(entry, fmt::format("'preserve' must be a mapping of {} to true/false, got {}",
                                      k_preserve_keys, describe(entry.value)));
    for (const Entry& e : entries(entry.value, "'preserve'")) {
        const std::string name = "preserve." + e.key;
        if (e.key == "mode") {
            out.mode = parse_bool(e, name);
        } else if (e.key == "times") {
            out.times = parse_bool(e, name);
        } else if (e.key == "links") {
            out.links = parse_bool(e, name);
            if (!out.links)
                fail_value(e, "'preserve.links: false' (copying what symlinks point to) is not "
                              "supported yet; symlinks are always mirrored as symlinks");
        } else if (e.key == "owner") {
            if (e.value.IsScalar() && e.value.Scalar() == "auto") {
                out.owner = std::nullopt;
            } else if (e.value.IsScalar() &&
                       (e.value.Scalar() == "true" || e.value.Scalar() == "false")) {
                out.owner = e.value.Scalar() == "true";
            } else {
                fail_value(e, fmt::format("'{}' must be true, false or auto, got {}", name,
                                          describe(e.value)));
            }
        } else {
            fail_unknown(e, fmt::format("in 'preserve' of {}", where), k_preserve_keys);
        }
    }
}

// A path for SSH files: "~/" is the home directory (as in ssh_config), relative paths resolve
// against the config file's directory.
fs::path Parser::parse_key_path(const Entry& entry, std::string_view name) const {
    const std::string text = parse_string(entry, name);
    if (text.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        if (home == nullptr || *home == '\0')
            fail_value(entry, fmt::format("'{}' starts with ~/ but HOME is not set", name));
        return (fs::path(home) / text.substr(2)).lexically_normal();
    }
    return parse_path(entry, name);
}

double Parser::parse_ssh_seconds(const Entry& entry, double min) const {
    const double value = parse_seconds(entry);
    if (value < min || value > k_max_ssh_timeout_seconds)
        fail_value(entry, fmt::format("'{}' must be from {} to {} seconds, got {}", entry.key, min,
                                      k_max_ssh_timeout_seconds, describe(entry.value)));
    return value;
}

// Sets the SSH option `entry` names; false when it is not one.
bool Parser::apply_ssh_option(const Entry& entry, SshSettings& ssh, std::string_view name) const {
    const std::string& key = entry.key;
    const std::string full = fmt::format("{}{}", name, key);
    if (key == "identity_file") {
        ssh.identity_file = parse_key_path(entry, full);
    } else if (key == "known_hosts") {
        ssh.known_hosts = parse_key_path(entry, full);
    } else if (key == "host_key_policy") {
        const std::string text = entry.value.IsScalar() ? entry.value.Scalar() : "";
        if (text == "strict")
            ssh.host_key_policy = HostKeyPolicy::strict;
        else if (text == "accept-new")
            ssh.host_key_policy = HostKeyPolicy::accept_new;
        else
            fail_value(entry, fmt::format("'{}' must be strict or accept-new, got {}", full,
                                          describe(entry.value)));
    } else if (key == "compression") {
        ssh.compression = parse_bool(entry, full);
    } else if (key == "connect_timeout") {
        ssh.connect_timeout_seconds = parse_ssh_seconds(entry, 0.1);
    } else if (key == "keepalive") {
        ssh.keepalive_seconds = parse_ssh_seconds(entry, 0);
    } else if (key == "agent_path") {
        ssh.agent_path = parse_string(entry, full);
        if (ssh.agent_path.find('\n') != std::string::npos)
            fail_value(entry, fmt::format("'{}' must not contain a newline", full));
    } else {
        return false;
    }
    return true;
}

// Keys it does not set keep their value in `out`, so a sync's ssh refines the defaults'.
void Parser::parse_ssh(const Entry& entry, SshSettings& out, std::string_view where) const {
    if (entry.value.IsNull())
        return;
    if (!entry.value.IsMap())
        fail_value(entry, fmt::format("'ssh' must be a mapping of {}, got {}", k_ssh_keys,
                                      describe(entry.value)));
    for (const Entry& e : entries(entry.value, "'ssh'")) {
        if (!apply_ssh_option(e, out, "ssh."))
            fail_unknown(e, fmt::format("in 'ssh' of {}", where), k_ssh_keys);
    }
}

void Parser::parse_target(const Entry& entry, SyncConfig& sync, std::string_view where) const {
    if (entry.value.IsMap()) {
        RemoteTarget remote;
        bool has_host = false;
        bool has_path = false;
        for (const Entry& e : entries(entry.value, "'target'")) {
            if (e.key == "host") {
                remote.host = parse_string(e, "target.host");
                if (remote.host.size() > 2 && remote.host.front() == '[' &&
                    remote.host.back() == ']')
                    remote.host = remote.host.substr(1, remote.host.size() - 2);
                if (!is_valid_host(remote.host))
                    fail_value(e, fmt::format("'target.host' is not a valid host name or "
                                              "address, got {}",
                                              describe(e.value)));
                has_host = true;
            } else if (e.key == "port") {
                remote.port = static_cast<std::uint16_t>(parse_integer(e, 1, 65535));
            } else if (e.key == "user") {
                remote.user = parse_string(e, "target.user");
                if (!is_valid_user(remote.user))
                    fail_value(e, fmt::format("'target.user' must consist of letters, digits, "
                                              "'.', '_' and '-' (not first), got {}",
                                              describe(e.value)));
            } else if (e.key == "path") {
                const std::string text = parse_string(e, "target.path");
                if (!text.starts_with('/'))
                    fail_value(e, fmt::format("'target.path' must be an absolute path on the "
                                              "remote, got {}",
                                              describe(e.value)));
                auto parsed = parse_remote_target("h:" + text);
                if (!parsed)
                    fail_value(e, fmt::format("'target.path': {}", parsed.error()));
                remote.path = parsed->path;
                has_path = true;
            } else if (!apply_ssh_option(e, sync.ssh, "target.")) {
                fail_unknown(e, fmt::format("in 'target' of {}", where), k_remote_keys);
            }
        }
        if (!has_host || !has_path)
            fail_value(entry,
                       fmt::format("a 'target' mapping in {} needs 'host' and 'path'", where));
        sync.target = to_string(remote);
        sync.remote = std::move(remote);
        return;
    }
    const std::string text = parse_string(entry, "target");
    if (looks_remote(text)) {
        auto remote = parse_remote_target(text);
        if (!remote)
            fail_value(entry, fmt::format("'target' in {}: {}", where, remote.error()));
        sync.target = to_string(*remote);
        sync.remote = std::move(*remote);
        return;
    }
    sync.target = parse_path(entry, "target").string();
    sync.remote.reset();
}

// As `preserve`: keys it does not set keep the defaults' values.
void Parser::parse_sqlite(const Entry& entry, SqliteConfig& out, std::string_view where) const {
    if (entry.value.IsNull())
        return;
    if (!entry.value.IsMap())
        fail_value(entry, fmt::format("'sqlite' must be a mapping of {}, got {}", k_sqlite_keys,
                                      describe(entry.value)));
    for (const Entry& e : entries(entry.value, "'sqlite'")) {
        if (e.key == "enabled") {
            out.enabled = parse_bool(e, "sqlite.enabled");
        } else if (e.key == "paths") {
            out.paths = parse_patterns(Entry{"sqlite.paths", e.key_mark, e.value});
        } else if (e.key == "interval") {
            out.interval_seconds = parse_seconds(Entry{"sqlite.interval", e.key_mark, e.value});
        } else if (e.key == "temp_dir") {
            out.temp_dir = parse_path(e, "sqlite.temp_dir");
        } else {
            fail_unknown(e, fmt::format("in 'sqlite' of {}", where), k_sqlite_keys);
        }
    }
}

LogConfig Parser::parse_log(const Entry& section) const {
    LogConfig log;
    if (section.value.IsNull())
        return log;
    if (!section.value.IsMap())
        fail_value(section,
                   fmt::format("'log' must be a mapping, got {}", describe(section.value)));
    for (const Entry& e : entries(section.value, "'log'")) {
        if (e.key == "level") {
            const auto level =
                e.value.IsScalar() ? base::parse_log_level(e.value.Scalar()) : std::nullopt;
            if (!level)
                fail_value(e, fmt::format("'log.level' must be one of debug, info, warning, "
                                          "error; got {}",
                                          describe(e.value)));
            log.level = *level;
        } else if (e.key == "file") {
            log.file = parse_path(e, "log.file");
        } else {
            fail_unknown(e, "in 'log'", k_log_keys);
        }
    }
    return log;
}

// Sets the option `entry` names; false when it is not a per-sync option. `where` names the
// section for messages: "sync 'storage'" or "'defaults'".
bool Parser::apply_option(const Entry& entry, SyncConfig& sync, std::string_view where) const {
    const std::string& key = entry.key;
    if (key == "delay") {
        sync.delay_seconds = parse_seconds(entry);
    } else if (key == "max_delays") {
        sync.max_delays = static_cast<std::size_t>(
            parse_integer(entry, 1, std::numeric_limits<std::size_t>::max()));
    } else if (key == "delete") {
        sync.delete_mode = parse_delete_mode(entry);
    } else if (key == "exclude") {
        sync.excludes = parse_patterns(entry);
    } else if (key == "exclude_from") {
        sync.exclude_from = parse_path(entry, key);
    } else if (key == "preserve") {
        parse_preserve(entry, sync.preserve, where);
    } else if (key == "inplace") {
        sync.inplace = parse_bool(entry, key);
    } else if (key == "fsync") {
        sync.fsync = parse_fsync(entry);
    } else if (key == "workers") {
        sync.workers = static_cast<unsigned>(parse_integer(entry, 1, k_max_workers));
    } else if (key == "max_delete_percent") {
        sync.max_delete_percent = static_cast<unsigned>(parse_integer(entry, 1, 100));
    } else if (key == "max_delete_files") {
        sync.max_delete_files = static_cast<std::uint64_t>(
            parse_integer(entry, 1, std::numeric_limits<std::uint64_t>::max()));
    } else if (key == "require_mount") {
        sync.require_mount = parse_require_mount(entry);
    } else if (key == "verify_interval") {
        sync.verify_interval_seconds = parse_seconds(entry);
    } else if (key == "verify_checksum") {
        sync.verify_checksum = parse_bool(entry, key);
    } else if (key == "events") {
        sync.events = parse_events(entry);
    } else if (key == "ssh") {
        parse_ssh(entry, sync.ssh, where);
    } else if (key == "sqlite") {
        parse_sqlite(entry, sync.sqlite, where);
    } else {
        return false;
    }
    return true;
}

// A plain decimal number (fractions allowed) within [min, max].
double Parser::parse_number(const Entry& entry, double min, double max) const {
    const auto error = [&] {
        fail_value(entry, fmt::format("'{}' must be a number from {:g} to {:g}, got {}", entry.key,
                                      min, max, describe(entry.value)));
    };
    if (!entry.value.IsScalar())
        error();
    const std::string& text = entry.value.Scalar();
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
        value < min || value > max)
        error();
    return value;
}

// One non-empty string, or a non-empty list of them.
std::vector<std::string> Parser::parse_strings(const Entry& entry) const {
    if (entry.value.IsScalar())
        return {parse_string(entry, entry.key)};
    if (!entry.value.IsSequence() || entry.value.size() == 0)
        fail_value(entry, fmt::format("'{}' must be a string or a non-empty list of strings, got "
                                      "{}",
                                      entry.key, describe(entry.value)));
    std::vector<std::string> values;
    for (const YAML::Node& item : entry.value)
        values.push_back(parse_string(Entry{entry.key, entry.key_mark, item}, entry.key));
    return values;
}

// Fails unless `section` is a mapping (an empty one is allowed: the defaults).
void Parser::require_map(const Entry& section, std::string_view name) const {
    if (!section.value.IsNull() && !section.value.IsMap())
        fail_value(section,
                   fmt::format("'{}' must be a mapping, got {}", name, describe(section.value)));
}

MonitorConfig Parser::parse_monitor(const Entry& section) const {
    MonitorConfig monitor;
    require_map(section, "monitor");
    if (section.value.IsNull())
        return monitor;
    for (const Entry& e : entries(section.value, "'monitor'")) {
        if (e.key == "interval") {
            monitor.interval_seconds = parse_number(e, 0.1, k_max_delay_seconds);
        } else if (e.key == "backlog_threshold") {
            monitor.backlog_threshold = static_cast<std::size_t>(
                parse_integer(e, 0, std::numeric_limits<std::size_t>::max()));
        } else if (e.key == "backlog_max_age") {
            monitor.backlog_max_age_seconds = parse_number(e, 1, 30 * k_max_delay_seconds);
        } else if (e.key == "disk_usage_percent") {
            monitor.disk_usage_percent = parse_number(e, 0, 100);
        } else if (e.key == "disk_critical_percent") {
            monitor.disk_critical_percent = parse_number(e, 0, 100);
        } else if (e.key == "inode_usage_percent") {
            monitor.inode_usage_percent = parse_number(e, 0, 100);
        } else if (e.key == "inotify_watch_percent") {
            monitor.inotify_watch_percent = parse_number(e, 0, 100);
        } else if (e.key == "recovery_point") {
            monitor.recovery_point_seconds = parse_number(e, 1, 30 * k_max_delay_seconds);
        } else if (e.key == "mountpoints") {
            for (const std::string& text : parse_strings(e))
                monitor.mountpoints.push_back(
                    parse_path(Entry{e.key, e.key_mark, YAML::Node(text)}, e.key));
        } else {
            fail_unknown(e, "in 'monitor'", k_monitor_keys);
        }
    }
    if (monitor.disk_critical_percent < monitor.disk_usage_percent)
        fail(section.key_mark,
             fmt::format("'monitor.disk_critical_percent' ({:g}) must not be below "
                         "'monitor.disk_usage_percent' ({:g})",
                         monitor.disk_critical_percent, monitor.disk_usage_percent));
    return monitor;
}

EmailAlertConfig Parser::parse_email(const Entry& section) const {
    EmailAlertConfig email;
    if (!section.value.IsMap())
        fail_value(section, fmt::format("'alerts.email' must be a mapping with at least 'to' and "
                                        "'smtp_url' or 'sendmail_command', got {}",
                                        describe(section.value)));
    bool has_to = false;
    for (const Entry& e : entries(section.value, "'alerts.email'")) {
        if (e.key == "to") {
            email.to = parse_strings(e);
            has_to = true;
        } else if (e.key == "from") {
            email.from = parse_string(e, "alerts.email.from");
        } else if (e.key == "smtp_url") {
            const std::string url = parse_string(e, "alerts.email.smtp_url");
            if (!url.starts_with("smtp://") && !url.starts_with("smtps://"))
                fail_value(e, fmt::format("'alerts.email.smtp_url' must start with smtp:// or "
                                          "smtps://, got {}",
                                          describe(e.value)));
            email.smtp_url = url;
        } else if (e.key == "username") {
            email.username = parse_string(e, "alerts.email.username");
        } else if (e.key == "password") {
            email.password = parse_string(e, "alerts.email.password");
        } else if (e.key == "password_file") {
            email.password_file = parse_path(e, "alerts.email.password_file");
        } else if (e.key == "password_env") {
            email.password_env = parse_string(e, "alerts.email.password_env");
        } else if (e.key == "starttls") {
            email.starttls = parse_bool(e, "alerts.email.starttls");
        } else if (e.key == "ca_file") {
            email.ca_file = parse_path(e, "alerts.email.ca_file");
        } else if (e.key == "sendmail_command") {
            email.sendmail_command = parse_strings(e);
        } else {
            fail_unknown(e, "in 'alerts.email'", k_email_keys);
        }
    }
    if (!has_to)
        fail(section.key_mark, "'alerts.email.to' is required: one address or a list");
    if (email.smtp_url.has_value() == !email.sendmail_command.empty())
        fail(section.key_mark, "'alerts.email' needs exactly one of 'smtp_url' (SMTP) and "
                               "'sendmail_command' (msmtp, sendmail)");
    const int passwords =
        (email.password ? 1 : 0) + (email.password_file ? 1 : 0) + (email.password_env ? 1 : 0);
    if (passwords > 1)
        fail(section.key_mark, "'alerts.email' takes only one of 'password', 'password_file' "
                               "and 'password_env'");
    if (passwords > 0 && !email.username)
        fail(section.key_mark, "'alerts.email' has a password but no 'username'");
    if (!email.smtp_url && (email.username || email.starttls || email.ca_file))
        fail(section.key_mark, "'username', 'password*', 'starttls' and 'ca_file' in "
                               "'alerts.email' only apply with 'smtp_url'");
    if (email.starttls && email.smtp_url && email.smtp_url->starts_with("smtps://"))
        fail(section.key_mark, "'starttls' is for smtp:// URLs; smtps:// is TLS from the start");
    return email;
}

AlertsConfig Parser::parse_alerts(const Entry& section) const {
    AlertsConfig alerts;
    require_map(section, "alerts");
    if (section.value.IsNull())
        return alerts;
    for (const Entry& e : entries(section.value, "'alerts'")) {
        if (e.key == "email") {
            alerts.email = parse_email(e);
        } else if (e.key == "exec") {
            if (!e.value.IsMap())
                fail_value(e, fmt::format("'alerts.exec' must be a mapping with 'command', got {}",
                                          describe(e.value)));
            for (const Entry& x : entries(e.value, "'alerts.exec'")) {
                if (x.key == "command")
                    alerts.exec_command = parse_strings(x);
                else
                    fail_unknown(x, "in 'alerts.exec'", k_exec_keys);
            }
            if (alerts.exec_command.empty())
                fail(e.key_mark, "'alerts.exec.command' is required (a program and its "
                                 "arguments, as a list)");
        } else if (e.key == "rate_limit_window") {
            alerts.rate_limit_window_seconds = parse_number(e, 0, 7 * k_max_delay_seconds);
        } else if (e.key == "retry_interval") {
            alerts.retry_seconds = parse_number(e, 0.1, k_max_delay_seconds);
        } else {
            fail_unknown(e, "in 'alerts'", k_alerts_keys);
        }
    }
    return alerts;
}

MetricsConfig Parser::parse_metrics(const Entry& section) const {
    MetricsConfig metrics;
    require_map(section, "metrics");
    if (section.value.IsNull())
        return metrics;
    for (const Entry& e : entries(section.value, "'metrics'")) {
        if (e.key == "textfile")
            metrics.textfile = parse_path(e, "metrics.textfile");
        else if (e.key == "listen")
            metrics.listen = parse_string(e, "metrics.listen");
        else
            fail_unknown(e, "in 'metrics'", k_metrics_keys);
    }
    return metrics;
}

void Parser::parse_status_keys(const std::vector<Entry>& keys, Config& config) const {
    for (const Entry& e : keys) {
        if (e.key == "status_file")
            config.status_file = parse_path(e, "status_file");
        else if (e.key == "status_interval")
            config.status_interval_seconds = parse_number(e, 0.1, k_max_delay_seconds);
        else if (e.key == "monitor")
            config.monitor = parse_monitor(e);
        else if (e.key == "alerts")
            config.alerts = parse_alerts(e);
        else if (e.key == "metrics")
            config.metrics = parse_metrics(e);
    }
}

SyncConfig Parser::parse_defaults(const Entry& section) const {
    SyncConfig defaults;
    if (section.value.IsNull())
        return defaults;
    if (!section.value.IsMap())
        fail_value(section,
                   fmt::format("'defaults' must be a mapping, got {}", describe(section.value)));
    for (const Entry& e : entries(section.value, "'defaults'")) {
        if (e.key == "name" || e.key == "source" || e.key == "target")
            fail(e.key_mark,
                 fmt::format("'{}' cannot be set in 'defaults'; set it in each sync", e.key));
        if (!apply_option(e, defaults, "'defaults'"))
            fail_unknown(e, "in 'defaults'", k_defaults_keys);
    }
    return defaults;
}

std::vector<SyncConfig> Parser::parse_sync(const YAML::Node& node, std::size_t index,
                                           const SyncConfig& defaults) const {
    const std::string ordinal = fmt::format("sync #{}", index + 1);
    if (!node.IsMap())
        fail(node.Mark(), fmt::format("{} must be a mapping with at least 'source' and "
                                      "'target', got {}",
                                      ordinal, describe(node)));
    const std::vector<Entry> keys = entries(node, ordinal);

    // The name comes first so that every later message can use it.
    SyncConfig sync = defaults;
    sync.name = fmt::format("sync{}", index + 1);
    const auto named =
        std::find_if(keys.begin(), keys.end(), [](const Entry& e) { return e.key == "name"; });
    if (named != keys.end()) {
        sync.name = parse_string(*named, "name");
        if (!is_valid_name(sync.name))
            fail_value(*named, fmt::format("'name' must consist of letters, digits, '_', '.' "
                                           "and '-' (and not be '.' or '..'), got {}",
                                           describe(named->value)));
    }
    const std::string where = fmt::format("sync '{}'", sync.name);

    bool has_source = false;
    const Entry* target = nullptr;
    for (const Entry& e : keys) {
        if (e.key == "name") {
            continue;
        } else if (e.key == "source") {
            sync.source = parse_path(e, "source");
            has_source = true;
        } else if (e.key == "target") {
            target = &e; // parsed last: it may refine the sync's 'ssh' settings
        } else if (!apply_option(e, sync, where)) {
            fail_unknown(e, "in " + where, k_sync_keys);
        }
    }
    if (!has_source)
        fail(node.Mark(), fmt::format("'source' is required in {}", where));
    if (target == nullptr)
        fail(node.Mark(), fmt::format("'target' is required in {}", where));

    // A list of targets fans out: one sync per target, each with its own queue and connection.
    std::vector<SyncConfig> syncs;
    if (!target->value.IsSequence()) {
        parse_target(*target, sync, where);
        syncs.push_back(std::move(sync));
        return syncs;
    }
    if (target->value.size() == 0)
        fail_value(*target, fmt::format("'target' in {} is an empty list", where));
    const bool several = target->value.size() > 1;
    for (const YAML::Node& item : target->value) {
        SyncConfig one = sync;
        if (several)
            one.name = fmt::format("{}-{}", sync.name, syncs.size() + 1);
        parse_target(Entry{target->key, target->key_mark, item}, one,
                     fmt::format("sync '{}'", one.name));
        syncs.push_back(std::move(one));
    }
    return syncs;
}

std::vector<SyncConfig> Parser::parse_syncs(const Entry& section,
                                            const SyncConfig& defaults) const {
    if (!section.value.IsSequence() || section.value.size() == 0)
        fail_value(section, fmt::format("'syncs' must be a non-empty list of syncs, got {}",
                                        describe(section.value)));
    std::vector<SyncConfig> syncs;
    std::vector<YAML::Mark> marks; // where each sync starts, for messages about pairs
    std::size_t index = 0;
    for (const YAML::Node& node : section.value) {
        for (SyncConfig& sync : parse_sync(node, index, defaults)) {
            for (std::size_t i = 0; i < syncs.size(); ++i) {
                if (syncs[i].name == sync.name)
                    fail(node.Mark(), fmt::format("duplicate sync name '{}' (also used by the "
                                                  "sync on line {}); names must be unique",
                                                  sync.name, marks[i].line + 1));
                if (syncs[i].target == sync.target)
                    fail(node.Mark(),
                         fmt::format("sync '{}' has the same target {} as sync '{}' on "
                                     "line {}",
                                     sync.name, sync.target, syncs[i].name, marks[i].line + 1));
            }
            syncs.push_back(std::move(sync));
            marks.push_back(node.Mark());
        }
        ++index;
    }
    return syncs;
}

Config Parser::parse_document(const YAML::Node& root) const {
    if (!root.IsMap())
        fail(root.Mark(), fmt::format("the configuration must be a mapping with a 'syncs' "
                                      "list, got {}",
                                      describe(root)));
    const std::vector<Entry> keys = entries(root, "the configuration");
    const std::vector<std::string_view> known = {"log",         "defaults",        "syncs",
                                                 "status_file", "status_interval", "state_dir",
                                                 "monitor",     "alerts",          "metrics"};
    for (const Entry& e : keys) {
        if (std::find(known.begin(), known.end(), e.key) == known.end())
            fail_unknown(e, "at the top level", k_top_level_keys);
    }
    const auto find = [&](std::string_view key) -> const Entry* {
        const auto it =
            std::find_if(keys.begin(), keys.end(), [&](const Entry& e) { return e.key == key; });
        return it == keys.end() ? nullptr : &*it;
    };

    Config config;
    if (const Entry* log = find("log"))
        config.log = parse_log(*log);
    if (const Entry* state_dir = find("state_dir"))
        config.state_dir = parse_path(*state_dir, "state_dir");
    SyncConfig defaults;
    if (const Entry* section = find("defaults"))
        defaults = parse_defaults(*section);
    const Entry* syncs = find("syncs");
    if (syncs == nullptr)
        fail(root.Mark(), "'syncs' is required: a list with at least one source and target");
    config.syncs = parse_syncs(*syncs, defaults);
    parse_status_keys(keys, config);
    return config;
}

Config Parser::parse_alert_settings(const YAML::Node& root) const {
    if (!root.IsMap())
        fail(root.Mark(),
             fmt::format("the configuration must be a mapping, got {}", describe(root)));
    Config config;
    for (const Entry& e : entries(root, "the configuration")) {
        if (e.key == "alerts")
            config.alerts = parse_alerts(e);
        else if (e.key == "state_dir")
            config.state_dir = parse_path(e, "state_dir");
    }
    return config;
}

// Lists and mappings nested deeper than this are refused before yaml-cpp builds a tree of
// them: fsmirror.yml needs five levels, and yaml-cpp recurses once per level (up to its own
// limit of 2000) in code no sanitizer sees.
constexpr int k_max_nesting = 32;

// Records where each document of a stream starts (its first node, as YAML::Node::Mark() says),
// and refuses nesting deeper than k_max_nesting while the stream is read.
struct DocumentStarts final : YAML::EventHandler {
    explicit DocumentStarts(const Parser& parser) : m_parser(parser) {}

    std::vector<YAML::Mark> marks;
    bool before_first_node = false;

    void node(const YAML::Mark& mark) {
        if (before_first_node)
            marks.back() = mark;
        before_first_node = false;
    }
    void open(const YAML::Mark& mark) {
        node(mark);
        if (++m_depth > k_max_nesting)
            m_parser.fail(mark, fmt::format("lists and mappings are nested more than {} deep",
                                            k_max_nesting));
    }
    void OnDocumentStart(const YAML::Mark& mark) override {
        marks.push_back(mark);
        before_first_node = true;
        m_depth = 0;
    }
    void OnDocumentEnd() override {}
    void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
    void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  const std::string&) override {
        node(mark);
    }
    void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                         YAML::EmitterStyle::value) override {
        open(mark);
    }
    void OnSequenceEnd() override { --m_depth; }
    void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                    YAML::EmitterStyle::value) override {
        open(mark);
    }
    void OnMapEnd() override { --m_depth; }

private:
    const Parser& m_parser;
    int m_depth = 0;
};

// Returns the one YAML document of `text`; throws ConfigError when there is not exactly one or
// it is not YAML.
YAML::Node load_single_document(const Parser& parser, const std::string& text) {
    DocumentStarts starts(parser);
    YAML::Node document;
    try {
        // At most two documents are looked at: YAML::LoadAll never returns on some malformed
        // streams (endless empty documents, found by fuzz/fuzz_yaml_config).
        std::istringstream stream(text);
        YAML::Parser events(stream);
        while (starts.marks.size() < 2 && events.HandleNextDocument(starts)) {
        }
        if (starts.marks.size() == 1)
            document = YAML::Load(text);
    } catch (const YAML::Exception& e) {
        parser.fail(e.mark, "YAML syntax error: " + e.msg);
    }
    if (starts.marks.empty())
        parser.fail(YAML::Mark::null_mark(), "the configuration is empty; 'syncs' is required");
    if (starts.marks.size() > 1)
        parser.fail(starts.marks[1], "only one YAML document is allowed");
    return document;
}

// An inline SMTP password in a file every user can read is refused, whatever loads it.
void check_secret_is_private(const fs::path& file, const Config& config) {
    if (!config.alerts.email || !config.alerts.email->password)
        return;
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && (st.st_mode & (S_IROTH | S_IWOTH)) != 0)
        throw ConfigError(fmt::format(
            "{} holds a secret (alerts.email.password) but can be read by every user "
            "(mode {:04o}): run `chmod o-rwx {}` (or `chmod 600`), or move the password to "
            "a file named by 'password_file'",
            file.string(), st.st_mode & 07777, file.string()));
}

} // namespace

Config load_yaml_config_text(const std::string& text, const std::string& origin,
                             const std::filesystem::path& base_dir) {
    const Parser parser(origin, base_dir.empty() ? fs::current_path() : fs::absolute(base_dir));
    const YAML::Node document = load_single_document(parser, text);
    try {
        return parser.parse_document(document);
    } catch (const YAML::Exception& e) {
        // Not expected (nothing above converts values through yaml-cpp), but never let one out.
        parser.fail(e.mark, e.msg);
    }
}

Config load_yaml_config_file(const std::filesystem::path& path) {
    const fs::path absolute = fs::absolute(path).lexically_normal();
    const std::string text = read_config_file(absolute);

    Config config = load_yaml_config_text(text, absolute.string(), absolute.parent_path());
    config.source_file = absolute;
    check_secret_is_private(absolute, config);
    return config;
}

Config load_yaml_alert_settings_file(const std::filesystem::path& path) {
    const fs::path absolute = fs::absolute(path).lexically_normal();
    const std::string text = read_config_file(absolute);
    const Parser parser(absolute.string(), absolute.parent_path());
    const YAML::Node document = load_single_document(parser, text);
    Config config;
    try {
        config = parser.parse_alert_settings(document);
    } catch (const YAML::Exception& e) {
        parser.fail(e.mark, e.msg);
    }
    config.source_file = absolute;
    check_secret_is_private(absolute, config);
    return config;
}

} // namespace fsmirror::config
