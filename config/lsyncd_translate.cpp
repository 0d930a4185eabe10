#include "config/lsyncd_translate.hpp"

#include "config/lsyncd_rsync_options.hpp"
#include "config/remote_target.hpp"
#include "config/yaml_loader.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <limits>
#include <string_view>

#include <fmt/format.h>

namespace fsmirror::config {

namespace {

namespace fs = std::filesystem;
using Kind = LuaValue::Kind;

// As in the YAML loader: longer than a day is almost certainly a typo.
constexpr double k_max_delay_seconds = 86400.0;
constexpr std::size_t k_default_max_delays = 1000;

enum class Layer { rsync, rsyncssh, direct };

const char* layer_name(Layer layer) {
    switch (layer) {
    case Layer::rsync:
        return "default.rsync";
    case Layer::rsyncssh:
        return "default.rsyncssh";
    case Layer::direct:
        return "default.direct";
    }
    return "default.rsync";
}

double layer_delay(Layer layer) {
    return layer == Layer::direct ? 1.0 : 15.0;
}

// Keys that make a sync a custom layer (Lua functions or lsyncd's shell-like layer 3).
constexpr std::string_view k_custom_keys[] = {
    "action",   "collect", "prepare", "onAttrib", "onCreate",  "onModify",
    "onDelete", "onMove",  "onFull",  "full",     "onStartup", "checkgauge",
};
constexpr std::string_view k_common_keys[] = {
    "batchSizeLimit", "crontab", "delay",      "delete", "exclude",   "excludeFrom",
    "exitcodes",      "filter",  "filterFrom", "init",   "maxDelays", "maxProcesses",
    "monitor",        "name",    "rsync",      "source", "tunnel",
};
constexpr std::string_view k_target_keys[] = {"target"};
constexpr std::string_view k_rsyncssh_keys[] = {
    "host", "onMove", "ssh", "sshExitCodes", "rsyncExitCodes", "targetdir", "xargs"};
constexpr std::string_view k_ssh_keys[] = {"_extra", "binary", "identityFile", "options", "port"};
constexpr std::string_view k_facilities[] = {
    "auth",   "authpriv", "cron",   "daemon", "ftp",    "kern",   "lpr",
    "mail",   "news",     "syslog", "user",   "uucp",   "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7",
};

template <class Range> bool contains(const Range& range, std::string_view key) {
    return std::find(std::begin(range), std::end(range), key) != std::end(range);
}

std::string where_of(const std::string& origin, int line) {
    return line > 0 ? fmt::format("{}:{}", origin, line) : origin;
}

void set_field(LuaValue& table, const std::string& key, LuaValue value) {
    auto it = std::lower_bound(table.fields.begin(), table.fields.end(), key,
                               [](const LuaField& f, const std::string& k) { return f.key < k; });
    if (it != table.fields.end() && it->key == key)
        it->value = std::move(value);
    else
        table.fields.insert(it, LuaField{key, std::move(value)});
}

// lsyncd's inherit(): the table's own named keys come first and win; then every table in its
// list part is inherited in order, filling only what is still unset (nested tables merge the
// same way); other list values are appended. The first default layer found is the sync's.
void inherit(LuaValue& into, const LuaValue& from, std::optional<Layer>* layer);

void inherit_field(LuaValue& into, const std::string& key, const LuaValue& value) {
    LuaValue* existing = into.field(key);
    if (value.kind == Kind::table) {
        if (existing == nullptr) {
            set_field(into, key, LuaValue::make_table());
            inherit(*into.field(key), value, nullptr);
        } else if (existing->kind == Kind::table) {
            inherit(*existing, value, nullptr);
        }
    } else if (existing == nullptr) {
        set_field(into, key, value);
    }
}

void inherit(LuaValue& into, const LuaValue& from, std::optional<Layer>* layer) {
    for (const LuaField& f : from.fields)
        inherit_field(into, f.key, f.value);
    for (const LuaValue& item : from.items) {
        if (item.kind == Kind::table) {
            inherit(into, item, layer);
        } else if (item.kind == Kind::layer && layer != nullptr) {
            if (!*layer)
                *layer = item.text == "rsyncssh" ? Layer::rsyncssh
                         : item.text == "direct" ? Layer::direct
                                                 : Layer::rsync;
        } else {
            into.items.push_back(item);
        }
    }
    into.odd_keys.insert(into.odd_keys.end(), from.odd_keys.begin(), from.odd_keys.end());
}

// A remote target as lsyncd's config spells it, before it becomes the SSH transport's
// RemoteTarget and SshSettings.
struct LsyncdRemote {
    std::string user;
    std::string host;
    std::string path;
    std::optional<unsigned> port;
    std::optional<std::filesystem::path> identity_file;
    std::vector<std::string> ssh_options; // "Key=Value", in the order given
    bool compress = false;
};

std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool is_valid_name_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

// Splits a command line at blanks; single and double quotes group words (no escapes inside).
std::vector<std::string> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;
    char quote = 0;
    for (char c : text) {
        if (quote != 0) {
            if (c == quote)
                quote = 0;
            else
                word += c;
        } else if (c == '\'' || c == '"') {
            quote = c;
            in_word = true;
        } else if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word)
                words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word)
        words.push_back(std::move(word));
    return words;
}

