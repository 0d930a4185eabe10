#include "safety/finding.hpp"

namespace fsmirror::safety {

const char* to_string(Severity severity) {
    switch (severity) {
    case Severity::ok:
        return "ok";
    case Severity::warning:
        return "warning";
    case Severity::error:
        return "FAILED";
    }
    return "FAILED";
}

std::string format_finding(const Finding& finding) {
    std::string line = finding.check + ": " + finding.path + ": " + finding.message;
    if (!finding.fix.empty())
        line += "; fix: " + finding.fix;
    return line;
}

} // namespace fsmirror::safety
