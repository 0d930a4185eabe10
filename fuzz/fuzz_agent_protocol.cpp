// Any bytes from the other end of the SSH channel: as a frame stream, and each payload as a
// request (what the agent decodes) and as a reply (what the client decodes). A decoded message
// must encode again into a frame that decodes. Errors are values; a crash, an exception or a
// sanitizer report is a bug.

#include "transport/agent_protocol.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace agent = fsmirror::transport::agent;

namespace {

// The payload of a frame made by encode(): the frame without its 4-byte length.
std::string_view payload_of(const std::string& frame) {
    if (frame.size() < 4)
        std::abort();
    return std::string_view(frame).substr(4);
}

void decode_payload(std::string_view payload) {
    if (auto request = agent::decode_request(payload)) {
        const std::string frame = agent::encode(*request);
        if (!agent::decode_request(payload_of(frame)))
            std::abort(); // what we encode, we must accept
    }
    if (auto reply = agent::decode_reply(payload)) {
        const std::string frame = agent::encode(*reply);
        if (!agent::decode_reply(payload_of(frame)))
            std::abort();
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    decode_payload(bytes);
    // The same bytes as a stream, fed in two parts at a split the input chooses.
    agent::FrameReader reader;
    const std::size_t split = size == 0 ? 0 : data[0] % (size + 1);
    reader.feed(bytes.substr(0, split));
    reader.feed(bytes.substr(split));
    for (;;) {
        auto next = reader.next();
        if (!next || !*next)
            break;
        decode_payload(**next);
    }
    return 0;
}
