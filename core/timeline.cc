#include "core/timeline.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "core/text_escape.h"

namespace shardnet {
namespace {
const char* lane_name(int lane) {
  switch (lane) {
    case Timeline::kCompute:
      return "compute";
    case Timeline::kCommunication:
      return "allreduce";
    default:
      return "data loading";
  }
}

}  // namespace

void Timeline::add(std::string name, Lane lane, Clock::time_point start, Clock::time_point end, int64_t step) {
  const double start_us = std::chrono::duration<double, std::micro>(start - origin_).count();
  const double duration_us = std::chrono::duration<double, std::micro>(end - start).count();
  std::lock_guard lock(mutex_);
  events_.push_back(Event{std::move(name), lane, start_us, duration_us, step});
}

size_t Timeline::size() const {
  std::lock_guard lock(mutex_);
  return events_.size();
}

std::string Timeline::events_json() const {
  std::lock_guard lock(mutex_);
  std::string out;
  char number[64];
  for (const Event& e : events_) {
    if (!out.empty()) out += ",\n";
    out += "{\"name\":" + json_quoted(e.name) + ",\"cat\":\"" + lane_name(e.lane) +
           "\",\"ph\":\"X\",\"pid\":" + std::to_string(rank_) + ",\"tid\":" + std::to_string(static_cast<int>(e.lane));
    std::snprintf(number, sizeof number, ",\"ts\":%.3f,\"dur\":%.3f", e.start_us, e.duration_us);
    out += number;
    out += ",\"args\":{\"step\":" + std::to_string(e.step) + "}}";
  }
  return out;
}

void write_chrome_trace(const std::string& path, const std::vector<std::string>& rank_events) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot write the timeline: " + std::strerror(errno));
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  bool first = true;
  for (size_t rank = 0; rank < rank_events.size(); ++rank) {
    const std::string pid = std::to_string(rank);
    out << (first ? "" : ",\n") << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" << pid
        << ",\"args\":{\"name\":\"rank " << pid << "\"}}";
    first = false;
    for (int lane = Timeline::kCompute; lane <= Timeline::kDataLoading; ++lane) {
      out << ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":" << pid << ",\"tid\":" << lane
          << ",\"args\":{\"name\":\"" << lane_name(lane) << "\"}}";
    }
    if (!rank_events[rank].empty()) out << ",\n" << rank_events[rank];
  }
  out << "\n]}\n";
  out.flush();
  if (!out) throw std::runtime_error(path + ": writing the timeline failed: " + std::strerror(errno));
}

}  // namespace shardnet
