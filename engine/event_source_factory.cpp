// The one place that knows every event-source backend.

#include "engine/event_source.hpp"
#include "engine/inotify_event_source.hpp"

#include <stdexcept>

namespace fsmirror::engine {

std::unique_ptr<EventSource> make_event_source(EventSourceKind kind, EventSourceOptions options) {
    switch (kind) {
    case EventSourceKind::inotify:
        return std::make_unique<InotifyEventSource>(std::move(options));
    }
    throw std::invalid_argument("unknown event source kind");
}

} // namespace fsmirror::engine
