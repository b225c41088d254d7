#pragma once
// The MPI side of shardnet. A Communicator owns MPI's lifetime (MPI_Init_thread / MPI_Finalize) when
// the process was started by an MPI launcher, and is a plain size-1 world without any MPI call when
// it was not, so one binary serves `mpirun -np 4 shardnet train` and `shardnet train`. Every MPI return
// code is checked in one place (mpi_check), with MPI_ERRORS_RETURN set on the world communicator.
#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace shardnet::dist {

class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// True when the environment says an MPI launcher (mpirun, srun, hydra) started this process.
bool launched_by_mpi();

// What a rank has got to, for the stall inspector (dist/stall_inspector.h). Every collective call
// of the Communicator and every PendingSum start counts one; all ranks make the same calls in the
// same order, so a rank whose count is below another's is behind it. Written by the rank's main
// thread, read by the inspector's.
struct Progress {
  std::atomic<uint64_t> collectives{0};
  std::atomic<const char*> last_collective{"none yet"};
  std::atomic<int64_t> step{-1};  // the training step being taken (-1: before the first)

  void enter(const char* what) {
    last_collective.store(what, std::memory_order_relaxed);
    collectives.fetch_add(1, std::memory_order_release);
  }
};

class Communicator {
 public:
  // Initialises MPI when launched_by_mpi(); otherwise a world of one.
  Communicator();
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool uses_mpi() const { return initialised_; }

  // In-place element-wise sums over all ranks (chunked below 2^31 elements per call).
  void allreduce_sum(std::span<float> values) const;
  void allreduce_sum(std::span<double> values) const;
  void allreduce_sum(std::span<int64_t> values) const;
  void allreduce_max(std::span<int32_t> values) const;
  void broadcast(std::span<float> values, int root) const;
  void broadcast(std::string& text, int root) const;
  // Every rank's value, in rank order.
  std::vector<uint64_t> allgather(uint64_t value) const;
  // Every rank's text, in rank order, at `root` (empty elsewhere).
  std::vector<std::string> gather(const std::string& text, int root) const;
  void barrier() const;
  // Ends every rank of the job (MPI_Abort); a no-op exit for a world of one.
  [[noreturn]] void abort(int code) const;
  // This rank's progress (counted by the calls above, which are const: counting is bookkeeping).
  Progress& progress() const { return *progress_; }

 private:
  int rank_ = 0, size_ = 1;
  bool initialised_ = false;
  std::unique_ptr<Progress> progress_ = std::make_unique<Progress>();
};

// An in-place, non-blocking sum of floats over all ranks (MPI_Iallreduce, chunked like
// allreduce_sum). The values must not be touched until test() returns true or wait() returns.
// Every rank starts its sums in the same order.
class PendingSum {
 public:
  PendingSum();
  ~PendingSum();
  PendingSum(PendingSum&&) noexcept;
  PendingSum& operator=(PendingSum&&) noexcept;

  void start(const Communicator& comm, std::span<float> values);
  // Lets MPI progress the sum; true once it is complete.
  bool test();
  void wait();
  bool active() const;

 private:
  struct Requests;
  std::unique_ptr<Requests> requests_;
};

// Throws MpiError("<what>: <MPI's error string>") when `code` is not MPI_SUCCESS.
void mpi_check(int code, const char* what);

}  // namespace shardnet::dist
