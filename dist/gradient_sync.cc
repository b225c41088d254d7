#include "dist/gradient_sync.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cstdio>
#include <functional>
#include <sstream>

namespace shardnet::dist {

GradientSync::GradientSync(const Communicator& comm, size_t bucket_bytes, std::optional<WireFormat> compression)
    : comm_(comm), bucket_bytes_(std::max<size_t>(bucket_bytes, sizeof(float))), compression_(compression) {}

void GradientSync::plan_buckets(const std::vector<Param*>& params) {
  buckets_.clear();
  slots_.clear();
  size_t bytes = 0;
  for (auto it = params.rbegin(); it != params.rend(); ++it) {
    const size_t size = static_cast<size_t>((*it)->grad.numel()) * sizeof(float);
    if (buckets_.empty() || (bytes > 0 && bytes + size > bucket_bytes_)) {
      buckets_.emplace_back();
      bytes = 0;
    }
    slots_[*it] = Slot{buckets_.size() - 1, bytes / sizeof(float)};
    buckets_.back().params.push_back(*it);
    bytes += size;
    buckets_.back().values.resize(bytes / sizeof(float));
  }
  if (buckets_.empty()) buckets_.emplace_back();  // a model without parameters still agrees on stops
  buckets_.back().values.push_back(0.0f);         // the stop request
  if (compression_) {
    for (Bucket& bucket : buckets_) bucket.compressed.emplace(*compression_);
  }
  planned_for_.assign(params.begin(), params.end());
}

void GradientSync::start_gradient_sum(const std::vector<Param*>& params) {
  if (comm_.size() == 1) return;
  if (!std::equal(params.begin(), params.end(), planned_for_.begin(), planned_for_.end())) plan_buckets(params);
  assert(next_to_finish_ == next_to_start_ && "the previous sum was not finished");
  for (Bucket& bucket : buckets_) bucket.missing = bucket.params.size();
  next_to_start_ = next_to_finish_ = 0;
}

void GradientSync::copy_in(const Param& param) {
  const auto slot = slots_.find(&param);
  assert(slot != slots_.end() && "gradient of a parameter that start_gradient_sum() did not get");
  Bucket& bucket = buckets_[slot->second.bucket];
  assert(bucket.missing > 0);
  std::copy_n(param.grad.data(), param.grad.numel(), bucket.values.data() + slot->second.offset);
  --bucket.missing;
}

void GradientSync::gradients_ready(std::span<Param* const> params) {
  if (comm_.size() == 1) return;
  for (const Param* p : params) copy_in(*p);
  start_ready_buckets();
}

void GradientSync::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].missing == 0) {
    Bucket& bucket = buckets_[next_to_start_++];
    if (next_to_start_ == buckets_.size()) bucket.values.back() = local_stop_requested() ? 1.0f : 0.0f;
    bucket.started = Timeline::Clock::now();
    if (bucket.compressed) {
      bucket.compressed->start(comm_, bucket.values);
    } else {
      bucket.sum.start(comm_, bucket.values);
    }
    ++buckets_sent_;
  }
  // MPI moves a non-blocking collective along only inside MPI calls: give it one per layer.
  while (next_to_finish_ < next_to_start_ && buckets_[next_to_finish_].test()) record_done(next_to_finish_++);
}

void GradientSync::record_done(size_t index) {
  Bucket& bucket = buckets_[index];
  if (timeline_ != nullptr) {
    char name[64];
    std::snprintf(name, sizeof name, "allreduce bucket %zu (%.2f MiB)", index,
                  static_cast<double>(bucket.values.size() * sizeof(float)) / (1 << 20));
    timeline_->add(name, Timeline::kCommunication, bucket.started, Timeline::Clock::now());
  }
  size_t offset = 0;
  for (Param* p : bucket.params) {
    std::copy_n(bucket.values.data() + offset, p->grad.numel(), p->grad.data());
    offset += static_cast<size_t>(p->grad.numel());
  }
}

void GradientSync::finish_gradient_sum() {
  if (comm_.size() == 1) return;
  const auto start = Timeline::Clock::now();
  // Gradients nobody reported (a caller that skips gradients_ready) are taken as they are now.
  for (Bucket& bucket : buckets_) {
    if (bucket.missing == 0) continue;
    for (const Param* p : bucket.params) {
      const Slot& slot = slots_.at(p);
      std::copy_n(p->grad.data(), p->grad.numel(), bucket.values.data() + slot.offset);
    }
    bucket.missing = 0;
  }
  start_ready_buckets();
  for (size_t i = next_to_finish_; i < buckets_.size(); ++i) {
    if (buckets_[i].compressed) buckets_[i].compressed->start_gather();
  }
  for (; next_to_finish_ < buckets_.size(); ++next_to_finish_) {
    buckets_[next_to_finish_].wait();
    record_done(next_to_finish_);
  }
  stop_agreed_ = buckets_.back().values.back() > 0.5f;
  wait_seconds_ += std::chrono::duration<double>(Timeline::Clock::now() - start).count();
}

