// An lsyncd config with default.rsyncssh, run unchanged against a real OpenSSH server on
// 127.0.0.1 (tests/support/sshd_server.hpp): host, targetdir and the ssh={} table (port,
// identityFile, options) reach the SSH transport, and the remote directory converges.

#include "tests/integration/ssh_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/sshd_server.hpp"
#include "tests/support/wait.hpp"

#include <filesystem>
#include <map>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

namespace fs = std::filesystem;
using namespace fsmirror::integration;
using namespace fsmirror::test_support;

namespace {

// Waits until every file of `source` is in `remote` with the same content, and nothing else
// is. Modes and times are not compared: default.rsyncssh does not carry permissions (lsyncd's
// default), and the SFTP fallback stores whole seconds.
void require_same_files(const fs::path& source, const fs::path& remote) {
    const auto listing = [](const fs::path& root) {
        std::map<std::string, std::string> files;
        for (const auto& entry : fs::recursive_directory_iterator(root))
            if (entry.is_regular_file() && entry.path().filename() != ".fsmirror")
                files[fs::relative(entry.path(), root).string()] = read_file(entry.path());
        return files;
    };
    std::map<std::string, std::string> want;
    std::map<std::string, std::string> have;
    const bool same = wait_until(
        [&] {
            want = listing(source);
            have = listing(remote);
            return want == have;
        },
        k_settle_timeout);
    INFO("source files: " << want.size() << ", remote files: " << have.size());
    REQUIRE(same);
}

} // namespace

TEST_CASE("lsyncd: a default.rsyncssh config mirrors over SSH unchanged",
          "[integration][lsyncd][ssh]") {
    MirrorFixture mirror;
    SshdServer sshd(sshd_directory(mirror));
    make_tree(mirror.source(), 3, 12);
    const fs::path remote = mirror.root() / "remote";
    const fs::path config = mirror.root() / "lsyncd.conf.lua";
    // As an operator writes it; fsmirror is not installed on this "server", so the transport
    // falls back to SFTP, which the log says.
    write_file(config, fmt::format(R"(settings {{ nodaemon = true }}
sync {{
    default.rsyncssh,
    source = "{}",
    host = "127.0.0.1",
    targetdir = "{}",
    delay = 0.2,
    ssh = {{
        port = {},
        identityFile = "{}",
        options = {{ UserKnownHostsFile = "{}", StrictHostKeyChecking = "yes" }},
    }},
}}
)",
                                   mirror.source().string(), remote.string(), sshd.port(),
                                   sshd.client_key().string(), sshd.known_hosts().string()));
    fs::create_directories(remote);
    mirror.start_with_args({config.string()}, mirror.root(), 1);
    require_same_files(mirror.source(), remote);

    write_file(mirror.source() / "d000/new.txt", "over ssh\n");
    fs::rename(mirror.source() / "f000", mirror.source() / "f000-renamed");
    require_same_files(mirror.source(), remote);
    CHECK_FALSE(fs::exists(remote / "f000"));
    CHECK_THAT(mirror.daemon().log_text(), Catch::Contains("127.0.0.1"));
}
