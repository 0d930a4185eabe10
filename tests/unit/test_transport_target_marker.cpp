#include "transport/target_marker.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::transport;

TEST_CASE("a marker written by fsmirror reads back", "[transport][marker]") {
    const MarkerInfo info{"/mnt/storage do 1", "storage"};
    const std::string text = format_marker(info);
    CHECK(text.starts_with("# fsmirror"));
    const MarkerInfo read = parse_marker(text);
    CHECK(read.source == info.source);
    CHECK(read.sync_name == info.sync_name);
}

TEST_CASE("a hand-made or truncated marker still reads", "[transport][marker]") {
    CHECK(parse_marker("").source.empty());
    CHECK(parse_marker("just words\n").source.empty());
    CHECK(parse_marker("source=/a").source == "/a");
    CHECK(parse_marker("sync=x\nsource=/b=c\n").source == "/b=c");
}

TEST_CASE("only the root-level name is the marker", "[transport][marker]") {
    CHECK(is_marker_path(".fsmirror"));
    CHECK_FALSE(is_marker_path("sub/.fsmirror"));
    CHECK_FALSE(is_marker_path(".fsmirror2"));
}
