#include "tests/support/ssh_agent.hpp"

#include "tests/support/file_ops.hpp"
#include "tests/support/skip.hpp"
#include "tests/support/wait.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <unistd.h>

namespace fsmirror::test_support {

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* k_agent = "/usr/bin/ssh-agent";
constexpr const char* k_add = "/usr/bin/ssh-add";
constexpr const char* k_env = "/usr/bin/env";

} // namespace

SshAgent::SshAgent(const fs::path& directory)
    : m_directory(directory), m_socket(directory / "agent.sock") {
    for (const char* tool : {k_agent, k_add, k_env})
        if (::access(tool, X_OK) != 0)
            skip_test(fmt::format("{} is not available ({}): install openssh-client", tool,
                                  std::strerror(errno)));
    // A socket path must fit in sockaddr_un.
    if (m_socket.string().size() >= 100)
        skip_test("the ssh-agent socket path is too long for a Unix socket: " + m_socket.string());
    // -D: stays in the foreground, so ChildProcess owns it and kills it with the test.
    m_agent = std::make_unique<ChildProcess>(
        ChildOptions{.argv = {k_agent, "-D", "-a", m_socket.string()},
                     .log_file = m_directory / "ssh-agent.log",
                     .working_directory = std::nullopt});
    if (!wait_until([&] { return fs::exists(m_socket) || !m_agent->running(); }, 10s) ||
        !fs::exists(m_socket))
        skip_test("ssh-agent did not start: " + m_agent->log_tail());
}

SshAgent::~SshAgent() = default;

void SshAgent::add(const fs::path& key) {
    const fs::path log = m_directory / "ssh-add.log";
    ChildProcess child(
        ChildOptions{.argv = {k_env, "SSH_AUTH_SOCK=" + m_socket.string(), k_add, key.string()},
                     .log_file = log,
                     .working_directory = std::nullopt});
    const auto status = child.wait_for_exit(30s);
    INFO("ssh-add: " << read_file_or_empty(log));
    REQUIRE(status == std::optional<int>(0));
}

std::string SshAgent::list() const {
    const fs::path log = m_directory / "ssh-add-list.log";
    ChildProcess child(
        ChildOptions{.argv = {k_env, "SSH_AUTH_SOCK=" + m_socket.string(), k_add, "-l"},
                     .log_file = log,
                     .working_directory = std::nullopt});
    // Status 1 means "no identities", which is an answer too.
    const auto status = child.wait_for_exit(30s);
    return status == std::optional<int>(0) ? read_file_or_empty(log) : "";
}

ScopedEnvironment::ScopedEnvironment(std::string name, const std::optional<std::string>& value)
    : m_name(std::move(name)) {
    if (const char* previous = std::getenv(m_name.c_str()))
        m_previous = previous;
    if (value)
        ::setenv(m_name.c_str(), value->c_str(), 1);
    else
        ::unsetenv(m_name.c_str());
}

ScopedEnvironment::~ScopedEnvironment() {
    if (m_previous)
        ::setenv(m_name.c_str(), m_previous->c_str(), 1);
    else
        ::unsetenv(m_name.c_str());
}

} // namespace fsmirror::test_support
