#include "dist/exact_gradient_sum.h"

#include <mpi.h>

#include <limits>

namespace shardnet::dist {

struct ExactGradientSum::Requests {
  std::vector<MPI_Request> handles;
};

ExactGradientSum::ExactGradientSum() : requests_(std::make_unique<Requests>()) {}
// As PendingSum's: requests still in flight mean the job is failing and about to be aborted.
ExactGradientSum::~ExactGradientSum() = default;
ExactGradientSum::ExactGradientSum(ExactGradientSum&&) noexcept = default;
ExactGradientSum& ExactGradientSum::operator=(ExactGradientSum&&) noexcept = default;

void ExactGradientSum::start(const Communicator& comm, Param& param) {
  param_ = &param;
  const size_t n = param.grain_sum.size();
  if (n > static_cast<size_t>(std::numeric_limits<int>::max())) {
    throw MpiError("exact mode: parameter " + param.name + " has " + std::to_string(n) +
                   " values, more than one MPI call takes (2^31 - 1)");
  }
  const int ranks = comm.size();
  counts_.resize(static_cast<size_t>(ranks));
  offsets_.resize(static_cast<size_t>(ranks));
  for (int r = 0; r < ranks; ++r) {
    const int64_t first = static_cast<int64_t>(n) * r / ranks, last = static_cast<int64_t>(n) * (r + 1) / ranks;
    offsets_[static_cast<size_t>(r)] = static_cast<int>(first);
    counts_[static_cast<size_t>(r)] = static_cast<int>(last - first);
  }
  const size_t mine = static_cast<size_t>(counts_[static_cast<size_t>(comm.rank())]);
  high_.resize(mine);
  low_.resize(mine);
  comm.progress().enter("MPI_Ireduce_scatter");
  requests_->handles.resize(2);
  mpi_check(MPI_Ireduce_scatter(param.grain_sum.high_limbs().data(), high_.data(), counts_.data(), MPI_INT64_T, MPI_SUM,
                                MPI_COMM_WORLD, &requests_->handles[0]),
            "MPI_Ireduce_scatter");
  mpi_check(MPI_Ireduce_scatter(param.grain_sum.low_limbs().data(), low_.data(), counts_.data(), MPI_INT64_T, MPI_SUM,
                                MPI_COMM_WORLD, &requests_->handles[1]),
            "MPI_Ireduce_scatter");
}

void ExactGradientSum::test() {
  if (requests_->handles.empty()) return;
  int done = 0;
  mpi_check(
      MPI_Testall(static_cast<int>(requests_->handles.size()), requests_->handles.data(), &done, MPI_STATUSES_IGNORE),
      "MPI_Ireduce_scatter (test)");
}

void ExactGradientSum::gather(const Communicator& comm) {
  mpi_check(MPI_Waitall(static_cast<int>(requests_->handles.size()), requests_->handles.data(), MPI_STATUSES_IGNORE),
            "MPI_Ireduce_scatter (wait)");
  const size_t rank = static_cast<size_t>(comm.rank());
  float* gradient = param_->grad.data();
  ExactSum::round_limbs(param_->grain_sum.top(), high_, low_,
                        std::span<float>(gradient + offsets_[rank], static_cast<size_t>(counts_[rank])));
  comm.progress().enter("MPI_Iallgatherv");
  requests_->handles.resize(1);
  mpi_check(MPI_Iallgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, gradient, counts_.data(), offsets_.data(), MPI_FLOAT,
                            MPI_COMM_WORLD, &requests_->handles[0]),
            "MPI_Iallgatherv");
}

void ExactGradientSum::wait() {
  mpi_check(MPI_Waitall(static_cast<int>(requests_->handles.size()), requests_->handles.data(), MPI_STATUSES_IGNORE),
            "MPI_Iallgatherv (wait)");
  requests_->handles.clear();
}

struct PendingMax::Request {
  MPI_Request handle = MPI_REQUEST_NULL;
};

PendingMax::PendingMax() : request_(std::make_unique<Request>()) {}
PendingMax::~PendingMax() = default;
PendingMax::PendingMax(PendingMax&&) noexcept = default;
PendingMax& PendingMax::operator=(PendingMax&&) noexcept = default;

void PendingMax::start(const Communicator& comm, std::span<int32_t> values) {
  comm.progress().enter("MPI_Iallreduce");
  mpi_check(MPI_Iallreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_INT32_T, MPI_MAX,
                           MPI_COMM_WORLD, &request_->handle),
            "MPI_Iallreduce");
}

void PendingMax::wait() { mpi_check(MPI_Wait(&request_->handle, MPI_STATUS_IGNORE), "MPI_Iallreduce (wait)"); }

}  // namespace shardnet::dist
