// The report's static files: its style sheet, its script (sorting, filters,
// copying a command) and the placeholder image. Plain text shipped in the
// binary, so a report needs nothing from the network or the host.
#pragma once

#include <string_view>

namespace ndrd::daemon {

std::string_view report_css();
std::string_view report_js();
std::string_view placeholder_svg();

} // namespace ndrd::daemon