class Translator {
public:
    Translator(const LsyncdCommandLineSettings& command_line, fs::path working_directory)
        : m_command_line(command_line), m_cwd(std::move(working_directory)) {
        m_out.config.lsyncd.emplace();
    }

    void apply_settings(const std::vector<LsyncdSettingCall>& calls);
    void apply_command_line();
    void add_sync(const LsyncdSyncCall& call);
    LsyncdLoad finish(const std::string& origin);

private:
    [[noreturn]] static void fail(const std::string& where, const std::string& message) {
        throw ConfigError(where + ": " + message);
    }
    void note(LsyncdNote::Level level, const std::string& where, std::optional<std::size_t> sync,
              std::string message) {
        m_out.notes.push_back(LsyncdNote{level, where, sync, std::move(message)});
    }

    fs::path resolve(const std::string& text) const;
    static std::string string_of(const LuaValue& value, const std::string& name,
                                 const std::string& where);
    static double number_of(const LuaValue& value, const std::string& name,
                            const std::string& where);
    static double seconds_of(const LuaValue& value, const std::string& name,
                             const std::string& where);
    static std::vector<std::string> patterns_of(const LuaValue& value, const std::string& name,
                                                const std::string& where);
    static DeleteMode delete_mode_of(const LuaValue& value, const std::string& where);

    void check_keys(const LuaValue& merged, Layer layer, const std::string& where);
    void read_filters(const LuaValue& merged, SyncConfig& sync, const std::string& where);
    void read_target(const LuaValue& merged, Layer layer, SyncConfig& sync,
                     const RsyncTranslation& rsync, const std::string& where, std::size_t index);
    void read_ssh_table(const LuaValue& ssh, LsyncdRemote& remote, const std::string& where,
                        std::size_t index);
    void read_ssh_args(const std::vector<std::string>& words, const std::string& from,
                       LsyncdRemote& remote, const std::string& where, std::size_t index);
    void apply_ssh_option(const std::string& option, LsyncdRemote& remote, SshSettings& ssh,
                          const std::string& where, std::size_t index);
    void map_remote(LsyncdRemote remote, SyncConfig& sync, const std::string& where,
                    std::size_t index);

    const LsyncdCommandLineSettings& m_command_line;
    fs::path m_cwd;
    std::optional<std::size_t> m_settings_max_delays;
    std::vector<std::string> m_sync_wheres; // where each sync is written, for pair messages
    LsyncdLoad m_out;
};

fs::path Translator::resolve(const std::string& text) const {
    fs::path path = (m_cwd / text).lexically_normal();
    if (!path.has_filename() && path != path.root_path())
        path = path.parent_path();
    return path;
}

std::string Translator::string_of(const LuaValue& value, const std::string& name,
                                  const std::string& where) {
    if (value.kind == Kind::number)
        return value.describe(); // Lua turns numbers into strings where strings are expected
    if (value.kind != Kind::string || value.text.empty())
        fail(where, fmt::format("Parameter \"{}\" must be a non-empty string, got {}", name,
                                value.describe()));
    if (value.text.find('\0') != std::string::npos)
        fail(where, fmt::format("Parameter \"{}\" must not contain a NUL character", name));
    return value.text;
}

double Translator::number_of(const LuaValue& value, const std::string& name,
                             const std::string& where) {
    double number = 0;
    if (value.kind == Kind::number) {
        number = value.number;
    } else if (value.kind == Kind::string) {
        // Lua's arithmetic accepts numeric strings, so lsyncd does.
        try {
            std::size_t used = 0;
            number = std::stod(value.text, &used);
            if (used != value.text.size())
                number = std::nan("");
        } catch (const std::exception&) {
            number = std::nan("");
        }
    } else {
        number = std::nan("");
    }
    if (!std::isfinite(number) || number < 0)
        fail(where,
             fmt::format("Parameter \"{}\" must be a number >= 0, got {}", name, value.describe()));
    return number;
}

