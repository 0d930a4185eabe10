// check_remote_target over a transport whose file system answers are chosen by the test (the
// listing and the marker come from a real directory through LocalTransport): the same verdicts
// as for a local target, a mount point nobody can tell refused, and a restart on a nearly full
// target not refused.

#include "safety/remote_target_checks.hpp"
#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "transport/local_transport.hpp"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <memory>

#include <catch2/catch.hpp>

namespace fs = std::filesystem;
using namespace fsmirror;
using namespace fsmirror::safety;
using fsmirror::test_support::make_content;
using fsmirror::test_support::TempDir;
using fsmirror::test_support::write_file;

namespace {

// Reads go to a real directory; the file system answer is the test's.
class ChosenFileSystem final : public transport::Transport {
public:
    ChosenFileSystem(const fs::path& root, transport::FileSystemInfo info) : m_info(info) {
        transport::LocalTransportOptions options;
        options.root = root;
        options.stale_temps = transport::StaleTemps::keep;
        auto opened = transport::LocalTransport::open(options);
        REQUIRE(opened);
        m_real = std::move(*opened);
    }

    int listings = 0;
    bool old_agent = false; // read_small_file fails as over an agent of protocol 2

    std::string describe() const override { return "chosen:" + m_real->describe(); }
    base::Status check_root() override { return m_real->check_root(); }
    base::Result<std::optional<transport::EntryInfo>> stat(std::string_view path) override {
        return m_real->stat(path);
    }
    base::Result<std::vector<transport::DirEntry>> list_directory(std::string_view path) override {
        ++listings;
        return m_real->list_directory(path);
    }
    base::Status make_directory(std::string_view, const transport::EntryInfo&) override {
        return read_only();
    }
    base::Result<transport::PutResult>
    put_file(std::string_view, const transport::SourceFile&,
             const std::optional<transport::EntryInfo>&) override {
        return std::unexpected(read_only().error());
    }
    base::Status put_symlink(std::string_view, const transport::EntryInfo&) override {
        return read_only();
    }
    base::Status rename(std::string_view, std::string_view) override { return read_only(); }
    base::Status remove(std::string_view) override { return read_only(); }
    base::Status set_attributes(std::string_view, const transport::EntryInfo&) override {
        return read_only();
    }
    base::Status flush() override { return {}; }
    base::Result<std::string> read_small_file(std::string_view path,
                                              std::size_t max_bytes) override {
        if (old_agent)
            return std::unexpected(base::Error{base::ErrorKind::fatal, "agent too old", ENOTSUP});
        return m_real->read_small_file(path, max_bytes);
    }
    base::Result<transport::FileSystemInfo> file_system() override { return m_info; }

private:
    static base::Status read_only() {
        return base::fail(base::ErrorKind::permission_denied, "the checks never write");
    }
    std::unique_ptr<transport::LocalTransport> m_real;
    transport::FileSystemInfo m_info;
};

transport::FileSystemInfo plenty(transport::RootMount mount = transport::RootMount::yes) {
    return transport::FileSystemInfo{{1ull << 40, 1ull << 30, true}, mount};
}

RemoteTargetRequest request_for(const fs::path& source) {
    RemoteTargetRequest request;
    request.source = source;
    request.target = "backup@host:/srv/mirror";
    request.host = "host";
    request.remote_path = "/srv/mirror";
    return request;
}

const Finding* find(const RemoteTargetReport& report, const std::string& check) {
    auto it = std::find_if(report.findings.begin(), report.findings.end(),
                           [&](const Finding& f) { return f.check == check; });
    return it == report.findings.end() ? nullptr : &*it;
}

} // namespace

TEST_CASE("a remote marker is judged by its contents, as a local one", "[safety][remote]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    fs::create_directory(dir / "dst");
    write_file(dir / "src/f", "x");
    const std::string source = fs::canonical(dir / "src").string();
    ChosenFileSystem target(dir / "dst", plenty());

    write_file(dir / "dst/.fsmirror", "source=/srv/another\nsync=other\n");
    write_file(dir / "dst/theirs", "y");
    auto refused = check_remote_target(request_for(dir / "src"), target);
    CHECK_FALSE(refused.passed());
    const Finding* ownership = find(refused, "non-empty-target");
    REQUIRE(ownership);
    CHECK(ownership->path == "backup@host:/srv/mirror");
    // The local check's words (safety/target_ownership.cpp).
    CHECK(ownership->message == "its .fsmirror marker says it mirrors /srv/another, not " + source);
    REQUIRE(refused.listing);
    CHECK(refused.listing->marker_info.source == "/srv/another");

    auto request = request_for(dir / "src");
    request.non_empty = NonEmptyTarget::allow;
    auto allowed = check_remote_target(request, target);
    CHECK(allowed.passed());
    CHECK_THAT(find(allowed, "non-empty-target")->message,
               Catch::Contains("allowed by --skip-safety"));

    write_file(dir / "dst/.fsmirror", "source=" + source + "\n");
    CHECK(check_remote_target(request_for(dir / "src"), target).passed());
}

