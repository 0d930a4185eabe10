#pragma once
// Paths inside a synced tree are relative strings: "" is the root, "a/b" has no leading or
// trailing slash. Absolute paths stay std::filesystem::path and meet relative ones only here.

#include <filesystem>
#include <string>
#include <string_view>

namespace fsmirror::base {

// Returns "a/b" for ("a", "b") and "b" for ("", "b").
std::string join_rel(std::string_view parent, std::string_view name);

// Returns the parent of a relative path: "a" for "a/b", "" for "a" and for "".
std::string parent_rel(std::string_view path);

// Returns the last component: "b" for "a/b".
std::string_view base_name(std::string_view path);

// True when `path` equals `ancestor` or lies below it ("a/b" is under "a", "ab" is not).
// Every path is under the root "".
bool is_same_or_under(std::string_view path, std::string_view ancestor);

// Returns the number of components: 0 for "", 2 for "a/b".
std::size_t depth_rel(std::string_view path);

// Returns root / path (root itself for "").
std::filesystem::path absolute_in(const std::filesystem::path& root, std::string_view path);

// True when `path` is a valid relative path: not absolute, no "." or ".." components, no empty
// components, no NUL. Used to validate anything that arrives from outside.
bool is_clean_rel(std::string_view path);

} // namespace fsmirror::base
