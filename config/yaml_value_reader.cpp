// Typed values out of a YAML tree, with file:line:column messages (see yaml_value_reader.hpp).

#include "config/yaml_value_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <system_error>
#include <utility>

#include <fmt/format.h>

namespace fsmirror::config {

namespace fs = std::filesystem;

std::string describe_node(const YAML::Node& node) {
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

YamlValueReader::YamlValueReader(std::string origin, fs::path base_dir)
    : m_origin(std::move(origin)), m_base_dir(std::move(base_dir)) {}

void YamlValueReader::fail(const YAML::Mark& mark, const std::string& message) const {
    throw ConfigError(location(mark) + ": " + message);
}

std::string YamlValueReader::location(const YAML::Mark& mark) const {
    if (mark.is_null())
        return m_origin + ":1:1";
    return fmt::format("{}:{}:{}", m_origin, mark.line + 1, mark.column + 1);
}

// Returns the keys of `map` in order, after checking that they are unique plain names.
std::vector<YamlEntry> YamlValueReader::entries(const YAML::Node& map,
                                                std::string_view section) const {
    std::vector<YamlEntry> result;
    // By value: yaml-cpp's iterators hand out temporaries, so `it->first` would dangle.
    for (const auto& pair : map) {
        const YAML::Node key = pair.first;
        if (!key.IsScalar())
            fail(key.Mark(),
                 fmt::format("keys in {} must be names, got {}", section, describe_node(key)));
        const auto previous = std::find_if(result.begin(), result.end(), [&](const YamlEntry& e) {
            return e.key == key.Scalar();
        });
        if (previous != result.end())
            fail(key.Mark(), fmt::format("duplicate key '{}' in {} (first set on line {})",
                                         key.Scalar(), section, previous->key_mark.line + 1));
        result.push_back(YamlEntry{key.Scalar(), key.Mark(), pair.second});
    }
    return result;
}

// An empty value has no position of its own (yaml-cpp marks the next token), so point at its key.
void YamlValueReader::fail_value(const YamlEntry& entry, const std::string& message) const {
    fail(entry.value.IsNull() ? entry.key_mark : entry.value.Mark(), message);
}

void YamlValueReader::fail_unknown(const YamlEntry& entry, std::string_view where,
                                   std::string_view known) const {
    fail(entry.key_mark,
         fmt::format("unknown key '{}' {} (known keys: {})", entry.key, where, known));
}

std::string YamlValueReader::parse_string(const YamlEntry& entry, std::string_view name) const {
    if (!entry.value.IsScalar() || entry.value.Scalar().empty())
        fail_value(entry, fmt::format("'{}' must be a non-empty string, got {}", name,
                                      describe_node(entry.value)));
    const std::string& text = entry.value.Scalar();
    if (text.find('\0') != std::string::npos)
        fail_value(entry, fmt::format("'{}' must not contain a NUL character", name));
    return text;
}

// Absolute against the base directory and lexically normalised, without a trailing slash.
fs::path YamlValueReader::parse_path(const YamlEntry& entry, std::string_view name) const {
    if (!entry.value.IsScalar() || entry.value.Scalar().empty())
        fail_value(entry,
                   fmt::format("'{}' must be a path, got {}", name, describe_node(entry.value)));
    const std::string text = parse_string(entry, name);
    fs::path path = (m_base_dir / text).lexically_normal();
    if (!path.has_filename() && path != path.root_path())
        path = path.parent_path();
    return path;
}

// Only the words true and false: yaml-cpp would also read yes/no/on/off (YAML 1.1), which
// surprises people who meant a string, so those are refused with a hint.
bool YamlValueReader::parse_bool(const YamlEntry& entry, std::string_view name) const {
    if (entry.value.IsScalar()) {
        if (entry.value.Scalar() == "true")
            return true;
        if (entry.value.Scalar() == "false")
            return false;
    }
    fail_value(entry,
               fmt::format("'{}' must be true or false, got {}", name, describe_node(entry.value)));
}

double YamlValueReader::parse_seconds(const YamlEntry& entry) const {
    const auto error = [&] {
        fail_value(entry, fmt::format("'{}' must be a number of seconds >= 0, got {}", entry.key,
                                      describe_node(entry.value)));
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
                                      entry.key, k_max_delay_seconds, describe_node(entry.value)));
    return value;
}

// Decimal digits only: no sign, fraction, exponent or YAML 1.1 forms (0x10, 1_000).
unsigned long long YamlValueReader::parse_integer(const YamlEntry& entry, unsigned long long min,
                                                  unsigned long long max) const {
    const std::string range = max == std::numeric_limits<unsigned long long>::max()
                                  ? fmt::format(">= {}", min)
                                  : fmt::format("from {} to {}", min, max);
    const auto error = [&] {
        fail_value(entry, fmt::format("'{}' must be an integer {}, got {}", entry.key, range,
                                      describe_node(entry.value)));
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

std::vector<std::string> YamlValueReader::parse_patterns(const YamlEntry& entry) const {
    const auto error = [&](const YAML::Node& at) {
        fail(at.IsNull() ? entry.key_mark : at.Mark(),
             fmt::format("'{}' must be a pattern or a list of patterns (non-empty strings), "
                         "got {}",
                         entry.key, describe_node(at)));
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
        patterns.push_back(parse_string(YamlEntry{entry.key, entry.key_mark, item}, entry.key));
    }
    return patterns;
}

// A path for SSH files: "~/" is the home directory (as in ssh_config), relative paths resolve
// against the config file's directory.
fs::path YamlValueReader::parse_key_path(const YamlEntry& entry, std::string_view name) const {
    const std::string text = parse_string(entry, name);
    if (text.starts_with("~/")) {
        const char* home = std::getenv("HOME");
        if (home == nullptr || *home == '\0')
            fail_value(entry, fmt::format("'{}' starts with ~/ but HOME is not set", name));
        return (fs::path(home) / text.substr(2)).lexically_normal();
    }
    return parse_path(entry, name);
}

// A plain decimal number (fractions allowed) within [min, max].
double YamlValueReader::parse_number(const YamlEntry& entry, double min, double max) const {
    const auto error = [&] {
        fail_value(entry, fmt::format("'{}' must be a number from {:g} to {:g}, got {}", entry.key,
                                      min, max, describe_node(entry.value)));
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
std::vector<std::string> YamlValueReader::parse_strings(const YamlEntry& entry) const {
    if (entry.value.IsScalar())
        return {parse_string(entry, entry.key)};
    if (!entry.value.IsSequence() || entry.value.size() == 0)
        fail_value(entry, fmt::format("'{}' must be a string or a non-empty list of strings, got "
                                      "{}",
                                      entry.key, describe_node(entry.value)));
    std::vector<std::string> values;
    for (const YAML::Node& item : entry.value)
        values.push_back(parse_string(YamlEntry{entry.key, entry.key_mark, item}, entry.key));
    return values;
}

// Fails unless `section` is a mapping (an empty one is allowed: the defaults).
void YamlValueReader::require_map(const YamlEntry& section, std::string_view name) const {
    if (!section.value.IsNull() && !section.value.IsMap())
        fail_value(section, fmt::format("'{}' must be a mapping, got {}", name,
                                        describe_node(section.value)));
}

} // namespace fsmirror::config
