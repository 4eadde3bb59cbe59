// local/.lanspread.files: the files an install created, so a later update can tell them
// apart from files the player created (saves, configs), which it carries into the new tree.
#pragma once

#include "install/error.hpp"

#include <filesystem>
#include <optional>
#include <set>
#include <string>

namespace lanspread::install {

// Relative '/'-separated paths of every non-directory under `tree`, except Lanspread's files.
result<std::set<std::string>> list_tree_files(const std::filesystem::path& tree,
                                              std::string& detail);

result<void> write_installed_files(const std::filesystem::path& tree,
                                   const std::set<std::string>& files, const std::string& version,
                                   std::string& detail);

// nullopt when the list is absent, corrupt or foreign (the update then falls back to
// "carry what the new version does not ship"; see docs/install-journal.md).
std::optional<std::set<std::string>> read_installed_files(const std::filesystem::path& tree);

}  // namespace lanspread::install
