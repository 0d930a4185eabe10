// The one place that knows every event-source backend.

#include "engine/event_source.hpp"
#include "engine/inotify_event_source.hpp"

#include <stdexcept>

namespace fsmirror::engine {

const char* to_string(EventKind kind) {
    switch (kind) {
    case EventKind::created:
        return "created";
    case EventKind::modified:
        return "modified";
    case EventKind::attrib:
        return "attrib";
    case EventKind::removed:
        return "removed";
    case EventKind::moved:
        return "moved";
    case EventKind::rescan:
        return "rescan";
    case EventKind::root_lost:
        return "root_lost";
    }
    return "unknown";
}

std::unique_ptr<EventSource> make_event_source(EventSourceKind kind, EventSourceOptions options) {
    switch (kind) {
    case EventSourceKind::inotify:
        return std::make_unique<InotifyEventSource>(std::move(options));
    }
    throw std::invalid_argument("unknown event source kind");
}

} // namespace fsmirror::engine
