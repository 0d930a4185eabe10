#include "engine/exclude_filter.hpp"

#include <cerrno>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <system_error>

namespace fsmirror::engine {

namespace {

constexpr std::string_view k_whitespace = " \t\r\n\f\v";

bool is_space(char c) {
    return k_whitespace.find(c) != std::string_view::npos;
}

[[noreturn]] void throw_invalid(std::string_view pattern, std::string_view reason) {
    throw std::invalid_argument("invalid exclude pattern '" + std::string(pattern) +
                                "': " + std::string(reason));
}

// Trims whitespace on both sides, except trailing whitespace escaped by a backslash ("a\ "),
// which is part of the name.
std::string_view trim_pattern(std::string_view text) {
    while (!text.empty() && is_space(text.front())) {
        text.remove_prefix(1);
    }
    while (!text.empty() && is_space(text.back())) {
        std::size_t backslashes = 0;
        for (std::size_t i = text.size() - 1; i > 0 && text[i - 1] == '\\'; --i) {
            ++backslashes;
        }
        if (backslashes % 2 == 1) {
            break;
        }
        text.remove_suffix(1);
    }
    return text;
}

} // namespace

// Results of the glob matcher, after git's and rsync's wildmatch: the two abort values prune
// the backtracking so that patterns such as "*a*a*a*b" stay polynomial on long names.
enum class ExcludeFilter::Outcome : unsigned char {
    match,
    no_match,
    abort_all,           // the text ran out: letting an outer star take more cannot help
    abort_to_double_star // a '*' hit a '/': only an outer '**' can still help
};

ExcludeFilter::Outcome ExcludeFilter::match_tokens(const Pattern& pattern, std::size_t token_index,
                                                   std::string_view text, std::size_t pos) {
    using Kind = Token::Kind;
    const std::vector<Token>& tokens = pattern.tokens;
    for (; token_index < tokens.size(); ++token_index) {
        const Token& token = tokens[token_index];
        if (token.kind == Kind::star || token.kind == Kind::double_star) {
            const bool deep = token.kind == Kind::double_star;
            if (token_index + 1 == tokens.size()) {
                if (deep || text.find('/', pos) == std::string_view::npos) {
                    return Outcome::match;
                }
                return Outcome::abort_to_double_star;
            }
            // Let the star take 0, 1, 2, ... characters and match the rest after it.
            for (;; ++pos) {
                const Outcome rest = match_tokens(pattern, token_index + 1, text, pos);
                if (rest != Outcome::no_match && (!deep || rest != Outcome::abort_to_double_star)) {
                    return rest;
                }
                if (pos == text.size()) {
                    return Outcome::abort_all;
                }
                if (!deep && text[pos] == '/') {
                    return Outcome::abort_to_double_star;
                }
            }
        }
        if (pos == text.size()) {
            return Outcome::abort_all;
        }
        const char c = text[pos];
        switch (token.kind) {
        case Kind::literal:
            if (c != token.ch) {
                return Outcome::no_match;
            }
            break;
        case Kind::any_char:
            if (c == '/') {
                return Outcome::no_match;
            }
            break;
        case Kind::char_class:
            if (!pattern.classes[token.class_index].test(static_cast<unsigned char>(c))) {
                return Outcome::no_match;
            }
            break;
        case Kind::star:
        case Kind::double_star:
            break; // handled above
        }
        ++pos;
    }
    return pos == text.size() ? Outcome::match : Outcome::no_match;
}

bool ExcludeFilter::glob_matches(const Pattern& pattern, std::string_view text) {
    if (match_tokens(pattern, 0, text, 0) == Outcome::match) {
        return true;
    }
    // "**/x" also matches "x" itself: rsync would require at least one directory, but operators
    // writing "**/node_modules/" mean "at any depth", the top level included.
    return pattern.leading_any_dirs && match_tokens(pattern, 2, text, 0) == Outcome::match;
}

ExcludeFilter::Pattern ExcludeFilter::compile(std::string_view pattern) {
    const std::string_view text = trim_pattern(pattern);
    if (text.empty()) {
        throw_invalid(pattern, "the pattern is empty");
    }

    Pattern result;
    std::string_view body = text;
    if (body.front() == '/') {
        result.anchored = true;
        while (!body.empty() && body.front() == '/') {
            body.remove_prefix(1);
        }
    }
    while (!body.empty() && body.back() == '/') {
        // An escaped trailing slash ("a\/") stays in the body as a literal '/'.
        std::size_t backslashes = 0;
        for (std::size_t i = body.size() - 1; i > 0 && body[i - 1] == '\\'; --i) {
            ++backslashes;
        }
        if (backslashes % 2 == 1) {
            break;
        }
        result.directory_only = true;
        body.remove_suffix(1);
    }
    if (body.empty()) {
        throw_invalid(pattern, "the pattern names nothing but '/'");
    }
    result.glob = std::string(body);

    using Kind = Token::Kind;
    for (std::size_t i = 0; i < body.size(); ++i) {
        const char c = body[i];
        if (c == '*') {
            std::size_t run = 1;
            while (i + 1 < body.size() && body[i + 1] == '*') {
                ++i;
                ++run;
            }
            // "***" (rsync's "dir and everything in it") behaves as "**": an excluded directory
            // hides its contents anyway.
            result.tokens.push_back({run == 1 ? Kind::star : Kind::double_star, 0, 0});
        } else if (c == '?') {
            result.tokens.push_back({Kind::any_char, 0, 0});
        } else if (c == '\\') {
            // A trailing lone backslash has nothing to escape and stands for itself.
            const char literal = i + 1 < body.size() ? body[++i] : '\\';
            result.tokens.push_back({Kind::literal, literal, 0});
        } else if (c == '[') {
            std::size_t j = i + 1;
            bool negated = false;
            if (j < body.size() && (body[j] == '!' || body[j] == '^')) {
                negated = true;
                ++j;
            }
            std::bitset<256> members;
            bool first = true; // a ']' right after '[' or '[!' is a member, not the end
            bool closed = false;
            while (j < body.size()) {
                char lo = body[j];
                if (lo == ']' && !first) {
                    closed = true;
                    break;
                }
                first = false;
                if (lo == '\\' && j + 1 < body.size()) {
                    lo = body[++j];
                }
                ++j;
                char hi = lo;
                if (j + 1 < body.size() && body[j] == '-' && body[j + 1] != ']') {
                    j += 1;
                    hi = body[j];
                    if (hi == '\\' && j + 1 < body.size()) {
                        hi = body[++j];
                    }
                    ++j;
                }
                // A reversed range ("z-a") is empty, as in rsync and fnmatch.
                for (unsigned v = static_cast<unsigned char>(lo);
                     v <= static_cast<unsigned char>(hi); ++v) {
                    members.set(v);
                }
            }
            if (!closed) {
                throw_invalid(pattern, "unterminated '[' character class");
            }
            if (negated) {
                members.flip();
            }
            members.reset(static_cast<unsigned char>('/')); // a class never matches a separator
            result.tokens.push_back({Kind::char_class, 0, result.classes.size()});
            result.classes.push_back(members);
            i = j;
        } else {
            result.tokens.push_back({Kind::literal, c, 0});
        }
    }

    for (const Token& token : result.tokens) {
        if (token.kind == Kind::literal && token.ch == '/') {
            result.has_slash = true;
        }
    }
    result.leading_any_dirs = result.tokens.size() >= 2 &&
                              result.tokens[0].kind == Kind::double_star &&
                              result.tokens[1].kind == Kind::literal && result.tokens[1].ch == '/';
    return result;
}

bool ExcludeFilter::matches(const Pattern& pattern, std::string_view path, EntryKind kind) {
    if (pattern.directory_only && kind != EntryKind::directory) {
        return false;
    }
    if (pattern.anchored) {
        return glob_matches(pattern, path);
    }
    if (!pattern.has_slash) {
        const std::size_t slash = path.rfind('/');
        return glob_matches(pattern,
                            slash == std::string_view::npos ? path : path.substr(slash + 1));
    }
    // Unanchored with a slash: the pattern may start at any component boundary.
    if (glob_matches(pattern, path)) {
        return true;
    }
    for (std::size_t slash = path.find('/'); slash != std::string_view::npos;
         slash = path.find('/', slash + 1)) {
        if (glob_matches(pattern, path.substr(slash + 1))) {
            return true;
        }
    }
    return false;
}

void ExcludeFilter::add_pattern(std::string_view pattern) {
    Pattern compiled = compile(pattern);
    m_sources.emplace_back(pattern);
    m_patterns.push_back(std::move(compiled));
}

void ExcludeFilter::add_patterns_from_file(const std::filesystem::path& file) {
    const auto cannot_read = [&file](int err) {
        return std::runtime_error("cannot read exclude file " + file.string() + ": " +
                                  std::generic_category().message(err));
    };

    std::string content;
    {
        errno = 0;
        const std::unique_ptr<std::FILE, int (*)(std::FILE*)> stream(std::fopen(file.c_str(), "rb"),
                                                                     &std::fclose);
        if (!stream) {
            throw cannot_read(errno != 0 ? errno : ENOENT);
        }
        char buffer[4096];
        std::size_t got = 0;
        while ((got = std::fread(buffer, 1, sizeof buffer, stream.get())) > 0) {
            content.append(buffer, got);
        }
        if (std::ferror(stream.get()) != 0) {
            // fopen succeeds on a directory on Linux; the read then fails with EISDIR.
            throw cannot_read(errno != 0 ? errno : EIO);
        }
    }

    // Compile everything first so that a bad line leaves the filter as it was.
    std::vector<Pattern> compiled;
    std::vector<std::string> sources;
    std::string_view rest = content;
    for (std::size_t line_number = 1; !rest.empty(); ++line_number) {
        const std::size_t newline = rest.find('\n');
        std::string_view line = rest.substr(0, newline);
        rest.remove_prefix(newline == std::string_view::npos ? rest.size() : newline + 1);

        while (!line.empty() && is_space(line.back())) { // also strips the '\r' of CRLF files
            line.remove_suffix(1);
        }
        std::string_view trimmed = line;
        while (!trimmed.empty() && is_space(trimmed.front())) {
            trimmed.remove_prefix(1);
        }
        if (trimmed.empty() || trimmed.front() == '#' || trimmed.front() == ';') {
            continue;
        }
        const std::string where = file.string() + ":" + std::to_string(line_number) + ": ";
        if (trimmed.starts_with("+ ")) {
            throw std::runtime_error(where +
                                     "include rules ('+') are not supported in an exclude file");
        }
        if (trimmed.starts_with("- ")) { // rsync filter syntax: "- pattern" is an exclude
            trimmed.remove_prefix(2);
        }
        try {
            compiled.push_back(compile(trimmed));
        } catch (const std::invalid_argument& e) {
            throw std::runtime_error(where + e.what());
        }
        sources.emplace_back(trimmed);
    }

    for (std::size_t i = 0; i < compiled.size(); ++i) {
        m_patterns.push_back(std::move(compiled[i]));
        m_sources.push_back(std::move(sources[i]));
    }
}

bool ExcludeFilter::is_excluded(std::string_view relative_path, EntryKind kind) const {
    if (m_patterns.empty()) {
        return false;
    }
    const auto any_matches = [this](std::string_view path, EntryKind path_kind) {
        for (const Pattern& pattern : m_patterns) {
            if (matches(pattern, path, path_kind)) {
                return true;
            }
        }
        return false;
    };
    // Every ancestor is a directory; an excluded one hides the whole subtree below it.
    for (std::size_t slash = relative_path.find('/'); slash != std::string_view::npos;
         slash = relative_path.find('/', slash + 1)) {
        if (slash > 0 && any_matches(relative_path.substr(0, slash), EntryKind::directory)) {
            return true;
        }
    }
    return any_matches(relative_path, kind);
}

} // namespace fsmirror::engine
