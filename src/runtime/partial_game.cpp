#include "runtime/partial_game.hpp"

#include "library/hasher.hpp"
#include "proto/codec.hpp"

namespace lanspread::runtime {

PartialGame::PartialGame(std::string id_, proto::Sha256 digest_,
                         std::shared_ptr<const proto::Game> manifest_,
                         std::vector<std::filesystem::path> roots_)
    : id(std::move(id_)),
      digest(digest_),
      manifest(std::move(manifest_)),
      numbering(*manifest),
      verified(numbering.total()),
      roots(std::move(roots_)) {
  for (std::size_t i = 0; i < manifest->files.size(); ++i)
    paths_.emplace(manifest->files[i].path, i);
}

const proto::GameFileDescription* PartialGame::servable(std::string_view path, std::uint64_t offset,
                                                        std::uint64_t length,
                                                        std::filesystem::path& root) const {
  auto it = paths_.find(path);
  if (it == paths_.end()) return nullptr;
  const auto& f = manifest->files[it->second];
  const std::uint64_t cs = manifest->chunk_size;
  if (f.is_dir || offset % cs != 0 || offset >= f.size) return nullptr;
  if (length != std::min(cs, f.size - offset)) return nullptr;
  if (!verified.test(numbering.index(it->second, offset))) return nullptr;
  root = roots[it->second];
  return &f;
}

const proto::GameFileDescription* PartialGame::servable_whole(std::string_view path,
                                                              std::filesystem::path& root) const {
  auto it = paths_.find(path);
  if (it == paths_.end()) return nullptr;
  const auto& f = manifest->files[it->second];
  if (f.is_dir || f.chunk_hashes.size() != 1) return nullptr;
  return servable(path, 0, f.size, root);
}

proto::ChunkMap PartialGame::chunk_map() const {
  return proto::ChunkMap{id, manifest->version, digest, verified.size(), verified.bytes()};
}

proto::Sha256 manifest_digest(const proto::Game& manifest) {
  const std::string text = proto::encode_response(manifest);
  return library::sha256({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

}  // namespace lanspread::runtime