bool sum_exact_over_ranks(const Communicator& comm, std::span<ExactSum* const> sums, bool stop_requested) {
  if (comm.size() == 1) return stop_requested;
  std::vector<int32_t> tops;
  tops.reserve(sums.size() + 1);
  for (const ExactSum* s : sums) tops.push_back(s->top());
  tops.push_back(stop_requested ? 1 : 0);
  comm.allreduce_max(tops);
  size_t limbs = 0;
  for (size_t i = 0; i < sums.size(); ++i) {
    sums[i]->align_to(tops[i]);
    limbs += sums[i]->limbs().size();
  }
  // One call for all: a model has many small parameters.
  std::vector<int64_t> packed;
  packed.reserve(limbs);
  for (ExactSum* s : sums) packed.insert(packed.end(), s->limbs().begin(), s->limbs().end());
  comm.allreduce_sum(packed);
  size_t at = 0;
  for (ExactSum* s : sums) {
    const std::span<int64_t> l = s->limbs();
    std::copy_n(packed.begin() + static_cast<std::ptrdiff_t>(at), l.size(), l.begin());
    at += l.size();
  }
  return tops.back() != 0;
}

// A layer's tops are agreed by a non-blocking MAX (with the stop request riding along) that
// completes while the next layer is differentiated; then its limbs' sums start. On every rank the
// same sequence: MAX(layer 1), [layer 2 ready] sums(layer 1), MAX(layer 2), ...
void GradientSync::exact_gradients_ready(std::span<Param* const> params) {
  if (params.empty() || comm_.size() == 1) return;
  start_agreed_exact_sums();
  ExactTops& next = exact_tops_.emplace();
  next.params.assign(params.begin(), params.end());
  for (const Param* p : params) next.tops.push_back(p->grain_sum.top());
  next.tops.push_back(local_stop_requested() ? 1 : 0);
  next.max.start(comm_, next.tops);
  // MPI moves non-blocking sums along only inside its calls.
  for (size_t i = 0; i < exact_started_; ++i) exact_sums_[i].test();
}

void GradientSync::start_agreed_exact_sums() {
  if (!exact_tops_) return;
  ExactTops& agreed = *exact_tops_;
  agreed.max.wait();
  stop_agreed_ = agreed.tops.back() != 0;
  exact_stop_shared_ = true;
  for (size_t i = 0; i < agreed.params.size(); ++i) {
    agreed.params[i]->grain_sum.align_to(agreed.tops[i]);
    // The sums are kept from step to step: their receive buffers stay allocated (and paged in).
    if (exact_started_ == exact_sums_.size()) exact_sums_.emplace_back();
    exact_sums_[exact_started_++].start(comm_, *agreed.params[i]);
  }
  exact_tops_.reset();
}

void GradientSync::finish_exact_gradient_sum(const std::vector<Param*>& params) {
  if (comm_.size() == 1) {
    Collective::finish_exact_gradient_sum(params);
    return;
  }
  const auto start = Timeline::Clock::now();
  start_agreed_exact_sums();
  if (!exact_stop_shared_) {  // a model without parameters still agrees on stops
    int32_t stop = local_stop_requested() ? 1 : 0;
    comm_.allreduce_max(std::span<int32_t>(&stop, 1));
    stop_agreed_ = stop != 0;
  }
  for (size_t i = 0; i < exact_started_; ++i) exact_sums_[i].gather(comm_);
  for (size_t i = 0; i < exact_started_; ++i) exact_sums_[i].wait();
  exact_started_ = 0;
  exact_stop_shared_ = false;
  if (timeline_) timeline_->add("exact sums", Timeline::kCommunication, start, Timeline::Clock::now());
}

void broadcast_parameters(const Communicator& comm, const std::vector<Param*>& params) {
  for (Param* p : params) comm.broadcast(p->value.span(), 0);
}

namespace {

// "<step count>\n" then "<param>\t<slot>\t<dim>,<dim>...\n" per slot, in the state's order.
std::string optimizer_layout(Optimizer& optimizer) {
  std::string text = std::to_string(optimizer.step_count()) + "\n";
  for (const auto& [param, slots] : optimizer.state()) {
    for (const auto& [name, tensor] : slots) {
      text += param + "\t" + name + "\t";
      for (size_t d = 0; d < tensor.shape().size(); ++d) {
        if (d > 0) text += ',';
        text += std::to_string(tensor.shape()[d]);
      }
      text += "\n";
    }
  }
  return text;
}

void create_slots(Optimizer& optimizer, const std::string& layout) {
  std::istringstream in(layout);
  std::string line;
  std::getline(in, line);
  optimizer.set_step_count(std::stoll(line));
  optimizer.state().clear();
  while (std::getline(in, line)) {
    const size_t tab1 = line.find('\t'), tab2 = line.find('\t', tab1 + 1);
    Shape shape;
    std::istringstream dims(line.substr(tab2 + 1));
    for (std::string dim; std::getline(dims, dim, ',');) shape.push_back(std::stoll(dim));
    optimizer.state()[line.substr(0, tab1)][line.substr(tab1 + 1, tab2 - tab1 - 1)] = Tensor(shape);
  }
}

}  // namespace

void broadcast_training_state(const Communicator& comm, Net& net, Optimizer& optimizer) {
  if (comm.size() == 1) return;
  broadcast_parameters(comm, net.params());
  for (Buffer* b : net.buffers()) comm.broadcast(b->value.span(), 0);
  std::string layout = comm.rank() == 0 ? optimizer_layout(optimizer) : "";
  comm.broadcast(layout, 0);
  if (comm.rank() != 0) create_slots(optimizer, layout);
  for (auto& [param, slots] : optimizer.state()) {
    for (auto& [name, tensor] : slots) comm.broadcast(tensor.span(), 0);
  }
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
