#pragma once
// Reads typed values out of the YAML tree of one fsmirror.yml for the section parsers: the keys
// of a mapping with their positions, and scalars as strings, paths, booleans, integers, numbers
// and seconds. Every mistake becomes a ConfigError reading "<file>:<line>:<column>: <message>".
// Internal to config/ (no YAML type leaves this folder).

#include "config/yaml_loader.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <yaml-cpp/yaml.h>

namespace fsmirror::config {

// Longer than a day is almost certainly a typo, and it keeps later std::chrono conversions far
// from overflow.
inline constexpr double k_max_delay_seconds = 86400.0;

// One key of a mapping: its name, where it is written, and its value.
struct YamlEntry {
    std::string key;
    YAML::Mark key_mark;
    YAML::Node value;
};

// Returns how a value reads in a message: "'abc'" for a scalar, "a list", "a mapping", "nothing".
std::string describe_node(const YAML::Node& node);

// Holds only what every message needs: the file's name and the directory relative paths
// resolve against. Each parse_* returns the value of `entry` or throws ConfigError naming its
// position, the key (or `name`, when given) and what was found instead.
class YamlValueReader {
public:
    YamlValueReader(std::string origin, std::filesystem::path base_dir);

    // Throws ConfigError("<origin>:<line>:<column>: <message>").
    [[noreturn]] void fail(const YAML::Mark& mark, const std::string& message) const;
    // Returns "<origin>:<line>:<column>" (line 1, column 1 for a null mark).
    std::string location(const YAML::Mark& mark) const;
    // Fails at the value of `entry`, or at its key when the value is empty.
    [[noreturn]] void fail_value(const YamlEntry& entry, const std::string& message) const;
    // Fails with "unknown key '<key>' <where> (known keys: <known>)".
    [[noreturn]] void fail_unknown(const YamlEntry& entry, std::string_view where,
                                   std::string_view known) const;

    // Returns the keys of `map` in order; fails on a key that is not a scalar or appears twice.
    // `section` names the mapping in messages ("'ssh'").
    std::vector<YamlEntry> entries(const YAML::Node& map, std::string_view section) const;
    // Fails unless `section` is a mapping or empty.
    void require_map(const YamlEntry& section, std::string_view name) const;

    // A non-empty string without NUL characters.
    std::string parse_string(const YamlEntry& entry, std::string_view name) const;
    // A path, absolute against the base directory and lexically normalised.
    std::filesystem::path parse_path(const YamlEntry& entry, std::string_view name) const;
    // A path for SSH files: as parse_path, and "~/" is the home directory.
    std::filesystem::path parse_key_path(const YamlEntry& entry, std::string_view name) const;
    // The word true or false (not YAML 1.1's yes/no/on/off).
    bool parse_bool(const YamlEntry& entry, std::string_view name) const;
    // A number of seconds from 0 to k_max_delay_seconds.
    double parse_seconds(const YamlEntry& entry) const;
    // A decimal integer within [min, max].
    unsigned long long parse_integer(const YamlEntry& entry, unsigned long long min,
                                     unsigned long long max) const;
    // A decimal number (fractions allowed) within [min, max].
    double parse_number(const YamlEntry& entry, double min, double max) const;
    // One non-empty string, or a non-empty list of them.
    std::vector<std::string> parse_strings(const YamlEntry& entry) const;
    // One pattern, or a list of them (possibly empty).
    std::vector<std::string> parse_patterns(const YamlEntry& entry) const;

private:
    std::string m_origin;
    std::filesystem::path m_base_dir;
};

} // namespace fsmirror::config
