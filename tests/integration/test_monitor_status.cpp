// The status surfaces of a running daemon: the lsyncd-layout status file (read by a parser
// that follows lsyncd's layout, as existing scripts do), `fsmirror status`, `fsmirror health`
// and its Nagios exit codes, Prometheus metrics, and systemd's notify protocol.

#include "tests/integration/mirror_fixture.hpp"
#include "tests/integration/monitor_fixture.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/wait.hpp"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace fsmirror::test_support;
using fsmirror::integration::MirrorFixture;

namespace {

// lsyncd's statusFile, read line by line the way monitoring scripts do.
struct LsyncdDelay {
    std::string status;
    std::string type;
    std::string path;
};
struct LsyncdSync {
    std::string name;
    std::string source;
    std::size_t announced = 0; // "There are N delays"
    std::vector<LsyncdDelay> delays;
};
struct LsyncdStatus {
    std::string date;
    std::vector<LsyncdSync> syncs;
    std::size_t watching = 0; // "Inotify watching N directories"
    std::vector<std::string> watched;
};

// Returns the parsed file; FAILs (with the text) on anything outside lsyncd's layout.
LsyncdStatus parse_lsyncd_status(const std::string& text) {
    INFO("status file:\n" << text);
    std::istringstream in(text);
    std::string line;
    LsyncdStatus status;
    static const std::regex header("^Lsyncd status report at (.+)$");
    static const std::regex sync_line("^(\\S+) source=(/.*/)$");
    static const std::regex delays("^There are (\\d+) delays$");
    static const std::regex delay("^(wait|active|block) *(Create|Modify|Attrib|Delete|Move|Init|"
                                  "Blanket|Full) (.*)$");
    static const std::regex watching("^Inotify watching (\\d+) directories$");
    static const std::regex watch("^  (\\d+): (/.*/)$");
    std::smatch match;
    REQUIRE(std::getline(in, line));
    REQUIRE(std::regex_match(line, match, header));
    status.date = match[1];
    REQUIRE(std::getline(in, line));
    REQUIRE(line.empty());
    while (std::getline(in, line)) {
        if (std::regex_match(line, match, watching)) {
            status.watching = std::stoul(match[1]);
            while (std::getline(in, line) && std::regex_match(line, match, watch))
                status.watched.push_back(match[2]);
            break; // what follows is fsmirror's own section
        }
        if (line.empty())
            continue;
        REQUIRE(std::regex_match(line, match, sync_line));
        LsyncdSync sync{match[1], match[2], 0, {}};
        REQUIRE(std::getline(in, line));
        REQUIRE(std::regex_match(line, match, delays));
        sync.announced = std::stoul(match[1]);
        while (std::getline(in, line) && line != "Filtering:") {
            REQUIRE(std::regex_match(line, match, delay));
            // Status padded to seven columns.
            CHECK(line.find(match[2].str()) == 7);
            sync.delays.push_back(LsyncdDelay{match[1], match[2], match[3]});
        }
        REQUIRE(line == "Filtering:");
        while (std::getline(in, line) && !line.empty()) {
        }
        REQUIRE(std::getline(in, line));
        REQUIRE(line.empty());
        status.syncs.push_back(std::move(sync));
    }
    return status;
}

int run_output(MirrorFixture& mirror, const std::vector<std::string>& args, std::string& output,
               unsigned& runs) {
    const int status = mirror.run_to_completion(args);
    output = read_file(mirror.root() / fmt::format("run-{}.log", ++runs));
    return status;
}

fs::path write_config(const MirrorFixture& mirror, const std::string& extra) {
    const fs::path path = mirror.root() / "fsmirror.yml";
    write_file(path, fmt::format(R"(syncs:
  - name: storage
    source: {}
    target: {}
    delay: 5
status_interval: 0.5
state_dir: {}
monitor:
  interval: 0.5
  backlog_threshold: 3
{}
)",
                                 mirror.source().string(), mirror.target().string(),
                                 (mirror.root() / "state").string(), extra));
    return path;
}

std::string http_get(int port, const std::string& path) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n";
    REQUIRE(::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(request.size()));
    std::string response;
    char buffer[4096];
    ssize_t got = 0;
    while ((got = ::recv(fd, buffer, sizeof buffer, 0)) > 0)
        response.append(buffer, static_cast<std::size_t>(got));
    ::close(fd);
    return response;
}

} // namespace

