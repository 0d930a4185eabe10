// The pure half of the fanotify backend: records crafted byte for byte as the kernel lays them
// out, decoded and mapped against a fake resolver.

#include "engine/fanotify_translator.hpp"

#include <cstring>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/fanotify.h>

using namespace fsmirror::engine;

namespace {

// A fake file handle: the struct file_handle header and `id` as its bytes.
std::string handle(const std::string& id) {
    std::string bytes(sizeof(file_handle), '\0');
    auto size = static_cast<unsigned>(id.size());
    int type = 1;
    std::memcpy(bytes.data(), &size, sizeof size);
    std::memcpy(bytes.data() + sizeof size, &type, sizeof type);
    return bytes + id;
}

// One info record of `type` with a directory handle and a name, padded as the kernel does.
std::string directory_record(std::uint8_t type, const std::string& directory_handle,
                             const std::string& name) {
    std::string body(sizeof(__kernel_fsid_t), '\0');
    body += directory_handle + name + '\0';
    while ((sizeof(fanotify_event_info_header) + body.size()) % 4 != 0)
        body += '\0';
    fanotify_event_info_header header{};
    header.info_type = type;
    header.len = static_cast<std::uint16_t>(sizeof header + body.size());
    std::string bytes(sizeof header, '\0');
    std::memcpy(bytes.data(), &header, sizeof header);
    return bytes + body;
}

std::string event(std::uint64_t mask, const std::vector<std::string>& records,
                  std::int32_t pid = 100) {
    std::string info;
    for (const auto& record : records)
        info += record;
    fanotify_event_metadata metadata{};
    metadata.event_len = static_cast<std::uint32_t>(sizeof metadata + info.size());
    metadata.vers = FANOTIFY_METADATA_VERSION;
    metadata.metadata_len = sizeof metadata;
    metadata.mask = mask;
    metadata.fd = FAN_NOFD;
    metadata.pid = pid;
    std::string bytes(sizeof metadata, '\0');
    std::memcpy(bytes.data(), &metadata, sizeof metadata);
    return bytes + info;
}

std::string in_directory(std::uint64_t mask, const std::string& directory,
                         const std::string& name) {
    return event(mask, {directory_record(FAN_EVENT_INFO_TYPE_DFID_NAME, handle(directory), name)});
}

std::string renamed(std::uint64_t mask, const std::string& from_directory,
                    const std::string& from_name, const std::string& to_directory,
                    const std::string& to_name) {
    return event(
        FAN_RENAME | mask,
        {directory_record(FAN_EVENT_INFO_TYPE_OLD_DFID_NAME, handle(from_directory), from_name),
         directory_record(FAN_EVENT_INFO_TYPE_NEW_DFID_NAME, handle(to_directory), to_name)});
}

// The daemon's pid in these tests; records default to another process's.
constexpr std::int32_t k_own_pid = 42;

// Directories by fake handle id: "root" is the source root, "sub" is a/sub in it, "out" lies
// outside, "parent" holds the root (named "src"), "dead" was removed, anything else fails.
struct Translated {
    std::vector<FsEvent> events;
    std::vector<std::string> resolved;
};

Translated translate(const std::string& buffer, const ExcludeFilter* excludes = nullptr) {
    FanotifyTranslator translator(
        FanotifyTranslatorOptions{excludes, handle("parent"), "src", k_own_pid});
    const std::map<std::string, DirectoryPlace> places{
        {handle("root"), {DirectoryPlace::Where::inside, ""}},
        {handle("sub"), {DirectoryPlace::Where::inside, "a/sub"}},
        {handle("out"), {DirectoryPlace::Where::outside, ""}},
        {handle("parent"), {DirectoryPlace::Where::outside, ""}},
        {handle("dead"), {DirectoryPlace::Where::gone, ""}},
    };
    Translated result;
    DirectoryResolver resolve = [&](std::string_view directory) {
        result.resolved.emplace_back(directory);
        auto found = places.find(std::string(directory));
        return found == places.end() ? DirectoryPlace{} : found->second;
    };
    for (const auto& record : decode_fanotify_records(std::span(buffer.data(), buffer.size())))
        translator.translate(record, resolve, result.events);
    return result;
}

bool same(const FsEvent& event, EventKind kind, const std::string& path, bool is_directory,
          const std::string& from = "") {
    return event.kind == kind && event.path == path && event.is_directory == is_directory &&
           event.from_path == from;
}

} // namespace

TEST_CASE("fanotify records decode into directory handles and names", "[unit][fanotify]") {
    std::string buffer = in_directory(FAN_CREATE, "sub", "file.txt") +
                         renamed(FAN_ONDIR, "root", "old", "out", "new");
    auto records = decode_fanotify_records(std::span(buffer.data(), buffer.size()));
    REQUIRE(records.size() == 2);
    CHECK(records[0].mask == FAN_CREATE);
    CHECK(records[0].directory_handle == handle("sub"));
    CHECK(records[0].name == "file.txt");
    CHECK(records[0].new_directory_handle.empty());
    CHECK(records[1].directory_handle == handle("root"));
    CHECK(records[1].name == "old");
    CHECK(records[1].new_directory_handle == handle("out"));
    CHECK(records[1].new_name == "new");
}

