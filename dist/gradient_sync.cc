#include "dist/gradient_sync.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>

namespace shardnet::dist {

GradientSync::GradientSync(const Communicator& comm, size_t bucket_bytes)
    : comm_(comm), bucket_bytes_(std::max<size_t>(bucket_bytes, sizeof(float))) {}

void GradientSync::plan_buckets(const std::vector<Param*>& params) {
  buckets_.clear();
  size_t bytes = 0, largest = 0;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const size_t size = static_cast<size_t>((*it)->grad.numel()) * sizeof(float);
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes_)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    buckets_.back().push_back(*it);
    bytes += size;
    largest = std::max(largest, bytes);
  }
  buffer_.resize(largest / sizeof(float));
  planned_for_.assign(params.begin(), params.end());
}

void GradientSync::sum_gradients(const std::vector<Param*>& params) {
  if (comm_.size() == 1) return;
  if (!std::equal(params.begin(), params.end(), planned_for_.begin(), planned_for_.end())) plan_buckets(params);
  for (const auto& bucket : buckets_) {
    size_t offset = 0;
    for (const Param* p : bucket) {
      std::copy_n(p->grad.data(), p->grad.numel(), buffer_.data() + offset);
      offset += static_cast<size_t>(p->grad.numel());
    }
    const auto start = std::chrono::steady_clock::now();
    comm_.allreduce_sum(std::span<float>(buffer_.data(), offset));
    allreduce_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++buckets_sent_;
    offset = 0;
    for (Param* p : bucket) {
      std::copy_n(buffer_.data() + offset, p->grad.numel(), p->grad.data());
      offset += static_cast<size_t>(p->grad.numel());
    }
  }
}

void broadcast_parameters(const Communicator& comm, const std::vector<Param*>& params) {
  for (Param* p : params) comm.broadcast(p->value.span(), 0);
}

namespace {
// Short values are shown as they are; long or multi-line ones (a model file) by size and hash.
std::string render(const std::string& value) {
  if (value.size() <= 80 && value.find('\n') == std::string::npos) return value;
  char hash[17];
  std::snprintf(hash, sizeof hash, "%016llx", static_cast<unsigned long long>(std::hash<std::string>{}(value)));
  return std::to_string(value.size()) + " bytes, hash " + hash;
}
}  // namespace

void check_same_on_all_ranks(const Communicator& comm, const std::vector<Fingerprint>& items) {
  if (comm.size() == 1) return;
  for (const Fingerprint& item : items) {
    const auto hashes = comm.allgather(std::hash<std::string>{}(item.value));
    std::string differ;
    for (int r = 1; r < comm.size(); ++r) {
      if (hashes[r] != hashes[0]) differ += (differ.empty() ? "" : ", ") + std::to_string(r);
    }
    if (differ.empty()) continue;
    std::string reference = item.value;
    comm.broadcast(reference, 0);
    const bool mine_differs = hashes[comm.rank()] != hashes[0];
    throw MpiError("ranks disagree on the " + item.name + ": rank(s) " + differ + " differ from rank 0" +
                   (mine_differs ? " (rank " + std::to_string(comm.rank()) + " has " + render(item.value) +
                                       ", rank 0 has " + render(reference) + ")"
                                 : " (rank 0 has " + render(reference) + ")"));
  }
}

}  // namespace shardnet::dist