double Translator::seconds_of(const LuaValue& value, const std::string& name,
                              const std::string& where) {
    const double seconds = number_of(value, name, where);
    if (seconds > k_max_delay_seconds)
        fail(where, fmt::format("Parameter \"{}\" must be at most {} seconds (one day), got {}",
                                name, k_max_delay_seconds, value.describe()));
    return seconds;
}

std::vector<std::string> Translator::patterns_of(const LuaValue& value, const std::string& name,
                                                 const std::string& where) {
    if (value.kind == Kind::string)
        return {string_of(value, name, where)};
    if (value.kind != Kind::table || !value.fields.empty() || !value.odd_keys.empty())
        fail(where, fmt::format("Parameter \"{}\" must be a pattern or a list of patterns, got {}",
                                name, value.describe()));
    std::vector<std::string> patterns;
    for (const LuaValue& item : value.items)
        patterns.push_back(string_of(item, name, where));
    return patterns;
}

DeleteMode Translator::delete_mode_of(const LuaValue& value, const std::string& where) {
    if (value.kind == Kind::boolean)
        return value.boolean ? DeleteMode::always : DeleteMode::never;
    if (value.kind == Kind::string && value.text == "startup")
        return DeleteMode::startup;
    if (value.kind == Kind::string && value.text == "running")
        return DeleteMode::running;
    fail(where, fmt::format("Parameter \"delete\" must be true, false, 'startup' or 'running', "
                            "got {}",
                            value.describe()));
}

void Translator::apply_settings(const std::vector<LsyncdSettingCall>& calls) {
    LsyncdSettings& settings = *m_out.config.lsyncd;
    for (const LsyncdSettingCall& call : calls) {
        const std::string where = where_of(call.origin, call.line);
        const LuaValue& v = call.value;
        const std::string& key = call.key;
        if (key == "logfile") {
            m_out.config.log.file = resolve(string_of(v, key, where));
        } else if (key == "pidfile") {
            settings.pid_file = resolve(string_of(v, key, where));
        } else if (key == "nodaemon") {
            settings.nodaemon = v.truthy();
        } else if (key == "insist") {
            settings.insist = v.truthy();
        } else if (key == "onepass") {
            settings.onepass = v.truthy();
        } else if (key == "statusFile") {
            m_out.config.status_file = resolve(string_of(v, key, where));
        } else if (key == "statusInterval") {
            m_out.config.status_interval_seconds = seconds_of(v, key, where);
        } else if (key == "logfacility") {
            const std::string facility = string_of(v, key, where);
            if (!contains(k_facilities, facility))
                fail(where, fmt::format("Logging facility '{}' unknown.", facility));
            settings.log_facility = facility;
        } else if (key == "logident") {
            settings.log_ident = string_of(v, key, where);
        } else if (key == "inotifyMode") {
            const std::string mode = v.kind == Kind::string ? v.text : v.describe();
            if (mode == "CloseWrite")
                settings.inotify_mode = InotifyMode::close_write;
            else if (mode == "Modify")
                settings.inotify_mode = InotifyMode::modify;
            else if (mode == "CloseWrite or Modify")
                settings.inotify_mode = InotifyMode::close_write_or_modify;
            else if (mode == "CloseWrite after Modify")
                fail(where, "inotifyMode 'CloseWrite after Modify' is not implemented (lsyncd "
                            "refuses it too)");
            else
                fail(where, fmt::format("inotifyMode must be 'CloseWrite', 'Modify' or "
                                        "'CloseWrite or Modify', got {}",
                                        v.describe()));
            if (settings.inotify_mode != InotifyMode::close_write)
                note(LsyncdNote::Level::info, where, std::nullopt,
                     fmt::format("inotifyMode {}: nothing to do: fsmirror always sees both "
                                 "closed and modified files",
                                 v.describe()));
        } else if (key == "maxProcesses") {
            const double n = number_of(v, key, where);
            if (n < 1)
                fail(where, "maxProcesses must be at least 1");
            settings.max_processes = static_cast<unsigned long>(n);
            note(LsyncdNote::Level::info, where, std::nullopt,
                 "maxProcesses: fsmirror transfers in-process with a few worker threads per sync "
                 "(`workers`, default 4); there are no rsync processes to limit");
        } else if (key == "maxDelays") {
            const double n = number_of(v, key, where);
            m_settings_max_delays = std::max<std::size_t>(1, static_cast<std::size_t>(n));
        } else {
            fail(where, fmt::format("setting \"{}\" unknown.", key));
        }
    }
}

