#include "dist/compressed_sum.h"

#include <mpi.h>

#include <algorithm>
#include <cassert>
#include <limits>

#include "core/half_float.h"

namespace shardnet::dist {

struct CompressedSum::State {
  WireFormat format;
  const Communicator* comm = nullptr;
  std::span<float> values;
  std::vector<float> feedback;
  std::vector<float> sums;  // scratch: the values with feedback, then this rank's chunk's sums
  std::vector<uint16_t> sent, received, own_sums, gathered;
  std::vector<int> chunk_counts, chunk_starts, from_each_counts, from_each_starts;
  MPI_Request request = MPI_REQUEST_NULL;
  enum class Phase { kIdle, kScatter, kGather } phase = Phase::kIdle;

  std::vector<float> block;  // scratch of kBlock floats

  static constexpr size_t kBlock = 4096;
  void narrow(const float* in, uint16_t* out, size_t n) const {
    format == WireFormat::kBf16 ? to_bf16(in, out, n) : to_fp16(in, out, n);
  }
  void widen(const uint16_t* in, float* out, size_t n) const {
    format == WireFormat::kBf16 ? from_bf16(in, out, n) : from_fp16(in, out, n);
  }
  // out = rounded(in), feedback += in - widened(out), block by block.
  void narrow_with_feedback(const float* in, uint16_t* out, float* feedback_of, size_t n) {
    block.resize(kBlock);
    for (size_t first = 0; first < n; first += kBlock) {
      const size_t m = std::min(kBlock, n - first);
      narrow(in + first, out + first, m);
      widen(out + first, block.data(), m);
      for (size_t i = 0; i < m; ++i) feedback_of[first + i] += in[first + i] - block[i];
    }
  }
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
    // What goes out is the values plus what rounding took from them last time; the feedback is
    // then what this rounding takes.
    std::vector<float>& with_feedback = sums;
    with_feedback.resize(values.size());
    for (size_t i = 0; i < values.size(); ++i) with_feedback[i] = values[i] + feedback[i];
    std::fill(feedback.begin(), feedback.end(), 0.0f);
    narrow_with_feedback(with_feedback.data(), sent.data(), feedback.data(), values.size());
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
    sums.assign(mine, 0.0f);
    block.resize(kBlock);
    for (size_t r = 0; r < from_each_counts.size(); ++r) {
      for (size_t first = 0; first < mine; first += kBlock) {
        const size_t m = std::min(kBlock, mine - first);
        widen(received.data() + r * mine + first, block.data(), m);
        for (size_t i = 0; i < m; ++i) sums[first + i] += block[i];
      }
    }
    narrow_with_feedback(sums.data(), own_sums.data(), feedback.data() + start, mine);
    comm->progress().enter("MPI_Iallgatherv (16-bit)");
    mpi_check(MPI_Iallgatherv(own_sums.data(), static_cast<int>(mine), MPI_UINT16_T, gathered.data(),
                              chunk_counts.data(), chunk_starts.data(), MPI_UINT16_T, MPI_COMM_WORLD, &request),
              "MPI_Iallgatherv");
    phase = Phase::kGather;
  }

  void finish() {
    widen(gathered.data(), values.data(), values.size());
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

void CompressedSum::progress() {
  State& s = *state_;
  if (s.phase == State::Phase::kIdle || s.request == MPI_REQUEST_NULL) return;
  int done = 0;
  mpi_check(MPI_Test(&s.request, &done, MPI_STATUS_IGNORE), "compressed gradient sum (test)");
}

void CompressedSum::start_gather() {
  State& s = *state_;
  if (s.phase != State::Phase::kScatter) return;
  mpi_check(MPI_Wait(&s.request, MPI_STATUS_IGNORE), "compressed gradient sum (reduce-scatter)");
  s.gather();
}

void CompressedSum::wait() {
  State& s = *state_;
  start_gather();
  if (s.phase == State::Phase::kGather) {
    mpi_check(MPI_Wait(&s.request, MPI_STATUS_IGNORE), "compressed gradient sum (gather)");
    s.finish();
  }
}

bool CompressedSum::active() const { return state_->phase != State::Phase::kIdle; }

std::span<const float> CompressedSum::feedback() const { return state_->feedback; }

}  // namespace shardnet::dist
