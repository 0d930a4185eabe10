#pragma once
// The text form of an SSH target, `[user@]host[:port]:/absolute/path`, shared by the command
// line and the YAML loader.

#include "config/config.hpp"

#include <expected>
#include <string>
#include <string_view>

namespace fsmirror::config {

// True when `target` names a remote location: rsync's rule, a ':' before the first '/'.
bool looks_remote(std::string_view target);

// Parses `[user@]host[:port]:/absolute/path` (an IPv6 address in brackets; the port part only
// when it is a number). Returns the reason when `text` is not of that form.
std::expected<RemoteTarget, std::string> parse_remote_target(std::string_view text);

// Returns the canonical text of `target`: the port only when it is not 22, an IPv6 host in
// brackets.
std::string to_string(const RemoteTarget& target);

// True when `host` is a valid host name or address for a remote target.
bool is_valid_host(std::string_view host);

// True when `user` is a valid remote user name (letters, digits, '.', '_', '-'; not starting
// with '-').
bool is_valid_user(std::string_view user);

} // namespace fsmirror::config