void Translator::apply_command_line() {
    LsyncdSettings& settings = *m_out.config.lsyncd;
    const auto& cl = m_command_line;
    if (cl.nodaemon)
        settings.nodaemon = true;
    if (cl.insist)
        settings.insist = true;
    if (cl.onepass)
        settings.onepass = true;
    if (cl.logfile)
        m_out.config.log.file = resolve(*cl.logfile);
    if (cl.pidfile)
        settings.pid_file = resolve(*cl.pidfile);
    m_out.config.log.level = cl.log_level.value_or(base::LogLevel::info);
    m_out.config.log.style = base::LogStyle::lsyncd;
}

void Translator::check_keys(const LuaValue& merged, Layer layer, const std::string& where) {
    for (const LuaField& f : merged.fields) {
        const bool rsyncssh_switch =
            f.key == "onMove" && layer == Layer::rsyncssh && f.value.kind == Kind::boolean;
        if (contains(k_custom_keys, f.key) && !rsyncssh_switch)
            fail(where, fmt::format("{} = {} is a custom layer, which fsmirror cannot run: it "
                                    "mirrors with default.rsync, default.rsyncssh and "
                                    "default.direct only, and runs no Lua or shell actions. "
                                    "Remove it, or keep this sync on lsyncd",
                                    f.key, f.value.describe()));
        if (f.key == "init" && !(f.value.kind == Kind::boolean && !f.value.boolean))
            fail(where, fmt::format("init = {} is a custom layer, which fsmirror cannot run; "
                                    "only init = false (skip the startup sync) is supported",
                                    f.value.describe()));
    }
    for (const LuaField& f : merged.fields) {
        const bool known = contains(k_common_keys, f.key) ||
                           (layer == Layer::rsyncssh ? contains(k_rsyncssh_keys, f.key)
                                                     : contains(k_target_keys, f.key));
        if (known)
            continue;
        std::vector<std::string_view> keys(std::begin(k_common_keys), std::end(k_common_keys));
        if (layer == Layer::rsyncssh)
            keys.insert(keys.end(), std::begin(k_rsyncssh_keys), std::end(k_rsyncssh_keys));
        else
            keys.insert(keys.end(), std::begin(k_target_keys), std::end(k_target_keys));
        std::sort(keys.begin(), keys.end());
        fail(where, fmt::format("Parameter \"{}\" unknown. ({} knows: {})", f.key,
                                layer_name(layer), fmt::join(keys, ", ")));
    }
    if (!merged.odd_keys.empty())
        fail(where, fmt::format("sync{{}}: unexpected key {}", merged.odd_keys.front()));
    if (!merged.items.empty())
        fail(where, fmt::format("sync{{}}: unexpected {} in the list part, which holds layers "
                                "such as default.rsync",
                                merged.items.front().describe()));
}

void Translator::read_filters(const LuaValue& merged, SyncConfig& sync, const std::string& where) {
    if (const LuaValue* v = merged.field("exclude"))
        sync.excludes = patterns_of(*v, "exclude", where);
    if (const LuaValue* v = merged.field("excludeFrom"))
        sync.exclude_from = resolve(string_of(*v, "excludeFrom", where));

    // rsync filter rules: only exclusions ("- pattern") are supported.
    std::vector<std::string> rules;
    if (const LuaValue* v = merged.field("filter"))
        rules = patterns_of(*v, "filter", where);
    if (const LuaValue* v = merged.field("filterFrom")) {
        const fs::path file = resolve(string_of(*v, "filterFrom", where));
        std::ifstream in(file);
        if (!in)
            fail(where, fmt::format("Cannot open filter file {}", file.string()));
        for (std::string line; std::getline(in, line);) {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            if (line.empty() || line[0] == '#' || line[0] == ';')
                continue;
            rules.push_back(line);
        }
    }
    for (const std::string& rule : rules) {
        std::string_view text = rule;
        if (text.starts_with("- ") || text.starts_with("exclude ")) {
            text.remove_prefix(text.find(' ') + 1);
            sync.excludes.emplace_back(text);
        } else {
            fail(where, fmt::format("filter rule '{}' is not supported: fsmirror supports "
                                    "exclusions ('- pattern') only; use exclude",
                                    rule));
        }
    }
}

