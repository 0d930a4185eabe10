// LocalTransport on real temp directories: the owner and mode a new file ends with. A new
// file's temporary copy is created with the source's mode and fstat'ed before the commit, so
// chown and chmod run only when something differs; these cases are the ones where it does.

#include "tests/support/file_ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "transport/local_transport.hpp"

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace fsmirror;
using fsmirror::test_support::TempDir;

namespace {

struct PutHarness {
    TempDir dir{"fsmirror-unit"};
    fs::path source = dir / "source";
    fs::path target = dir / "target";
    std::unique_ptr<transport::LocalTransport> transport;

    explicit PutHarness(transport::AttributePolicy attributes) {
        fs::create_directories(source);
        fs::create_directories(target);
        transport::LocalTransportOptions options;
        options.root = target;
        options.attributes = attributes;
        auto opened = transport::LocalTransport::open(options);
        REQUIRE(opened);
        transport = std::move(*opened);
    }

    // Puts a new file named `name` whose source claims `mode`, `uid` and `gid`; returns the
    // target's stat of it.
    struct stat put_new(const std::string& name, std::uint32_t mode, std::uint32_t uid,
                        std::uint32_t gid) {
        test_support::write_file(source / name, "content of " + name);
        int fd = ::open((source / name).c_str(), O_RDONLY | O_CLOEXEC);
        REQUIRE(fd >= 0);
        base::UniqueFd held(fd);
        struct stat st {};
        REQUIRE(::fstat(fd, &st) == 0);
        transport::SourceFile file;
        file.fd = fd;
        file.info.type = transport::EntryType::file;
        file.info.size = static_cast<std::uint64_t>(st.st_size);
        file.info.mtime_ns = 1'700'000'000'123'456'789;
        file.info.mode = mode;
        file.info.uid = uid;
        file.info.gid = gid;
        auto put = transport->put_file(name, file, std::nullopt);
        REQUIRE(put);
        struct stat result {};
        REQUIRE(::lstat((target / name).c_str(), &result) == 0);
        CHECK(test_support::read_file(target / name) == "content of " + name);
        CHECK(result.st_mtim.tv_sec == 1'700'000'000);
        CHECK(result.st_mtim.tv_nsec == 123'456'789);
        return result;
    }
};

} // namespace

TEST_CASE("a new file ends with its source's mode, also where the umask or set-id bits differ",
          "[transport][local]") {
    PutHarness h({true, true, false});
    for (std::uint32_t mode : {0644u, 0600u, 0666u, 0777u, 0444u, 0640u, 04755u, 02750u, 01777u}) {
        INFO(fmt::format("mode {:o}", mode));
        auto st = h.put_new(fmt::format("m{:o}", mode), mode, 0, 0);
        CHECK((st.st_mode & 07777) == mode);
    }
}

TEST_CASE("a new file ends with its source's owner, also in a set-group-ID directory",
          "[transport][local]") {
    if (::geteuid() != 0) {
        WARN("not root: only the owner this process already has can be checked");
        PutHarness h({true, true, true});
        auto st = h.put_new("own", 0644, ::geteuid(), ::getegid());
        CHECK(st.st_uid == ::geteuid());
        CHECK(st.st_gid == ::getegid());
        return;
    }
    PutHarness h({true, true, true});
    auto own = h.put_new("own", 0644, 0, 0);
    CHECK(own.st_uid == 0);
    CHECK(own.st_gid == 0);
    auto other = h.put_new("other", 04755, 1234, 5678);
    CHECK(other.st_uid == 1234u);
    CHECK(other.st_gid == 5678u);
    CHECK((other.st_mode & 07777) == 04755u); // chown cleared set-id, chmod put it back

    // A file made in a set-group-ID directory takes the directory's group, not ours.
    fs::create_directories(h.target / "shared");
    fs::create_directories(h.source / "shared");
    REQUIRE(::chown((h.target / "shared").c_str(), 0, 4321) == 0);
    REQUIRE(::chmod((h.target / "shared").c_str(), 02775) == 0);
    auto inherited = h.put_new("shared/file", 0644, 0, 0);
    CHECK(inherited.st_gid == 0);
    auto kept = h.put_new("shared/kept", 0644, 0, 4321);
    CHECK(kept.st_gid == 4321u);
}

TEST_CASE("a directory made and given its attributes ends with its source's mode and owner",
          "[transport][local]") {
    const bool root = ::geteuid() == 0;
    PutHarness h({true, true, root});
    const std::uint32_t uid = root ? 1234 : ::geteuid();
    const std::uint32_t gid = root ? 5678 : ::getegid();
    for (std::uint32_t mode : {0755u, 0700u, 0555u, 0777u, 02775u, 01777u}) {
        for (bool own : {true, false}) {
            if (!own && !root)
                continue;
            INFO(fmt::format("mode {:o}, {}", mode, own ? "our owner" : "another owner"));
            transport::EntryInfo info;
            info.type = transport::EntryType::directory;
            info.mode = mode;
            info.uid = own ? ::geteuid() : uid;
            info.gid = own ? ::getegid() : gid;
            info.mtime_ns = 1'600'000'000'000'000'007;
            const std::string name = fmt::format("d{:o}{}", mode, own ? "" : "-other");
            REQUIRE(h.transport->make_directory(name, info));
            REQUIRE(h.transport->set_attributes(name, info));
            struct stat st {};
            REQUIRE(::lstat((h.target / name).c_str(), &st) == 0);
            CHECK(S_ISDIR(st.st_mode));
            CHECK((st.st_mode & 07777) == mode);
            CHECK(st.st_uid == info.uid);
            CHECK(st.st_gid == info.gid);
            CHECK(st.st_mtim.tv_nsec == 7);
        }
    }
}

TEST_CASE("new attributes on an existing entry change what differs", "[transport][local]") {
    const bool root = ::geteuid() == 0;
    PutHarness h({true, true, root});
    auto before = h.put_new("file", 0644, ::geteuid(), ::getegid());
    CHECK((before.st_mode & 07777) == 0644u);
    transport::EntryInfo info;
    info.type = transport::EntryType::file;
    info.mode = 0600;
    info.uid = ::geteuid();
    info.gid = ::getegid();
    info.mtime_ns = 1'500'000'000'000'000'000;
    REQUIRE(h.transport->set_attributes("file", info));
    struct stat st {};
    REQUIRE(::lstat((h.target / "file").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600u);
    CHECK(st.st_mtim.tv_sec == 1'500'000'000);
    if (root) {
        info.uid = 4321;
        info.gid = 8765;
        info.mode = 04750;
        REQUIRE(h.transport->set_attributes("file", info));
        REQUIRE(::lstat((h.target / "file").c_str(), &st) == 0);
        CHECK(st.st_uid == 4321u);
        CHECK(st.st_gid == 8765u);
        CHECK((st.st_mode & 07777) == 04750u); // chown cleared set-id, chmod put it back
    }
}
