#include "core/timeline.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace shardnet {
namespace {

size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Timeline, RecordsCompleteEventsRelativeToTheOrigin) {
  const auto origin = Timeline::Clock::now();
  Timeline timeline(3, origin);
  timeline.set_step(7);
  timeline.add("forward", Timeline::kCompute, origin + std::chrono::microseconds(10),
               origin + std::chrono::microseconds(35));
  timeline.add("read \"batch\"", Timeline::kDataLoading, origin, origin + std::chrono::microseconds(5), 8);
  const std::string json = timeline.events_json();
  EXPECT_EQ(timeline.size(), 2u);
  EXPECT_NE(json.find("{\"name\":\"forward\",\"cat\":\"compute\",\"ph\":\"X\",\"pid\":3,\"tid\":0,\"ts\":10.000,"
                      "\"dur\":25.000,\"args\":{\"step\":7}}"),
            std::string::npos)
      << json;
  EXPECT_NE(json.find("\"name\":\"read \\\"batch\\\"\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"step\":8"), std::string::npos);
}

TEST(Timeline, SpanOnANullTimelineDoesNothingAndOnARealOneRecords) {
  { Timeline::Span nothing(nullptr, "x"); }
  Timeline timeline;
  { Timeline::Span span(&timeline, "optimizer"); }
  EXPECT_EQ(timeline.size(), 1u);
  EXPECT_NE(timeline.events_json().find("\"optimizer\""), std::string::npos);
}

TEST(Timeline, TraceFileHoldsEveryRankWithNamedLanes) {
  Timeline a(0), b(1);
  const auto now = Timeline::Clock::now();
  a.add("forward", Timeline::kCompute, now, now);
  b.add("allreduce bucket 0", Timeline::kCommunication, now, now);
  b.add("backward", Timeline::kCompute, now, now);
  const auto path = std::filesystem::temp_directory_path() / "shardnet_timeline_test.json";
  write_chrome_trace(path.string(), {a.events_json(), b.events_json()});
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::filesystem::remove(path);
  const std::string json = text.str();
  EXPECT_EQ(json.rfind("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", 0), 0u);
  EXPECT_EQ(count(json, "\"ph\":\"X\""), 3u);
  EXPECT_EQ(count(json, "\"process_name\""), 2u);
  EXPECT_EQ(count(json, "\"thread_name\""), 6u);
  EXPECT_EQ(count(json, "{"), count(json, "}"));
  EXPECT_EQ(count(json, "["), count(json, "]"));
}

TEST(Timeline, UnwritablePathNamesTheFile) {
  try {
    write_chrome_trace("/nonexistent-dir/t.json", {""});
    FAIL() << "no error";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-dir/t.json"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace shardnet