TEST_CASE("a marker an old agent cannot read is taken as ours with a warning", "[safety][remote]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    fs::create_directory(dir / "dst");
    write_file(dir / "dst/.fsmirror", "source=/srv/another\n");
    write_file(dir / "dst/data", "y");
    ChosenFileSystem target(dir / "dst", plenty());
    target.old_agent = true;
    auto report = check_remote_target(request_for(dir / "src"), target);
    CHECK(report.passed());
    REQUIRE(report.listing);
    CHECK(report.listing->marker == MarkerKind::unread_file);
    const Finding* ownership = find(report, "non-empty-target");
    REQUIRE(ownership);
    CHECK(ownership->severity == Severity::warning);
    CHECK_THAT(ownership->fix, Catch::Contains("upgrade fsmirror on the remote"));
}

TEST_CASE("require_mount on a remote target: yes passes, no and unknown are refused",
          "[safety][remote]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    fs::create_directory(dir / "dst");
    auto request = request_for(dir / "src");
    request.require_mount = true;

    ChosenFileSystem mounted(dir / "dst", plenty(transport::RootMount::yes));
    CHECK(find(check_remote_target(request, mounted), "target-mount")->severity == Severity::ok);

    ChosenFileSystem bare(dir / "dst", plenty(transport::RootMount::no));
    auto refused = check_remote_target(request, bare);
    const Finding* mount = find(refused, "target-mount");
    REQUIRE(mount);
    CHECK(mount->severity == Severity::error);
    CHECK_THAT(mount->fix, Catch::Contains("findmnt /srv/mirror") && Catch::Contains("on host"));

    ChosenFileSystem sftp(dir / "dst", plenty(transport::RootMount::unknown));
    auto unknown = check_remote_target(request, sftp);
    mount = find(unknown, "target-mount");
    REQUIRE(mount);
    CHECK(mount->severity == Severity::error);
    CHECK_THAT(mount->message, Catch::Contains("cannot be checked on host"));
    CHECK_THAT(mount->fix, Catch::Contains("install fsmirror on host"));

    request.require_mount = false;
    CHECK_FALSE(find(check_remote_target(request, sftp), "target-mount"));
}

TEST_CASE("remote free space: refused when the source cannot fit, not on a restart of a full "
          "mirror",
          "[safety][remote]") {
    TempDir dir("fsmirror-unit");
    fs::create_directory(dir / "src");
    fs::create_directory(dir / "dst");
    for (int i = 0; i < 4; ++i)
        write_file(dir / "src" / ("big" + std::to_string(i)), make_content(1 << 20, i));
    auto request = request_for(dir / "src");
    request.parallel_transfers = 1;
    const transport::FileSystemInfo two_mib{{2ull << 20, 1000, true}, transport::RootMount::yes};

    ChosenFileSystem empty(dir / "dst", two_mib);
    auto refused = check_remote_target(request, empty);
    const Finding* space = find(refused, "free-space");
    REQUIRE(space);
    CHECK(space->severity == Severity::error);
    CHECK(space->path == "backup@host:/srv/mirror");
    CHECK_THAT(space->fix, Catch::Contains("df -h"));
    CHECK(empty.listings == 1); // an empty target is not walked

    // The same free space with the source already mirrored there: only the file in flight.
    for (int i = 0; i < 4; ++i)
        write_file(dir / "dst" / ("big" + std::to_string(i)), make_content(1 << 20, i));
    write_file(dir / "dst/.fsmirror", "source=" + fs::canonical(dir / "src").string() + "\n");
    ChosenFileSystem full(dir / "dst", two_mib);
    auto restart = check_remote_target(request, full);
    INFO(format_finding(*find(restart, "free-space")));
    CHECK(find(restart, "free-space")->severity == Severity::ok);
    CHECK(full.listings > 1);
}
