#pragma once
// The MPI side of shardnet. A Communicator owns MPI's lifetime (MPI_Init_thread / MPI_Finalize) when
// the process was started by an MPI launcher, and is a plain size-1 world without any MPI call when
// it was not, so one binary serves `mpirun -np 4 shardnet train` and `shardnet train`. Every MPI return
// code is checked in one place (mpi_check), with MPI_ERRORS_RETURN set on the world communicator.
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
  void broadcast(std::span<float> values, int root) const;
  void broadcast(std::string& text, int root) const;
  // Every rank's value, in rank order.
  std::vector<uint64_t> allgather(uint64_t value) const;
  // Every rank's text, in rank order, at `root` (empty elsewhere).
  std::vector<std::string> gather(const std::string& text, int root) const;
  void barrier() const;
  // Ends every rank of the job (MPI_Abort); a no-op exit for a world of one.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1;
  bool initialised_ = false;
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

  void start(std::span<float> values);
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
