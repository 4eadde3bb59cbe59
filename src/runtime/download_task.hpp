// One download (the reference's steps 3-7): prepares the files, skips chunks already right
// on disk (resume and delta), fetches the rest from every source at once as the chunk
// planner decides (one QUIC stream per chunk, bytes written at their offset and hashed on
// the disk pool), and commits version.ini last. Runs on the network thread; disk work goes
// to the disk pool.
#pragma once

#include "proto/messages.hpp"
#include "transfer/error.hpp"
#include "transport/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <filesystem>
#include <functional>
#include <stop_token>
#include <string>
#include <vector>

namespace lanspread::runtime {

struct DownloadProgress {
  std::uint64_t done = 0;  // bytes verified (including chunks that were already right)
  std::uint64_t total = 0;
  std::uint64_t bytes_per_second = 0;
  std::size_t active_peers = 0;  // peers with a chunk stream in flight
};

struct DownloadReport {
  std::uint64_t fetched = 0;  // bytes that crossed the network
  std::uint64_t reused = 0;   // bytes already right on disk
};

struct DownloadJob {
  std::string id;
  proto::Game manifest;
  std::vector<std::string> sources;
  std::filesystem::path root;
  boost::asio::any_io_executor net;
  boost::asio::any_io_executor disk;
  std::function<boost::asio::awaitable<
      boost::system::result<std::shared_ptr<transport::Connection>>>(std::string peer)>
      connect;
  std::function<void(const DownloadProgress&)> progress;  // about 4 times a second
  std::stop_token stop;
};

// On failure or cancellation the temp sentinel files are swept and the old version.ini is
// not restored; on cancellation the payload files are deleted too (local/ and the install
// intent log stay), as the reference does.
boost::asio::awaitable<boost::system::result<DownloadReport>> run_download(DownloadJob job);

}  // namespace lanspread::runtime