TEST_CASE("events the daemon itself caused are dropped before any handle is resolved",
          "[unit][fanotify]") {
    const std::string own_write = event(
        FAN_CREATE | FAN_ONDIR,
        {directory_record(FAN_EVENT_INFO_TYPE_DFID_NAME, handle("elsewhere"), "made")}, k_own_pid);
    auto result = translate(own_write + in_directory(FAN_CREATE, "sub", "theirs"));
    CHECK(result.resolved == std::vector<std::string>{handle("sub")});
    REQUIRE(result.events.size() == 1);
    CHECK(result.events[0].path == "a/sub/theirs");
    // An overflow is the kernel's, whatever pid the record carries: still a rescan.
    auto overflow = translate(event(FAN_Q_OVERFLOW, {}, k_own_pid));
    REQUIRE(overflow.events.size() == 1);
    CHECK(overflow.events[0].kind == EventKind::rescan);
}

TEST_CASE("a truncated fanotify buffer keeps the whole records before it", "[unit][fanotify]") {
    std::string buffer =
        in_directory(FAN_CREATE, "sub", "a") + in_directory(FAN_CREATE, "sub", "b");
    buffer.resize(buffer.size() - 3);
    CHECK(decode_fanotify_records(std::span(buffer.data(), buffer.size())).size() == 1);
}

TEST_CASE("fanotify events in the tree map to the inotify backend's events", "[unit][fanotify]") {
    SECTION("created file") {
        auto result = translate(in_directory(FAN_CREATE, "sub", "f"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::created, "a/sub/f", false));
    }
    SECTION("created directory in the root") {
        auto result = translate(in_directory(FAN_CREATE | FAN_ONDIR, "root", "d"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::created, "d", true));
    }
    SECTION("modified and closed after writing") {
        auto result = translate(in_directory(FAN_MODIFY | FAN_CLOSE_WRITE, "sub", "f"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::modified, "a/sub/f", false));
    }
    SECTION("attributes of a directory itself") {
        auto result = translate(in_directory(FAN_ATTRIB | FAN_ONDIR, "sub", "."));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::attrib, "a/sub", true));
    }
    SECTION("removed directory") {
        auto result = translate(in_directory(FAN_DELETE | FAN_ONDIR, "sub", "gone"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::removed, "a/sub/gone", true));
    }
    SECTION("a creation and a removal merged in the queue: removal first") {
        auto result = translate(in_directory(FAN_CREATE | FAN_DELETE, "sub", "f"));
        REQUIRE(result.events.size() == 2);
        CHECK(same(result.events[0], EventKind::removed, "a/sub/f", false));
        CHECK(same(result.events[1], EventKind::created, "a/sub/f", false));
    }
}

TEST_CASE("fanotify renames map to moves, removals and creations", "[unit][fanotify]") {
    SECTION("within the tree") {
        auto result = translate(renamed(FAN_ONDIR, "root", "d", "sub", "e"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::moved, "a/sub/e", true, "d"));
    }
    SECTION("out of the tree") {
        auto result = translate(renamed(0, "sub", "f", "out", "f"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::removed, "a/sub/f", false));
    }
    SECTION("into the tree") {
        auto result = translate(renamed(FAN_ONDIR, "out", "d", "root", "d"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::created, "d", true));
    }
    SECTION("from a directory removed since, into the tree") {
        auto result = translate(renamed(0, "dead", "f", "sub", "f"));
        REQUIRE(result.events.size() == 1);
        CHECK(same(result.events[0], EventKind::created, "a/sub/f", false));
    }
    SECTION("elsewhere on the file system") {
        CHECK(translate(renamed(0, "out", "x", "out", "y")).events.empty());
    }
}

TEST_CASE("fanotify events outside the tree, excluded or in removed directories are dropped",
          "[unit][fanotify]") {
    CHECK(translate(in_directory(FAN_CREATE, "out", "f")).events.empty());
    CHECK(translate(in_directory(FAN_MODIFY, "dead", "f")).events.empty());
    ExcludeFilter excludes;
    excludes.add_pattern("*.tmp");
    excludes.add_pattern("/a/");
    CHECK(translate(in_directory(FAN_CREATE, "root", "x.tmp"), &excludes).events.empty());
    // Below an excluded directory, as the inotify backend (which never watches it) does.
    CHECK(translate(in_directory(FAN_CREATE, "sub", "f"), &excludes).events.empty());
    auto out_of_exclusion = translate(renamed(0, "root", "x.tmp", "root", "x"), &excludes);
    REQUIRE(out_of_exclusion.events.size() == 1);
    CHECK(same(out_of_exclusion.events[0], EventKind::created, "x", false));
}

TEST_CASE("an unlinked file's own event is dropped without resolving", "[unit][fanotify]") {
    auto result = translate(event(FAN_ATTRIB, {}));
    CHECK(result.events.empty());
    CHECK(result.resolved.empty());
}

TEST_CASE("overflow and unresolvable directories become one rescan of the tree",
          "[unit][fanotify]") {
    auto result = translate(event(FAN_Q_OVERFLOW, {}) + in_directory(FAN_CREATE, "broken", "f") +
                            renamed(0, "broken", "f", "root", "g"));
    REQUIRE(result.events.size() == 1);
    CHECK(same(result.events[0], EventKind::rescan, "", true));
}

TEST_CASE("removing or renaming the source root is root_lost without resolving",
          "[unit][fanotify]") {
    SECTION("rmdir") {
        auto result = translate(in_directory(FAN_DELETE | FAN_ONDIR, "parent", "src"));
        REQUIRE(result.events.size() == 1);
        CHECK(result.events[0].kind == EventKind::root_lost);
        CHECK(result.resolved.empty());
    }
    SECTION("renamed away") {
        auto result = translate(renamed(FAN_ONDIR, "parent", "src", "out", "elsewhere"));
        REQUIRE(result.events.size() == 1);
        CHECK(result.events[0].kind == EventKind::root_lost);
    }
    SECTION("a file of the root's name in its parent is not the root") {
        CHECK(translate(in_directory(FAN_DELETE, "parent", "src")).events.empty());
    }
}
