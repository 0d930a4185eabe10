#pragma once
// A private ssh-agent for tests, listening on a socket in a directory the test owns, and a
// scoped environment variable to point the programs a test starts at it. The agent is killed
// when the object goes away; nothing of the user's own agent is touched.

#include "tests/support/child_process.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace fsmirror::test_support {

class SshAgent {
public:
    // Starts ssh-agent on a socket in `directory` (which must exist). When ssh-agent or ssh-add
    // is missing or the agent does not start, prints why and exits the test process with
    // status 4 (the integration suite's SKIP_RETURN_CODE).
    explicit SshAgent(const std::filesystem::path& directory);
    ~SshAgent();
    SshAgent(const SshAgent&) = delete;
    SshAgent& operator=(const SshAgent&) = delete;

    // The value for SSH_AUTH_SOCK.
    const std::filesystem::path& socket() const { return m_socket; }

    // Loads the private key at `key` into the agent (ssh-add); REQUIREs that it worked.
    void add(const std::filesystem::path& key);

    // Returns the keys the agent holds, as `ssh-add -l` lists them ("" when none).
    std::string list() const;

private:
    std::filesystem::path m_directory;
    std::filesystem::path m_socket;
    std::unique_ptr<ChildProcess> m_agent;
};

// Sets (or, with nullopt, unsets) an environment variable of the test process until the object
// goes away, then restores it. Children started meanwhile inherit it.
class ScopedEnvironment {
public:
    ScopedEnvironment(std::string name, const std::optional<std::string>& value);
    ~ScopedEnvironment();
    ScopedEnvironment(const ScopedEnvironment&) = delete;
    ScopedEnvironment& operator=(const ScopedEnvironment&) = delete;

private:
    std::string m_name;
    std::optional<std::string> m_previous;
};

} // namespace fsmirror::test_support
