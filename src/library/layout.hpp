// The game-root names live in proto/layout.hpp, the one layout table. This alias remains only
// for callers not yet moved there; new code includes proto/layout.hpp.
#pragma once

#include "proto/layout.hpp"

namespace lanspread::library {

inline constexpr std::string_view kVersionFile = proto::layout::kVersionIni;

}  // namespace lanspread::library