TEST_CASE("the status file parses as lsyncd's and is rewritten while idle",
          "[integration][monitor][status][concurrent]") {
    MirrorFixture mirror;
    const fs::path status_file = mirror.root() / "lsyncd.status";
    fs::create_directories(mirror.source() / "a/b");
    mirror.start({"--delay", "5", "--status-file", status_file.string(), "--status-interval", "0.5",
                  "--state-dir", (mirror.root() / "state").string()});

    write_file(mirror.source() / "one.txt", "1\n");
    write_file(mirror.source() / "a/two.txt", "2\n");
    write_file(mirror.source() / "a/b/three.txt", "3\n");
    // Three creates (the engine may also queue the parents' times as Attrib).
    REQUIRE(wait_until(
        [&] {
            const std::string text = read_file_or_empty(status_file);
            return text.find("wait   Create /one.txt\n") != std::string::npos &&
                   text.find("wait   Create /a/b/three.txt\n") != std::string::npos &&
                   text.find("wait   Create /a/two.txt\n") != std::string::npos;
        },
        10'000ms));
    const LsyncdStatus status = parse_lsyncd_status(read_file_or_empty(status_file));
    REQUIRE(status.syncs.size() == 1);
    CHECK(status.syncs[0].name == "sync1");
    CHECK(status.syncs[0].source == mirror.source().string() + "/");
    CHECK(status.syncs[0].announced == status.syncs[0].delays.size());
    std::vector<std::string> paths;
    for (const auto& delay : status.syncs[0].delays) {
        CHECK(delay.status == "wait");
        CHECK(delay.path.starts_with("/"));
        if (delay.type == "Create")
            paths.push_back(delay.path);
    }
    std::sort(paths.begin(), paths.end());
    CHECK(paths == std::vector<std::string>{"/a/b/three.txt", "/a/two.txt", "/one.txt"});
    CHECK(status.watching == 3);
    REQUIRE(status.watched.size() == 3);
    CHECK(status.watched[0] == mirror.source().string() + "/");
    CHECK(status.watched[1] == mirror.source().string() + "/a/");
    CHECK(status.watched[2] == mirror.source().string() + "/a/b/");

    // The batch runs; the file says so, and keeps being rewritten with nothing happening.
    mirror.require_mirrored();
    REQUIRE(wait_until(
        [&] {
            return read_file_or_empty(status_file).find("There are 0 delays") != std::string::npos;
        },
        10'000ms));
    const std::string before = parse_lsyncd_status(read_file_or_empty(status_file)).date;
    const auto mtime = fs::last_write_time(status_file);
    REQUIRE(wait_until(
        [&] { return parse_lsyncd_status(read_file_or_empty(status_file)).date != before; },
        5'000ms));
    CHECK(fs::last_write_time(status_file) != mtime);
    // Written through a temporary file and a rename: nothing else is left beside it.
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(mirror.root()))
        names.push_back(entry.path().filename().string());
    for (const auto& name : names)
        CHECK_FALSE(name.starts_with(".lsyncd.status."));
    mirror.stop();
}

TEST_CASE("fsmirror health exits 0, 1, 2 and fsmirror status summarises",
          "[integration][monitor][status]") {
    MirrorFixture mirror;
    const auto config = write_config(mirror, "");
    const std::string state = (mirror.root() / "state").string();
    unsigned runs = 0;
    std::string output;

    // Not running at all: critical.
    CHECK(run_output(mirror, {"health", "--state-dir", state}, output, runs) == 2);
    CHECK_THAT(output, Catch::StartsWith("FSMIRROR CRITICAL: no status at "));

    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    REQUIRE(wait_until([&] { return fs::exists(mirror.root() / "state/status.json"); }, 5000ms));
    CHECK(run_output(mirror, {"health", "--config", config.string()}, output, runs) == 0);
    CHECK_THAT(output, Catch::StartsWith("FSMIRROR OK: 1 sync(s) mirroring, backlog 0 | "
                                         "backlog_storage=0;3"));

    for (int i = 0; i < 6; ++i)
        write_file(mirror.source() / fmt::format("pending-{}", i), "x\n");
    REQUIRE(wait_until(
        [&] {
            return run_output(mirror, {"health", "--config", config.string()}, output, runs) == 1;
        },
        10'000ms));
    // Six files, and perhaps the root's times (Attrib /): the count is not pinned.
    CHECK_THAT(output, Catch::StartsWith("FSMIRROR WARNING: storage: "));
    CHECK_THAT(output, Catch::Contains(" changes pending (threshold 3)"));
    CHECK_THAT(output, Catch::Contains("\nWARNING backlog: storage: "));

    CHECK(run_output(mirror, {"status", "--config", config.string()}, output, runs) == 0);
    CHECK_THAT(output, Catch::Contains("\nstorage: watching\n"));
    CHECK_THAT(output, Catch::Contains(" pending (0 waiting for a retry)"));
    CHECK_THAT(output, Catch::Contains("  source      " + mirror.source().string() + "/\n"));
    CHECK_THAT(output, Catch::Contains("  disk use    "));
    CHECK_THAT(output, Catch::Contains("health: WARNING"));

    CHECK(run_output(mirror, {"status", "--state-dir", state, "--json"}, output, runs) == 0);
    const auto document = nlohmann::json::parse(output);
    CHECK(document["syncs"][0]["name"] == "storage");
    CHECK(document["syncs"][0]["backlog"] >= 6);
    CHECK(document["syncs"][0]["items"].size() == document["syncs"][0]["backlog"]);
    CHECK(document["alerts"][0]["kind"] == "backlog");

    mirror.stop();
    CHECK(run_output(mirror, {"health", "--state-dir", state}, output, runs) == 2);
    CHECK_THAT(output, Catch::Contains("is not running"));
    CHECK(run_output(mirror, {"health", "--bogus"}, output, runs) == 3);
    CHECK(run_output(mirror, {"status", "--state-dir", state + "/nowhere"}, output, runs) == 1);
}

TEST_CASE("metrics as a textfile and over HTTP on loopback",
          "[integration][monitor][metrics][concurrent]") {
    MirrorFixture mirror;
    const int port = fsmirror::integration::free_local_port();
    const fs::path textfile = mirror.root() / "textfile/fsmirror.prom";
    const auto config =
        write_config(mirror, fmt::format("metrics:\n  textfile: {}\n  listen: \"{}\"\n",
                                         textfile.string(), port));
    mirror.start_with_args({"run", "--config", config.string()}, std::nullopt, 1);
    write_file(mirror.source() / "x", "x\n");
    REQUIRE(wait_until(
        [&] {
            const std::string text = read_file_or_empty(textfile);
            return text.find("fsmirror_sync_backlog{sync=\"storage\"} ") != std::string::npos &&
                   text.find("fsmirror_sync_backlog{sync=\"storage\"} 0\n") == std::string::npos;
        },
        10'000ms));
    // The page is rendered from the latest status: wait for the batch to end (a loaded
    // machine may show it mid-batch, "syncing").
    std::string response;
    wait_until(
        [&] {
            response = http_get(port, "/metrics");
            return response.find("fsmirror_sync_state{sync=\"storage\",state=\"watching\"} 1") !=
                   std::string::npos;
        },
        10'000ms);
    CHECK_THAT(response, Catch::StartsWith("HTTP/1.1 200 OK\r\n"));
    CHECK_THAT(response, Catch::Contains("Content-Type: text/plain; version=0.0.4"));
    CHECK_THAT(response, Catch::Contains("\nfsmirror_up 1\n"));
    CHECK_THAT(response,
               Catch::Contains("fsmirror_sync_state{sync=\"storage\",state=\"watching\"} 1"));
    CHECK_THAT(http_get(port, "/other"), Catch::StartsWith("HTTP/1.1 404"));
    mirror.stop();
}

TEST_CASE("systemd notify: READY after the initial sync, STATUS with the backlog, watchdog "
          "pings",
          "[integration][monitor][systemd][concurrent]") {
    MirrorFixture mirror;
    fsmirror::integration::NotifySocket notify(mirror.root() / "notify.sock");
    fsmirror::integration::ScopedEnv socket("NOTIFY_SOCKET",
                                            (mirror.root() / "notify.sock").string());
    fsmirror::integration::ScopedEnv watchdog("WATCHDOG_USEC", "1000000");
    make_tree(mirror.source(), 3, 10);
    mirror.start({"--status-interval", "0.5", "--state-dir", (mirror.root() / "state").string()});

    INFO("daemon log:\n" << mirror.log_tail());
    REQUIRE(notify.wait_for("READY=1", 10'000ms));
    CHECK(notify.wait_for("WATCHDOG=1", 5'000ms));
    CHECK(notify.wait_for("STATUS=mirroring: 1 sync(s), backlog 0; health OK", 5'000ms));
    const auto& messages = notify.messages();
    INFO(fsmirror::integration::join_lines(messages));
    const auto ready = std::find_if(messages.begin(), messages.end(), [](const std::string& m) {
        return m.find("READY=1") != std::string::npos;
    });
    REQUIRE(ready != messages.end());
    CHECK(std::count_if(messages.begin(), messages.end(), [](const std::string& m) {
              return m.find("READY=1") != std::string::npos;
          }) == 1);
    mirror.stop();
    CHECK(notify.wait_for("STOPPING=1", 2'000ms));
}
