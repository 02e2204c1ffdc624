// The one JSON helper vbhctl needs: a quoted, escaped string (RFC 8259 §7).
#pragma once

#include <string>
#include <string_view>

namespace vbhctl {

std::string json_string(std::string_view s);

} // namespace vbhctl