void Translator::read_ssh_args(const std::vector<std::string>& words, const std::string& from,
                               LsyncdRemote& remote, const std::string& where, std::size_t index) {
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        const auto value = [&](char flag) -> std::string {
            if (w.size() > 2)
                return w.substr(2);
            if (i + 1 >= words.size())
                fail(where, fmt::format("{}: -{} needs a value", from, flag));
            return words[++i];
        };
        if (w.starts_with("-l")) {
            remote.user = value('l');
        } else if (w.starts_with("-p")) {
            const std::string port = value('p');
            try {
                remote.port = static_cast<unsigned>(std::stoul(port));
            } catch (const std::exception&) {
                fail(where, fmt::format("{}: -p needs a port number, got '{}'", from, port));
            }
        } else if (w.starts_with("-i")) {
            remote.identity_file = resolve(value('i'));
        } else if (w.starts_with("-o")) {
            remote.ssh_options.push_back(value('o'));
        } else if (w == "-C") {
            remote.compress = true;
        } else if (w == "-q" || w == "-v" || w == "-T" || w == "-x" || w == "-a" || w == "-4" ||
                   w == "-6" || w == "-n" || w == "-k") {
            note(LsyncdNote::Level::info, where, index,
                 fmt::format("{} {}: not needed by the SSH transport", from, w));
        } else {
            note(LsyncdNote::Level::warning, where, index,
                 fmt::format("{} {}: not supported by the SSH transport; ignored", from, w));
        }
    }
}

void Translator::read_ssh_table(const LuaValue& ssh, LsyncdRemote& remote, const std::string& where,
                                std::size_t index) {
    if (ssh.kind != Kind::table)
        fail(where, fmt::format("Parameter \"ssh\" must be a table, got {}", ssh.describe()));
    for (const LuaField& f : ssh.fields) {
        const std::string name = "ssh." + f.key;
        if (!contains(k_ssh_keys, f.key))
            fail(where, fmt::format("Parameter \"{}\" unknown. (default.rsyncssh's ssh knows: "
                                    "binary, identityFile, options, port, _extra)",
                                    name));
        if (f.key == "identityFile") {
            remote.identity_file = resolve(string_of(f.value, name, where));
        } else if (f.key == "port") {
            const double port = number_of(f.value, name, where);
            if (port < 1 || port > 65535 || port != std::floor(port))
                fail(where, fmt::format("Parameter \"ssh.port\" must be a port number, got {}",
                                        f.value.describe()));
            remote.port = static_cast<unsigned>(port);
        } else if (f.key == "options") {
            if (f.value.kind != Kind::table)
                fail(where, "Parameter \"ssh.options\" must be a table of ssh options");
            for (const LuaField& option : f.value.fields)
                remote.ssh_options.push_back(
                    option.key + "=" + string_of(option.value, name + "." + option.key, where));
        } else if (f.key == "_extra") {
            read_ssh_args(patterns_of(f.value, name, where), name, remote, where, index);
        } else if (f.key == "binary") {
            note(LsyncdNote::Level::info, where, index,
                 "ssh.binary: not used: the SSH transport speaks SSH in-process");
        }
    }
}

// One "-o Key=Value" (or "Key Value") ssh option, onto the SSH transport's settings.
void Translator::apply_ssh_option(const std::string& option, LsyncdRemote& remote, SshSettings& ssh,
                                  const std::string& where, std::size_t index) {
    auto split = option.find_first_of("= ");
    const std::string key = lower(option.substr(0, split));
    std::string value = split == std::string::npos ? "" : option.substr(split + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '='))
        value.erase(value.begin());
    const std::string spelled = "ssh option " + option;
    const auto seconds = [&](double low, double high) {
        try {
            std::size_t used = 0;
            const double number = std::stod(value, &used);
            if (used == value.size() && number >= low && number <= high)
                return number;
        } catch (const std::exception&) {
        }
        fail(where, fmt::format("{}: needs a number of seconds from {} to {}", spelled, low, high));
    };
    if (key == "stricthostkeychecking") {
        const std::string v = lower(value);
        if (v == "yes" || v == "ask") {
            ssh.host_key_policy = HostKeyPolicy::strict;
        } else if (v == "accept-new") {
            ssh.host_key_policy = HostKeyPolicy::accept_new;
        } else if (v == "no" || v == "off") {
            ssh.host_key_policy = HostKeyPolicy::accept_new;
            note(LsyncdNote::Level::warning, where, index,
                 fmt::format("{}: unknown host keys are accepted and remembered (accept-new), "
                             "but a host key that changed is still refused",
                             spelled));
        } else {
            fail(where, fmt::format("{}: unknown value", spelled));
        }
    } else if (key == "userknownhostsfile") {
        const std::string file = value.substr(0, value.find(' '));
        ssh.known_hosts = file.starts_with("~") ? fs::path(file) : resolve(file);
    } else if (key == "connecttimeout") {
        ssh.connect_timeout_seconds = seconds(0.1, 3600);
    } else if (key == "serveraliveinterval") {
        ssh.keepalive_seconds = seconds(0, 3600);
    } else if (key == "port") {
        try {
            remote.port = static_cast<unsigned>(std::stoul(value));
        } catch (const std::exception&) {
            fail(where, fmt::format("{}: needs a port number", spelled));
        }
    } else if (key == "user") {
        remote.user = value;
    } else if (key == "identityfile") {
        remote.identity_file = resolve(value);
    } else if (key == "compression") {
        remote.compress = lower(value) == "yes";
    } else if (key == "batchmode" || key == "loglevel" || key == "passwordauthentication" ||
               key == "pubkeyauthentication" || key == "identitiesonly" ||
               key == "serveralivecountmax" || key == "controlmaster" || key == "controlpath" ||
               key == "controlpersist" || key == "addressfamily" || key == "forwardagent" ||
               key == "forwardx11" || key == "requesttty") {
        note(LsyncdNote::Level::info, where, index,
             fmt::format("{}: not needed by the SSH transport", spelled));
    } else {
        note(LsyncdNote::Level::warning, where, index,
             fmt::format("{}: not supported by the SSH transport; ignored", spelled));
    }
}

