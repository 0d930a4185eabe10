#include "transport/ssh_connection.hpp"
#include "transport/ssh_transport.hpp"

#include <catch2/catch.hpp>

using namespace fsmirror::transport;

TEST_CASE("fingerprints are printed as OpenSSH does: base64 without padding", "[transport][ssh]") {
    CHECK(base64_unpadded("") == "");
    CHECK(base64_unpadded("f") == "Zg");
    CHECK(base64_unpadded("fo") == "Zm8");
    CHECK(base64_unpadded("foo") == "Zm9v");
    CHECK(base64_unpadded("foobar") == "Zm9vYmFy");
    CHECK(base64_unpadded(std::string("\xff\xfe\x00", 3)) == "//4A");
    // A SHA256 digest is 32 bytes: 43 characters.
    CHECK(base64_unpadded(std::string(32, '\x01')).size() == 43);
}

TEST_CASE("the agent command is quoted for the remote shell", "[transport][ssh]") {
    CHECK(agent_command("fsmirror", "/srv/mirror") == "'fsmirror' agent --root '/srv/mirror'");
    CHECK(agent_command("/opt/my tools/fsmirror", "/srv/it's here") ==
          "'/opt/my tools/fsmirror' agent --root '/srv/it'\\''s here'");
    CHECK(agent_command("x", "/a;rm -rf /") == "'x' agent --root '/a;rm -rf /'");
}
