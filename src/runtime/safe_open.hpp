// Opening files of a game root for serving without ever following a symlink.
#pragma once

#include <filesystem>
#include <string_view>

namespace lanspread::runtime {

// Opens `root/relative` read-only, walking each component with O_NOFOLLOW (directories with
// O_DIRECTORY), so a symlink anywhere on the way, even one created after the library scan,
// makes it fail. Returns a file descriptor of a regular file, or -1.
int open_beneath(const std::filesystem::path& root, std::string_view relative);

}  // namespace lanspread::runtime