void Translator::map_remote(LsyncdRemote remote, SyncConfig& sync, const std::string& where,
                            std::size_t index) {
    SshSettings ssh;
    for (const std::string& option : remote.ssh_options)
        apply_ssh_option(option, remote, ssh, where, index);
    ssh.identity_file = remote.identity_file;
    ssh.compression = remote.compress;
    if (remote.path.empty() || remote.path.front() != '/')
        fail(where,
             fmt::format("remote path '{}' is relative to the login directory on {}; "
                         "fsmirror's SSH transport needs an absolute path (for example "
                         "/home/USER/{})",
                         remote.path, remote.host,
                         remote.path.starts_with("~/") ? remote.path.substr(2) : remote.path));
    if (remote.port && (*remote.port < 1 || *remote.port > 65535))
        fail(where, fmt::format("ssh port {} is out of range", *remote.port));

    RemoteTarget target;
    target.user = remote.user;
    target.host = remote.host;
    if (remote.port)
        target.port = static_cast<std::uint16_t>(*remote.port);
    target.path = remote.path;
    // The transport's own parser validates the host and user and normalises the path.
    const auto parsed = parse_remote_target(to_string(target));
    if (!parsed)
        fail(where, fmt::format("remote target {}@{}:{}: {}", remote.user, remote.host, remote.path,
                                parsed.error()));
    sync.remote = *parsed;
    sync.ssh = ssh;
    sync.target = to_string(*parsed);
}

void Translator::read_target(const LuaValue& merged, Layer layer, SyncConfig& sync,
                             const RsyncTranslation& rsync, const std::string& where,
                             std::size_t index) {
    std::optional<LsyncdRemote> remote;
    const auto split_user = [&](std::string host_text) {
        if (const auto at = host_text.find('@'); at != std::string::npos) {
            remote->user = host_text.substr(0, at);
            host_text = host_text.substr(at + 1);
        }
        remote->host = host_text;
    };
    if (layer == Layer::rsyncssh) {
        const LuaValue* host = merged.field("host");
        const LuaValue* dir = merged.field("targetdir");
        if (host == nullptr)
            fail(where, "default.rsyncssh needs \"host\" configured");
        if (dir == nullptr)
            fail(where, "default.rsyncssh needs \"targetdir\" configured");
        remote.emplace();
        split_user(string_of(*host, "host", where));
        remote->path = string_of(*dir, "targetdir", where);
    } else {
        const LuaValue* target = merged.field("target");
        if (target == nullptr)
            fail(where, fmt::format("{} needs \"target\" configured", layer_name(layer)));
        const std::string text = string_of(*target, "target", where);
        if (text.starts_with("rsync://") || text.find("::") != std::string::npos)
            fail(where, fmt::format("target '{}' is an rsync daemon, which fsmirror does not "
                                    "support; use host:/path over SSH",
                                    text));
        if (looks_remote(text)) {
            if (layer == Layer::direct)
                fail(where, fmt::format("default.direct mirrors to a local directory only, got "
                                        "target '{}'",
                                        text));
            remote.emplace();
            const auto colon = text.find(':');
            split_user(text.substr(0, colon));
            remote->path = text.substr(colon + 1);
        } else {
            sync.target = resolve(text).string();
            if (fs::path(text).is_relative())
                note(LsyncdNote::Level::warning, where, index,
                     fmt::format("target '{}' is relative: fsmirror resolves it against the "
                                 "directory it started in, {} (a daemonised lsyncd would have "
                                 "used /)",
                                 text, m_cwd.string()));
        }
    }
    if (!remote)
        return;
    if (remote->host.empty())
        fail(where, "the remote target has no host name");
    if (const LuaValue* ssh = merged.field("ssh"))
        read_ssh_table(*ssh, *remote, where, index);
    if (rsync.rsh) {
        const std::vector<std::string> words = split_words(*rsync.rsh);
        if (!words.empty() && fs::path(words.front()).filename() != "ssh")
            note(LsyncdNote::Level::warning, where, index,
                 fmt::format("rsync.rsh runs '{}'; the SSH transport speaks SSH itself and uses "
                             "only the ssh options given",
                             words.front()));
        if (!words.empty())
            read_ssh_args(std::vector<std::string>(words.begin() + 1, words.end()), "rsync.rsh",
                          *remote, where, index);
    }
    if (layer == Layer::rsyncssh)
        read_ssh_args(m_command_line.ssh_extra_args, "-sshopts", *remote, where, index);
    remote->compress = remote->compress || rsync.compress;
    map_remote(std::move(*remote), sync, where, index);
}

