#pragma once
// The outcome of one pre-flight check: which check, about which path, how bad, and what to do.

#include <string>

namespace fsmirror::safety {

enum class Severity {
    ok,      // the check passed; `message` says what was seen
    warning, // worth a look, but nothing is refused
    error,   // refused: nothing is written until it is fixed
};

struct Finding {
    std::string check; // short stable name, e.g. "non-empty-target"
    std::string path;  // the path the finding is about
    Severity severity = Severity::ok;
    std::string message; // what was found
    std::string fix;     // what the operator can do ("" for ok)
};

// Returns "ok", "warning" or "FAILED".
const char* to_string(Severity severity);

// Returns one line: "<check>: <path>: <message>; fix: <fix>" (no fix part when there is none).
std::string format_finding(const Finding& finding);

} // namespace fsmirror::safety
