#pragma once
// Names of in-flight files on a target: ".fsmirror-<16 hex digits>.tmp" in the final
// directory, so a rename into place never crosses a file system and never exceeds NAME_MAX.

#include <string>
#include <string_view>

namespace fsmirror::transport {

// Returns a fresh, unpredictable temporary name.
std::string make_temp_name();

// True when `name` has the shape make_temp_name() produces.
bool is_temp_name(std::string_view name);

} // namespace fsmirror::transport