void Translator::add_sync(const LsyncdSyncCall& call) {
    const std::string where = where_of(call.origin, call.line);
    const std::size_t index = m_out.config.syncs.size();

    LuaValue merged = LuaValue::make_table();
    std::optional<Layer> layer;
    inherit(merged, call.table, &layer);
    if (!layer) {
        check_keys(merged, Layer::rsync, where); // a custom layer says so first
        fail(where, "no actions specified. (fsmirror runs syncs built on default.rsync, "
                    "default.rsyncssh or default.direct: sync{ default.rsync, source = ..., "
                    "target = ... })");
    }
    check_keys(merged, *layer, where);
    note(LsyncdNote::Level::info, where, index,
         fmt::format("sync{{}} with {}", layer_name(*layer)));

    SyncConfig sync;
    sync.name = fmt::format("Sync{}", index + 1); // lsyncd's default names
    if (const LuaValue* name = merged.field("name")) {
        const std::string written = string_of(*name, "name", where);
        std::string cleaned = written;
        std::replace_if(
            cleaned.begin(), cleaned.end(), [](char c) { return !is_valid_name_char(c); }, '_');
        if (cleaned == "." || cleaned == "..")
            cleaned = "_" + cleaned;
        if (cleaned != written)
            note(LsyncdNote::Level::info, where, index,
                 fmt::format("name '{}' is shown as '{}' (letters, digits, '_', '.' and '-')",
                             written, cleaned));
        sync.name = cleaned;
    }

    const LuaValue* source = merged.field("source");
    if (source == nullptr)
        fail(where, "source missing from sync.");
    const std::string source_text = string_of(*source, "source", where);
    sync.source = resolve(source_text);
    if (fs::path(source_text).is_relative())
        note(LsyncdNote::Level::info, where, index,
             fmt::format("source '{}' is relative: resolved against {}", source_text,
                         m_cwd.string()));

    // delay: command line > sync{} > the layer's default (settings{} has no delay).
    sync.delay_seconds = layer_delay(*layer);
    if (const LuaValue* delay = merged.field("delay"))
        sync.delay_seconds = seconds_of(*delay, "delay", where);
    else if (!m_command_line.delay && layer_delay(*layer) != SyncConfig{}.delay_seconds)
        note(LsyncdNote::Level::info, where, index,
             fmt::format("delay: {}'s default of {} s is kept (fsmirror's native default is 1 s)",
                         layer_name(*layer), layer_delay(*layer)));
    if (m_command_line.delay)
        sync.delay_seconds = *m_command_line.delay;
    // maxDelays: settings{} > sync{} > 1000.
    sync.max_delays = k_default_max_delays;
    if (const LuaValue* max = merged.field("maxDelays"))
        sync.max_delays =
            std::max<std::size_t>(1, static_cast<std::size_t>(number_of(*max, "maxDelays", where)));
    if (m_settings_max_delays)
        sync.max_delays = *m_settings_max_delays;

    if (const LuaValue* del = merged.field("delete"))
        sync.delete_mode = delete_mode_of(*del, where);
    if (const LuaValue* init = merged.field("init"); init != nullptr) {
        sync.initial_sync = false;
        note(LsyncdNote::Level::info, where, index,
             "init = false: the startup sync is skipped, as in lsyncd; only changes made while "
             "running are mirrored");
    }
    if (const LuaValue* monitor = merged.field("monitor")) {
        const std::string name = string_of(*monitor, "monitor", where);
        if (name != "inotify")
            fail(where, fmt::format("event monitor \"{}\" unknown. (fsmirror watches with "
                                    "inotify on Linux)",
                                    name));
    }
    if (const LuaValue* processes = merged.field("maxProcesses")) {
        number_of(*processes, "maxProcesses", where);
        note(LsyncdNote::Level::info, where, index,
             "maxProcesses: fsmirror transfers in-process with `workers` threads (default 4); "
             "there are no rsync processes to limit");
    }
    for (const char* key : {"exitcodes", "sshExitCodes", "rsyncExitCodes"})
        if (merged.field(key) != nullptr)
            note(LsyncdNote::Level::info, where, index,
                 fmt::format("{}: not used: fsmirror runs no rsync or ssh processes; a failed "
                             "transfer is retried with backoff and never stops the daemon",
                             key));
    if (merged.field("xargs") != nullptr)
        note(LsyncdNote::Level::info, where, index, "xargs: not used: fsmirror runs no xargs");
    if (merged.field("batchSizeLimit") != nullptr)
        note(LsyncdNote::Level::info, where, index,
             "batchSizeLimit: not needed: large files are transferred in parallel with the rest");
    if (const LuaValue* onmove = merged.field("onMove"); onmove != nullptr && !onmove->boolean)
        note(LsyncdNote::Level::info, where, index,
             "onMove = false: fsmirror still renames moved entries on the target instead of "
             "copying them again");
    if (merged.field("crontab") != nullptr)
        note(LsyncdNote::Level::warning, where, index,
             "crontab: periodic full syncs are not supported yet; ignored (changes are mirrored "
             "as they happen, and a restart compares the whole tree)");
    if (merged.field("tunnel") != nullptr)
        fail(where, "tunnel is not supported: fsmirror connects over SSH itself");

    read_filters(merged, sync, where);

    RsyncTranslation rsync;
    try {
        const TargetKind kind =
            *layer == Layer::rsyncssh || (merged.field("target") != nullptr &&
                                          merged.field("target")->kind == Kind::string &&
                                          looks_remote(merged.field("target")->text))
                ? TargetKind::remote
                : TargetKind::local;
        rsync = translate_rsync_options(merged.field("rsync"), kind);
    } catch (const RsyncOptionError& error) {
        fail(where, error.what());
    }
    for (const RsyncOptionNote& n : rsync.notes)
        note(n.warning ? LsyncdNote::Level::warning : LsyncdNote::Level::info, where, index,
             n.message);
    sync.preserve = rsync.preserve;
    sync.inplace = rsync.inplace;
    if (rsync.fsync_each_file)
        sync.fsync = FsyncPolicy::file;
    sync.excludes.insert(sync.excludes.end(), rsync.excludes.begin(), rsync.excludes.end());
    if (rsync.exclude_from) {
        const fs::path file = resolve(*rsync.exclude_from);
        if (sync.exclude_from && *sync.exclude_from != file)
            fail(where, fmt::format("only one exclude file is supported, got excludeFrom {} and "
                                    "rsync._extra --exclude-from={}",
                                    sync.exclude_from->string(), file.string()));
        sync.exclude_from = file;
    }
    if (rsync.delete_flag && sync.delete_mode != DeleteMode::always) {
        note(LsyncdNote::Level::warning, where, index,
             fmt::format("{} makes rsync delete at startup and while running whatever `delete` "
                         "says; fsmirror does the same (delete = true)",
                         *rsync.delete_flag));
        sync.delete_mode = DeleteMode::always;
    }

    read_target(merged, *layer, sync, rsync, where, index);

    for (std::size_t i = 0; i < m_out.config.syncs.size(); ++i) {
        const SyncConfig& other = m_out.config.syncs[i];
        if (other.name == sync.name)
            fail(where, fmt::format("duplicate sync name '{}' (also used by the sync at {}); "
                                    "names must be unique",
                                    sync.name, m_sync_wheres[i]));
        if (other.target == sync.target)
            fail(where, fmt::format("this sync has the same target {} as the sync at {}; each "
                                    "would delete what the other writes",
                                    sync.target, m_sync_wheres[i]));
    }
    m_out.config.syncs.push_back(std::move(sync));
    m_sync_wheres.push_back(where);
}

LsyncdLoad Translator::finish(const std::string& origin) {
    if (m_out.config.syncs.empty())
        fail(origin, "Nothing to watch! (the configuration has no sync{...})");
    return std::move(m_out);
}

} // namespace

LsyncdLoad translate_lsyncd(const LsyncdScript& script, const std::string& origin,
                            const LsyncdCommandLineSettings& command_line,
                            const std::filesystem::path& working_directory) {
    Translator translator(command_line, working_directory);
    translator.apply_settings(script.settings);
    translator.apply_command_line();
    for (const LsyncdSyncCall& call : script.syncs)
        translator.add_sync(call);
    LsyncdLoad load = translator.finish(origin);
    load.script_log = script.log_messages;
    return load;
}

} // namespace fsmirror::config
