#pragma once
// rsync-style exclude patterns, matched against paths relative to the sync root.

#include <bitset>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace fsmirror::engine {

enum class EntryKind { file, directory };

class ExcludeFilter {
public:
    ExcludeFilter() = default;

    // Adds one pattern. Throws std::invalid_argument with a message naming the pattern when it
    // is malformed (an unterminated '[' class, an empty pattern).
    void add_pattern(std::string_view pattern);

    // Reads one pattern per line; blank lines and lines starting with '#' or ';' are skipped.
    // Throws std::runtime_error naming the file (and line, for a bad pattern) on failure.
    void add_patterns_from_file(const std::filesystem::path& file);

    // True when `relative_path` ("a/b/c", no leading slash) is excluded. A directory that is
    // excluded hides everything below it, so callers need not ask for its children.
    bool is_excluded(std::string_view relative_path, EntryKind kind) const;

    bool empty() const { return m_patterns.empty(); }
    const std::vector<std::string>& patterns() const { return m_sources; }

private:
    // One element of a compiled glob. Patterns are compiled once in add_pattern so that
    // is_excluded, which runs for every event, never re-parses text.
    struct Token {
        enum class Kind : unsigned char { literal, any_char, star, double_star, char_class };
        Kind kind = Kind::literal;
        char ch = 0;                 // the character, for Kind::literal
        std::size_t class_index = 0; // index into Pattern::classes, for Kind::char_class
    };
    struct Pattern {
        std::string glob;              // without the leading '/' and trailing '/'
        bool anchored = false;         // leading '/': matches from the root only
        bool directory_only = false;   // trailing '/': matches directories only
        bool has_slash = false;        // matched against the whole path tail, not one component
        bool leading_any_dirs = false; // glob starts with "**/", which may also match no dirs
        std::vector<Token> tokens;
        std::vector<std::bitset<256>> classes; // members of each [...] class, '/' never set
    };

    // Returns the compiled pattern; throws std::invalid_argument when it is malformed.
    static Pattern compile(std::string_view pattern);
    // True when `path` (one candidate: the tested path or one of its ancestors) matches.
    static bool matches(const Pattern& pattern, std::string_view path, EntryKind kind);
    // True when the whole of `text` matches the pattern's glob.
    static bool glob_matches(const Pattern& pattern, std::string_view text);
    enum class Outcome : unsigned char; // the backtracking matcher's result, see the .cpp
    static Outcome match_tokens(const Pattern& pattern, std::size_t token, std::string_view text,
                                std::size_t pos);

    std::vector<Pattern> m_patterns;
    std::vector<std::string> m_sources;
};

} // namespace fsmirror::engine
