#include "dist/compressed_sum.h"

#include <mpi.h>

#include <cassert>
#include <limits>

#include "core/half_float.h"

namespace shardnet::dist {

struct CompressedSum::State {
  WireFormat format;
  const Communicator* comm = nullptr;
  std::span<float> values;
  std::vector<float> feedback;
  std::vector<uint16_t> sent, received, own_sums, gathered;
  std::vector<int> chunk_counts, chunk_starts, from_each_counts, from_each_starts;
  MPI_Request request = MPI_REQUEST_NULL;
  enum class Phase { kIdle, kScatter, kGather } phase = Phase::kIdle;

  uint16_t narrow(float v) const { return format == WireFormat::kBf16 ? to_bf16(v) : to_fp16(v); }
  float widen(uint16_t v) const { return format == WireFormat::kBf16 ? from_bf16(v) : from_fp16(v); }
  int rank() const { return comm->rank(); }

  void plan(size_t n) {
    const int ranks = comm->size();
    chunk_counts.assign(static_cast<size_t>(ranks), 0);
    chunk_starts.assign(static_cast<size_t>(ranks), 0);
    for (int r = 0; r < ranks; ++r) {
      const size_t begin = n * static_cast<size_t>(r) / static_cast<size_t>(ranks);
      const size_t end = n * static_cast<size_t>(r + 1) / static_cast<size_t>(ranks);
      chunk_starts[static_cast<size_t>(r)] = static_cast<int>(begin);
      chunk_counts[static_cast<size_t>(r)] = static_cast<int>(end - begin);
    }
    const int mine = chunk_counts[static_cast<size_t>(rank())];
    from_each_counts.assign(static_cast<size_t>(ranks), mine);
    from_each_starts.resize(static_cast<size_t>(ranks));
    for (int r = 0; r < ranks; ++r) from_each_starts[static_cast<size_t>(r)] = r * mine;
    feedback.assign(n, 0.0f);
    sent.resize(n);
    gathered.resize(n);
    received.resize(static_cast<size_t>(mine) * static_cast<size_t>(ranks));
    own_sums.resize(static_cast<size_t>(mine));
  }

  void scatter() {
    for (size_t i = 0; i < values.size(); ++i) {
      const float v = values[i] + feedback[i];
      sent[i] = narrow(v);
      feedback[i] = v - widen(sent[i]);
    }
    comm->progress().enter("MPI_Ialltoallv (16-bit)");
    mpi_check(MPI_Ialltoallv(sent.data(), chunk_counts.data(), chunk_starts.data(), MPI_UINT16_T, received.data(),
                             from_each_counts.data(), from_each_starts.data(), MPI_UINT16_T, MPI_COMM_WORLD, &request),
              "MPI_Ialltoallv");
    phase = Phase::kScatter;
  }

  // This rank's chunk summed over the ranks in float32, in rank order (not arrival order), rounded
  // for the wire; what that rounding took goes to this rank's feedback.
  void gather() {
    const size_t mine = own_sums.size(), start = static_cast<size_t>(chunk_starts[static_cast<size_t>(rank())]);
    for (size_t i = 0; i < mine; ++i) {
      float sum = 0.0f;
      for (size_t r = 0; r < from_each_counts.size(); ++r) sum += widen(received[r * mine + i]);
      own_sums[i] = narrow(sum);
      feedback[start + i] += sum - widen(own_sums[i]);
    }
    comm->progress().enter("MPI_Iallgatherv (16-bit)");
    mpi_check(MPI_Iallgatherv(own_sums.data(), static_cast<int>(mine), MPI_UINT16_T, gathered.data(),
                              chunk_counts.data(), chunk_starts.data(), MPI_UINT16_T, MPI_COMM_WORLD, &request),
              "MPI_Iallgatherv");
    phase = Phase::kGather;
  }

  void finish() {
    for (size_t i = 0; i < values.size(); ++i) values[i] = widen(gathered[i]);
    phase = Phase::kIdle;
  }
};

CompressedSum::CompressedSum(WireFormat format) : state_(std::make_unique<State>()) { state_->format = format; }
// As with PendingSum: a sum still in flight here means the job is failing and about to be aborted.
CompressedSum::~CompressedSum() = default;
CompressedSum::CompressedSum(CompressedSum&&) noexcept = default;
CompressedSum& CompressedSum::operator=(CompressedSum&&) noexcept = default;

void CompressedSum::start(const Communicator& comm, std::span<float> values) {
  assert(!active());
  State& s = *state_;
  if (values.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw MpiError("compressed gradient sum: a bucket of more than 2^31 values (lower --bucket-mb)");
  }
  const bool replanned = s.comm != &comm || s.feedback.size() != values.size();
  s.comm = &comm;
  s.values = values;
  if (replanned) s.plan(values.size());
  s.scatter();
}

bool CompressedSum::test() {
  State& s = *state_;
  if (s.phase == State::Phase::kIdle) return true;
  int done = 0;
  mpi_check(MPI_Test(&s.request, &done, MPI_STATUS_IGNORE), "compressed gradient sum (test)");
  if (!done) return false;
  if (s.phase == State::Phase::kScatter) {
    s.gather();
    return false;
  }
  s.finish();
  return true;
}

void CompressedSum::wait() {
  State& s = *state_;
  if (s.phase == State::Phase::kScatter) {
    mpi_check(MPI_Wait(&s.request, MPI_STATUS_IGNORE), "compressed gradient sum (wait)");
    s.gather();
  }
  if (s.phase == State::Phase::kGather) {
    mpi_check(MPI_Wait(&s.request, MPI_STATUS_IGNORE), "compressed gradient sum (wait)");
    s.finish();
  }
}

bool CompressedSum::active() const { return state_->phase != State::Phase::kIdle; }

std::span<const float> CompressedSum::feedback() const { return state_->feedback; }

}  // namespace shardnet::dist
