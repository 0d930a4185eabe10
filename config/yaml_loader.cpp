// fsmirror.yml as a whole: reads the one YAML document (bounding its nesting), checks the
// top-level keys, parses 'log', 'state_dir' and the status keys, and hands the other sections to
// yaml_sync_sections.cpp and yaml_monitor_sections.cpp. Values are read by yaml_value_reader.cpp.

#include "config/yaml_loader.hpp"

#include "config/config_file.hpp"
#include "config/yaml_monitor_sections.hpp"
#include "config/yaml_sync_sections.hpp"
#include "config/yaml_value_reader.hpp"

#include <algorithm>
#include <sstream>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <sys/stat.h>

namespace fsmirror::config {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view k_top_level_keys = "log, defaults, syncs, status_file, "
                                              "status_interval, state_dir, monitor, alerts, "
                                              "metrics";
constexpr std::string_view k_log_keys = "level, file";

LogConfig parse_log(const YamlValueReader& reader, const YamlEntry& section) {
    LogConfig log;
    if (section.value.IsNull())
        return log;
    if (!section.value.IsMap())
        reader.fail_value(
            section, fmt::format("'log' must be a mapping, got {}", describe_node(section.value)));
    for (const YamlEntry& e : reader.entries(section.value, "'log'")) {
        if (e.key == "level") {
            const auto level =
                e.value.IsScalar() ? base::parse_log_level(e.value.Scalar()) : std::nullopt;
            if (!level)
                reader.fail_value(e, fmt::format("'log.level' must be one of debug, info, warning, "
                                                 "error; got {}",
                                                 describe_node(e.value)));
            log.level = *level;
        } else if (e.key == "file") {
            log.file = reader.parse_path(e, "log.file");
        } else {
            reader.fail_unknown(e, "in 'log'", k_log_keys);
        }
    }
    return log;
}

void parse_status_keys(const YamlValueReader& reader, const std::vector<YamlEntry>& keys,
                       Config& config) {
    for (const YamlEntry& e : keys) {
        if (e.key == "status_file")
            config.status_file = reader.parse_path(e, "status_file");
        else if (e.key == "status_interval")
            config.status_interval_seconds = reader.parse_number(e, 0.1, k_max_delay_seconds);
        else if (e.key == "monitor")
            config.monitor = parse_monitor_section(reader, e);
        else if (e.key == "alerts")
            config.alerts = parse_alerts_section(reader, e);
        else if (e.key == "metrics")
            config.metrics = parse_metrics_section(reader, e);
    }
}

Config parse_document(const YamlValueReader& reader, const YAML::Node& root) {
    if (!root.IsMap())
        reader.fail(root.Mark(), fmt::format("the configuration must be a mapping with a 'syncs' "
                                             "list, got {}",
                                             describe_node(root)));
    const std::vector<YamlEntry> keys = reader.entries(root, "the configuration");
    const std::vector<std::string_view> known = {"log",         "defaults",        "syncs",
                                                 "status_file", "status_interval", "state_dir",
                                                 "monitor",     "alerts",          "metrics"};
    for (const YamlEntry& e : keys) {
        if (std::find(known.begin(), known.end(), e.key) == known.end())
            reader.fail_unknown(e, "at the top level", k_top_level_keys);
    }
    const auto find = [&](std::string_view key) -> const YamlEntry* {
        const auto it = std::find_if(keys.begin(), keys.end(),
                                     [&](const YamlEntry& e) { return e.key == key; });
        return it == keys.end() ? nullptr : &*it;
    };

    Config config;
    if (const YamlEntry* log = find("log"))
        config.log = parse_log(reader, *log);
    if (const YamlEntry* state_dir = find("state_dir"))
        config.state_dir = reader.parse_path(*state_dir, "state_dir");
    SyncConfig defaults;
    if (const YamlEntry* section = find("defaults"))
        defaults = parse_defaults_section(reader, *section);
    const YamlEntry* syncs = find("syncs");
    if (syncs == nullptr)
        reader.fail(root.Mark(), "'syncs' is required: a list with at least one source and target");
    config.syncs = parse_syncs_section(reader, *syncs, defaults);
    parse_status_keys(reader, keys, config);
    return config;
}

Config parse_alert_settings(const YamlValueReader& reader, const YAML::Node& root) {
    if (!root.IsMap())
        reader.fail(root.Mark(), fmt::format("the configuration must be a mapping, got {}",
                                             describe_node(root)));
    Config config;
    for (const YamlEntry& e : reader.entries(root, "the configuration")) {
        if (e.key == "alerts")
            config.alerts = parse_alerts_section(reader, e);
        else if (e.key == "state_dir")
            config.state_dir = reader.parse_path(e, "state_dir");
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
    explicit DocumentStarts(const YamlValueReader& reader) : m_reader(reader) {}

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
            m_reader.fail(mark, fmt::format("lists and mappings are nested more than {} deep",
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
    const YamlValueReader& m_reader;
    int m_depth = 0;
};

// Returns the one YAML document of `text`; throws ConfigError when there is not exactly one or
// it is not YAML.
YAML::Node load_single_document(const YamlValueReader& reader, const std::string& text) {
    DocumentStarts starts(reader);
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
        reader.fail(e.mark, "YAML syntax error: " + e.msg);
    }
    if (starts.marks.empty())
        reader.fail(YAML::Mark::null_mark(), "the configuration is empty; 'syncs' is required");
    if (starts.marks.size() > 1)
        reader.fail(starts.marks[1], "only one YAML document is allowed");
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
    const YamlValueReader reader(origin,
                                 base_dir.empty() ? fs::current_path() : fs::absolute(base_dir));
    const YAML::Node document = load_single_document(reader, text);
    try {
        return parse_document(reader, document);
    } catch (const YAML::Exception& e) {
        // Not expected (nothing above converts values through yaml-cpp), but never let one out.
        reader.fail(e.mark, e.msg);
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
    const YamlValueReader reader(absolute.string(), absolute.parent_path());
    const YAML::Node document = load_single_document(reader, text);
    Config config;
    try {
        config = parse_alert_settings(reader, document);
    } catch (const YAML::Exception& e) {
        reader.fail(e.mark, e.msg);
    }
    config.source_file = absolute;
    check_secret_is_private(absolute, config);
    return config;
}

} // namespace fsmirror::config
