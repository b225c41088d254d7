#include "dist/communicator.h"

#include <mpi.h>

#include <algorithm>
#include <cassert>
#include <cstdlib>
#include <limits>

namespace shardnet::dist {
namespace {
constexpr size_t kMaxCount = static_cast<size_t>(std::numeric_limits<int>::max()) / 2;

template <typename T>
void allreduce_chunks(std::span<T> values, MPI_Datatype type, const char* what, MPI_Op op = MPI_SUM) {
  for (size_t first = 0; first < values.size(); first += kMaxCount) {
    const size_t n = std::min(kMaxCount, values.size() - first);
    mpi_check(MPI_Allreduce(MPI_IN_PLACE, values.data() + first, static_cast<int>(n), type, op, MPI_COMM_WORLD), what);
  }
}
}  // namespace

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(var) != nullptr) return true;
  }
  return false;
}

void mpi_check(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw MpiError(std::string(what) + ": " + std::string(text, static_cast<size_t>(length)));
}

Communicator::Communicator() {
  if (!launched_by_mpi()) return;
  int provided = 0;
  mpi_check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  initialised_ = true;
  mpi_check(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  mpi_check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  mpi_check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

Communicator::~Communicator() {
  if (initialised_) MPI_Finalize();
}

void Communicator::allreduce_sum(std::span<float> values) const {
  progress_->enter("MPI_Allreduce");
  if (size_ > 1) allreduce_chunks(values, MPI_FLOAT, "MPI_Allreduce");
}

void Communicator::allreduce_sum(std::span<double> values) const {
  progress_->enter("MPI_Allreduce");
  if (size_ > 1) allreduce_chunks(values, MPI_DOUBLE, "MPI_Allreduce");
}

void Communicator::allreduce_sum(std::span<int64_t> values) const {
  progress_->enter("MPI_Allreduce");
  if (size_ > 1) allreduce_chunks(values, MPI_INT64_T, "MPI_Allreduce");
}

void Communicator::allreduce_max(std::span<int32_t> values) const {
  progress_->enter("MPI_Allreduce");
  if (size_ > 1) allreduce_chunks(values, MPI_INT32_T, "MPI_Allreduce", MPI_MAX);
}

std::vector<std::string> Communicator::gather(const std::string& text, int root) const {
  progress_->enter("MPI_Gather");
  if (size_ == 1) return {text};
  if (text.size() > static_cast<size_t>(std::numeric_limits<int>::max())) throw MpiError("gather: text too long");
  const int length = static_cast<int>(text.size());
  std::vector<int> lengths(rank_ == root ? size_ : 0), offsets(lengths.size());
  mpi_check(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD), "MPI_Gather");
  std::string all;
  if (rank_ == root) {
    size_t total = 0;
    for (int r = 0; r < size_; ++r) {
      if (total > static_cast<size_t>(std::numeric_limits<int>::max() - lengths[r]))
        throw MpiError("gather: texts too long");
      offsets[r] = static_cast<int>(total);
      total += static_cast<size_t>(lengths[r]);
    }
    all.resize(total);
  }
  mpi_check(MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, root,
                        MPI_COMM_WORLD),
            "MPI_Gatherv");
  std::vector<std::string> texts;
  for (size_t r = 0; r < lengths.size(); ++r) texts.push_back(all.substr(offsets[r], lengths[r]));
  return texts;
}

struct PendingSum::Requests {
  std::vector<MPI_Request> handles;
};

PendingSum::PendingSum() : requests_(std::make_unique<Requests>()) {}
// A sum still in flight here means the job is failing (every path that succeeds waits first);
// waiting could hang on a dead rank, and the job is about to be aborted, so just let go.
PendingSum::~PendingSum() = default;
PendingSum::PendingSum(PendingSum&&) noexcept = default;
PendingSum& PendingSum::operator=(PendingSum&&) noexcept = default;

void PendingSum::start(const Communicator& comm, std::span<float> values) {
  assert(!active());
  comm.progress().enter("MPI_Iallreduce");
  for (size_t first = 0; first < values.size(); first += kMaxCount) {
    const size_t n = std::min(kMaxCount, values.size() - first);
    MPI_Request request;
    mpi_check(MPI_Iallreduce(MPI_IN_PLACE, values.data() + first, static_cast<int>(n), MPI_FLOAT, MPI_SUM,
                             MPI_COMM_WORLD, &request),
              "MPI_Iallreduce");
    requests_->handles.push_back(request);
  }
}

bool PendingSum::test() {
  if (!active()) return true;
  int done = 0;
  mpi_check(
      MPI_Testall(static_cast<int>(requests_->handles.size()), requests_->handles.data(), &done, MPI_STATUSES_IGNORE),
      "MPI_Iallreduce (test)");
  if (done) requests_->handles.clear();
  return done != 0;
}

void PendingSum::wait() {
  if (!active()) return;
  mpi_check(MPI_Waitall(static_cast<int>(requests_->handles.size()), requests_->handles.data(), MPI_STATUSES_IGNORE),
            "MPI_Iallreduce (wait)");
  requests_->handles.clear();
}

bool PendingSum::active() const { return !requests_->handles.empty(); }

void Communicator::broadcast(std::span<float> values, int root) const {
  progress_->enter("MPI_Bcast");
  if (size_ == 1) return;
  for (size_t first = 0; first < values.size(); first += kMaxCount) {
    const size_t n = std::min(kMaxCount, values.size() - first);
    mpi_check(MPI_Bcast(values.data() + first, static_cast<int>(n), MPI_FLOAT, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

void Communicator::broadcast(std::string& text, int root) const {
  progress_->enter("MPI_Bcast");
  if (size_ == 1) return;
  uint64_t length = text.size();
  mpi_check(MPI_Bcast(&length, 1, MPI_UINT64_T, root, MPI_COMM_WORLD), "MPI_Bcast");
  text.resize(length);
  for (size_t first = 0; first < length; first += kMaxCount) {
    const size_t n = std::min<size_t>(kMaxCount, length - first);
    mpi_check(MPI_Bcast(text.data() + first, static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD), "MPI_Bcast");
  }
}

std::vector<uint64_t> Communicator::allgather(uint64_t value) const {
  progress_->enter("MPI_Allgather");
  std::vector<uint64_t> all(static_cast<size_t>(size_), value);
  if (size_ > 1) {
    mpi_check(MPI_Allgather(&value, 1, MPI_UINT64_T, all.data(), 1, MPI_UINT64_T, MPI_COMM_WORLD), "MPI_Allgather");
  }
  return all;
}

void Communicator::barrier() const {
  progress_->enter("MPI_Barrier");
  if (size_ > 1) mpi_check(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
}

void Communicator::abort(int code) const {
  if (initialised_) MPI_Abort(MPI_COMM_WORLD, code);
  std::exit(code);
}

}  // namespace shardnet::dist
